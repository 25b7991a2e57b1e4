"""Where the client's audio comes from and goes to: the sound card, or arrays and files.

The audio actors never open a device themselves: they ask an `AudioIO` for a
frame source (microphone) and a frame sink (speaker) by device name, and for
the device lists. `SoundCardIO` (the default) is real PortAudio through
sounddevice; `ArrayIO` plays given samples as the microphone and records what
would be played, paced in real time like a sound card. The bot and the
end-to-end tests use `ArrayIO`, so they run the very same capture, Opus,
jitter buffer and mixing code as the GUI.
"""

from __future__ import annotations

import time
from typing import Protocol

import numpy as np
import numpy.typing as npt

from voip.audio.codec import FRAME_SAMPLES, SAMPLE_RATE, Frame
from voip.audio.devices import list_devices
from voip.audio.devices import rescan as rescan_devices
from voip.audio.sinks import FrameSink, PacedSink, RecordingSink, SoundDeviceSink
from voip.audio.sound_server import PULSE_DEVICE, ServerDevice, route, server_devices
from voip.audio.sources import ArraySource, FrameSource, SoundDeviceSource
from voip.client.state import AudioDeviceView
from voip.errors import AudioError

#: A paced sink this late restarts its schedule (`voip.audio.pacing.FramePacer`).
TIMELINE_SLIP_SECONDS = 0.2

DeviceLists = tuple[tuple[AudioDeviceView, ...], tuple[AudioDeviceView, ...]]


class AudioIO(Protocol):
    """Makes the capture source and playback sink the audio actors run."""

    #: Whether the source is a live microphone (the capture chain applies to it).
    live: bool

    def source(self, device: str | None) -> FrameSource:
        """A source for the named input device (None: the default). Not started yet."""
        ...

    def sink(self, device: str | None) -> FrameSink:
        """A sink for the named output device (None: the default). Not started yet."""
        ...

    def devices(self, rescan: bool = False) -> DeviceLists:
        """(inputs, outputs); raises AudioError with a sentence if they cannot be listed."""
        ...


class SoundCardIO:
    """Real PortAudio devices (the default).

    Where a sound server runs (PulseAudio, PipeWire), its devices are listed
    by their descriptions instead of PortAudio's ``pulse`` and ``default``
    (voip.audio.sound_server); choosing one opens PortAudio's ``pulse``
    device routed to it.
    """

    def __init__(self) -> None:
        #: (direction, description) -> the sound server's device name.
        self._server_names: dict[tuple[str, str], str] = {}

    def _open_name(self, direction: str, device: str | None) -> str | None:
        server_name = self._server_names.get((direction, device)) if device else None
        route(direction, server_name)
        return PULSE_DEVICE if server_name is not None else device

    #: A live microphone: the capture chain (noise suppression, gain, echo) applies.
    live = True

    def source(self, device: str | None) -> FrameSource:
        return SoundDeviceSource(self._open_name("input", device))

    def sink(self, device: str | None) -> FrameSink:
        return SoundDeviceSink(self._open_name("output", device))

    def devices(self, rescan: bool = False) -> DeviceLists:
        """The device lists; `rescan` re-initialises PortAudio first (only safe while
        no stream is open: it closes them) so newly plugged devices show up."""
        try:
            if rescan:
                rescan_devices()
            found = list_devices()
        except AudioError:
            raise
        except Exception as exc:  # PortAudio missing, sound server gone...
            raise AudioError(
                f"cannot list audio devices ({exc}); is a sound server running?"
            ) from exc
        if any(d.name == PULSE_DEVICE for d in found):
            served = server_devices()
            if served is not None and served[0] and served[1]:
                return self._server_lists(*served)
        inputs = tuple(
            AudioDeviceView(d.name, d.index, d.host_api, d.max_input_channels, d.is_default_input)
            for d in found
            if d.supports("input")
        )
        outputs = tuple(
            AudioDeviceView(d.name, d.index, d.host_api, d.max_output_channels, d.is_default_output)
            for d in found
            if d.supports("output")
        )
        return inputs, outputs


    def _server_lists(
        self, sources: list[ServerDevice], sinks: list[ServerDevice]
    ) -> DeviceLists:
        names: dict[tuple[str, str], str] = {}
        lists: list[tuple[AudioDeviceView, ...]] = []
        for direction, devices in (("input", sources), ("output", sinks)):
            views = []
            for d in devices:
                if (direction, d.description) in names:
                    continue  # two with one description: the first is reachable by it
                names[(direction, d.description)] = d.name
                views.append(AudioDeviceView(d.description, -1, "sound server", d.channels,
                                             d.is_default))
            lists.append(tuple(views))
        self._server_names = names
        return lists[0], lists[1]


class _TimedSource:
    """Notes when the first frame was taken, on the monotonic clock shared by processes."""

    def __init__(self, inner: FrameSource, io: ArrayIO) -> None:
        self._inner = inner
        self._io = io

    @property
    def finished(self) -> bool:
        return self._inner.finished

    def start(self) -> None:
        self._inner.start()

    def stop(self) -> None:
        self._inner.stop()

    def read(self, timeout: float) -> Frame | None:
        frame = self._inner.read(timeout)
        if frame is not None and self._io.source_started_at is None:
            self._io.source_started_at = time.monotonic()
        return frame


class _TimedSink:
    """Notes when the first frame was written."""

    def __init__(self, inner: FrameSink, io: ArrayIO) -> None:
        self._inner = inner
        self._io = io

    def start(self) -> None:
        self._inner.start()

    def stop(self) -> None:
        self._inner.stop()

    def wait_ready(self, timeout: float) -> bool:
        return self._inner.wait_ready(timeout)

    def write(self, frame: Frame) -> None:
        self._io.note_written(time.monotonic(), frame.size)
        self._inner.write(frame)


class ArrayIO:
    """Samples as the microphone, a recorder as the speaker; no PortAudio involved.

    `samples` (48 kHz mono float32) are played once from the first time
    capture starts (or forever with `loop`); None means silence. With
    `record`, everything the playback engine produces is kept and can be
    read with `recording()` or saved with `save_recording()`.
    `source_started_at` / `sink_started_at` are `time.monotonic()` of the
    first frame taken / written (None until then), and `sink_time(i)` when
    recorded sample i was played; monotonic time is shared by the processes
    of one machine, so two bots' timelines can be lined up.
    """

    #: Arrays and files are taken as they are (no capture chain) unless `processing`.
    live = False

    INPUT = AudioDeviceView("array input", 0, "array", 1, True)
    OUTPUT = AudioDeviceView("array output", 0, "array", 1, True)

    def __init__(
        self,
        samples: npt.NDArray[np.float32] | None = None,
        *,
        loop: bool = False,
        record: bool = False,
        processing: bool = False,
    ) -> None:
        self.live = processing
        if samples is None:
            samples = np.zeros(FRAME_SAMPLES, dtype=np.float32)
            loop = True
        self._source = ArraySource(samples, realtime=True, loop=loop)
        self._recorder: RecordingSink | None = RecordingSink(realtime=True) if record else None
        self.source_started_at: float | None = None
        self.sink_started_at: float | None = None
        #: (sample index, monotonic time it was played) at the start and after
        #: every pacing slip: a paced sink that falls far behind restarts its
        #: schedule (like a sound card underrun), so sample index and wall time
        #: drift apart; this maps one to the other (see `sink_time`).
        self.sink_timeline: list[tuple[int, float]] = []
        self._written = 0

    def note_written(self, now: float, samples: int) -> None:
        """Keep the sink's timeline: a new point whenever the pacer restarted its schedule.

        Frames written late but within the pacer's catch-up window keep their
        scheduled time (the pacer writes them quickly to catch up).
        """
        if self.sink_started_at is None:
            self.sink_started_at = now
            self.sink_timeline.append((0, now))
        else:
            index, at = self.sink_timeline[-1]
            expected = at + (self._written - index) / SAMPLE_RATE
            if now - expected > TIMELINE_SLIP_SECONDS:
                self.sink_timeline.append((self._written, now))
        self._written += samples

    def sink_time(self, sample_index: int) -> float | None:
        """`time.monotonic()` when recorded sample `sample_index` was played."""
        points = [p for p in self.sink_timeline if p[0] <= sample_index]
        if not points:
            return None
        index, at = points[-1]
        return at + (sample_index - index) / SAMPLE_RATE

    @property
    def finished(self) -> bool:
        """True once the samples have all been captured (never with `loop`)."""
        return self._source.finished

    def source(self, device: str | None) -> FrameSource:
        # One source for the life of this object: restarting capture resumes it.
        return _TimedSource(self._source, self)

    def sink(self, device: str | None) -> FrameSink:
        inner: FrameSink = self._recorder if self._recorder is not None else PacedSink()
        return _TimedSink(inner, self)

    def devices(self, rescan: bool = False) -> DeviceLists:
        return (self.INPUT,), (self.OUTPUT,)

    def recording(self) -> npt.NDArray[np.float32]:
        """Everything played so far (empty without `record`)."""
        if self._recorder is None:
            return np.zeros(0, dtype=np.float32)
        return self._recorder.samples()

    def save_recording(self, path: str) -> None:
        if self._recorder is not None:
            self._recorder.save(path)
