"""Where mixed frames go: the sound card, or a recorder (array / WAV file).

``PlaybackEngine`` asks a ``FrameSink`` when it may write the next 20 ms
frame. The sound card sink keeps a small preallocated ring ahead of the
PortAudio output callback (which only copies out, filling silence and
counting an underrun when the ring is short); the recorder paces itself at
20 ms per frame so the bot records in real time without PortAudio.

Playout phase: a frame decided early waits in the ring, and a packet that
arrives after the decision waits a whole frame more. The sound card sink
therefore says "ready" as late as is safe: ``lead`` before the next callback
is due while the ring still holds the frame that callback takes (so a late
worker still has a whole frame of slack), at once if the ring runs short.
A frame is then decided ~1 frame + ``lead`` before the device takes it,
not 2 frames, and the engine may spend ``arrival_grace`` of that slack
waiting for a packet that is just late.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from voip.audio.audiofile import write_audio
from voip.audio.codec import FRAME_SAMPLES, SAMPLE_RATE, Frame
from voip.audio.device_stream import DeviceStream
from voip.audio.devices import DeviceSpec
from voip.audio.pacing import FramePacer
from voip.audio.ring import SampleRing


class FrameSink(Protocol):
    """A consumer of 960-sample float32 frames at (about) real-time pace."""

    def start(self) -> None: ...

    def wait_ready(self, timeout: float) -> bool:
        """True when the next frame is due; False if not within ``timeout``.

        Raises AudioDeviceError when the sink has failed for good.
        """
        ...

    def write(self, frame: Frame) -> None:
        """Take one frame (copied; the caller may reuse its buffer)."""
        ...

    def stop(self) -> None: ...


class PacedSink:
    """A speaker nobody hears: paced like one, keeps nothing (for bots that do not record)."""

    def __init__(self, realtime: bool = True) -> None:
        self._pacer = FramePacer(realtime=realtime)

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def wait_ready(self, timeout: float) -> bool:
        return self._pacer.wait(timeout)

    def write(self, frame: Frame) -> None:
        pass


class RecordingSink(PacedSink):
    """Keeps every frame in memory, paced like a speaker; can save a WAV."""

    def __init__(self, realtime: bool = True) -> None:
        super().__init__(realtime)
        self._frames: list[npt.NDArray[np.float32]] = []
        self._lock = threading.Lock()

    def write(self, frame: Frame) -> None:
        with self._lock:
            self._frames.append(frame.copy())

    def samples(self) -> npt.NDArray[np.float32]:
        """Everything written so far, as one array."""
        with self._lock:
            frames = list(self._frames)
        return np.concatenate(frames) if frames else np.zeros(0, dtype=np.float32)

    def save(self, path: str | Path) -> None:
        """Write the recording as 48 kHz mono 16-bit WAV."""
        write_audio(path, self.samples())


class SoundDeviceSink(DeviceStream):
    """Plays to a PortAudio output device through sounddevice.

    ``buffer_frames``: how many frames the worker keeps ahead of the callback
    (at most). 2 leaves the worker a whole 20 ms of slack; 3 added 20 ms of
    mouth-to-ear delay for nothing but scheduling slack. ``lead``: how long
    before the next callback the next frame is decided (0: as soon as there
    is room, the old behaviour: 2 frames ahead). ``arrival_grace``: how long
    the engine may wait for a late packet after that (it stays well inside
    the frame of slack).
    """

    _KIND = "output"
    _GONE = (
        "the output device {name!r} stopped playing (unplugged or taken by "
        "another program); choose another output device"
    )
    _STALLED = (
        "the output device {name!r} has not asked for audio for "
        "{seconds:g} s; it may have been unplugged. Choose another "
        "output device"
    )
    _OPENED = "playing to %r (latency %.3f s)"

    def __init__(
        self,
        device: DeviceSpec = None,
        buffer_frames: int = 2,
        ring_seconds: float = 0.5,
        lead: float = 0.005,
        arrival_grace: float = 0.008,
    ) -> None:
        super().__init__(device, threading.Event())
        self._buffer_samples = buffer_frames * FRAME_SAMPLES
        self._ring = SampleRing(int(SAMPLE_RATE * ring_seconds))
        self._primed = False
        self._period = FRAME_SAMPLES / SAMPLE_RATE
        self._regular = False  # the last two callbacks came about a frame apart
        self.lead = lead
        self.arrival_grace = arrival_grace
        self.underruns = 0  # callbacks that found the ring short and played silence

    def _callback(self, outdata: Any, frames: int, time_info: Any, status: Any) -> None:
        # Real-time thread: copy out, pad with silence, flag, return.
        out = outdata[:, 0]
        n = self._ring.read_into(out)
        if n < frames:
            out[n:] = 0.0
            if self._primed:
                self.underruns += 1
        now = time.monotonic()
        gap = now - self._last_activity
        self._regular = 0.5 * self._period < gap < 1.5 * self._period
        self._last_activity = now
        self._wake.set()

    def _not_ready(self) -> bool:
        return self._ring.available > self._buffer_samples - FRAME_SAMPLES

    def wait_ready(self, timeout: float) -> bool:
        if not self._await_callback(timeout):
            return False
        if self.lead > 0:
            self._wait_until_due()
        return True

    def _wait_until_due(self) -> None:
        """Hold the decision until ``lead`` before the next callback, when safe.

        Safe: the ring still holds the frame the next callback takes, and
        callbacks come regularly (a device that pulls in bursts gets frames
        as soon as there is room). A callback during the wait (it drained the
        ring) ends it at once.
        """
        ring = self._ring
        if not self._regular or ring.available < FRAME_SAMPLES:
            return
        due = self._last_activity + self._period - self.lead
        self._wake.clear()
        delay = due - time.monotonic()
        if delay > 0 and ring.available >= FRAME_SAMPLES:
            self._wake.wait(min(delay, self._period))

    def write(self, frame: Frame) -> None:
        self._ring.write(frame)
        self._primed = True
