"""Where captured frames come from: the sound card, or an array / WAV file.

``CaptureEngine`` reads 20 ms frames from a ``FrameSource`` and does not care
which. The sound card source keeps the PortAudio callback down to one copy
into a preallocated ring plus an event flag; the array source replays
samples at the same 20 ms pace (or as fast as asked, for benchmarks) so the
headless bot and tests exercise the same engine without PortAudio.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from voip.audio.codec import FRAME_SAMPLES, SAMPLE_RATE, Frame
from voip.audio.devices import AudioDevice, DeviceSpec, resolve_device, sounddevice
from voip.audio.pacing import FramePacer
from voip.audio.ring import SampleRing
from voip.audio.wav import read_wav
from voip.errors import AudioDeviceError

log = logging.getLogger(__name__)

STALL_SECONDS = 2.0  # no audio from a running device for this long means it is gone


class FrameSource(Protocol):
    """A producer of 960-sample float32 frames at (about) real-time pace."""

    def start(self) -> None: ...

    def read(self, timeout: float) -> Frame | None:
        """The next frame, or None if none is ready within ``timeout``.

        The returned array may be reused by the next call. Raises
        AudioDeviceError when the source has failed for good.
        """
        ...

    def stop(self) -> None: ...

    @property
    def finished(self) -> bool:
        """True once a finite source has delivered everything."""
        ...


class ArraySource:
    """Plays samples (48 kHz mono float32) as if they came from a microphone."""

    def __init__(self, samples: np.ndarray, realtime: bool = True, loop: bool = False) -> None:
        self._samples = np.asarray(samples, dtype=np.float32)
        self._loop = loop
        self._pos = 0
        self._pacer = FramePacer(realtime=realtime)
        self._frame = np.zeros(FRAME_SAMPLES, dtype=np.float32)
        self._finished = False

    @classmethod
    def from_wav(cls, path: str | Path, realtime: bool = True, loop: bool = False) -> ArraySource:
        """Any WAV file, resampled to 48 kHz mono."""
        return cls(read_wav(path), realtime=realtime, loop=loop)

    @property
    def finished(self) -> bool:
        return self._finished

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def read(self, timeout: float) -> Frame | None:
        if self._finished or not self._pacer.wait(timeout):
            if self._finished:
                time.sleep(min(timeout, 0.02))  # nothing more will come; do not spin
            return None
        chunk = self._samples[self._pos : self._pos + FRAME_SAMPLES]
        self._frame[: chunk.size] = chunk
        self._frame[chunk.size :] = 0.0
        self._pos += FRAME_SAMPLES
        if self._pos >= self._samples.size:
            if self._loop and self._samples.size:
                self._pos = 0
            else:
                self._finished = True
        return self._frame


class SoundDeviceSource:
    """Captures from a PortAudio input device through sounddevice."""

    def __init__(self, device: DeviceSpec = None, ring_seconds: float = 1.0) -> None:
        self._spec = device
        self.device: AudioDevice | None = None
        self._ring = SampleRing(int(SAMPLE_RATE * ring_seconds))
        self._ready = threading.Event()
        self._frame = np.zeros(FRAME_SAMPLES, dtype=np.float32)
        self._stream: Any = None
        self._stopping = False
        self._failure: AudioDeviceError | None = None
        self._last_data = 0.0
        self.overflows = 0  # PortAudio input overflows (we were too slow to read)
        self.latency = 0.0

    @property
    def finished(self) -> bool:
        return False

    def _callback(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        # Real-time thread: copy, flag, return. No allocation beyond views.
        if status.input_overflow:
            self.overflows += 1
        self._ring.write(indata[:, 0])
        self._last_data = time.monotonic()
        self._ready.set()

    def _finished_callback(self) -> None:
        if not self._stopping:
            name = self.device.name if self.device else self._spec
            self._failure = AudioDeviceError(
                f"the input device {name!r} stopped delivering audio (unplugged or "
                "taken by another program); choose another input device"
            )
            self._ready.set()

    def start(self) -> None:
        sd = sounddevice()
        self.device = resolve_device(self._spec, "input")
        self._stopping = False
        try:
            self._stream = sd.InputStream(
                device=self.device.index,
                samplerate=SAMPLE_RATE,
                channels=1,
                dtype="float32",
                blocksize=FRAME_SAMPLES,
                latency="low",
                callback=self._callback,
                finished_callback=self._finished_callback,
            )
            self._stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            self._stream = None
            raise AudioDeviceError(
                f"cannot open the input device {self.device.name!r}: {exc}"
            ) from exc
        self.latency = float(self._stream.latency)
        self._last_data = time.monotonic()
        log.info("capturing from %r (latency %.3f s)", self.device.name, self.latency)

    def read(self, timeout: float) -> Frame | None:
        ring = self._ring
        if ring.available < FRAME_SAMPLES:
            self._ready.clear()
            if ring.available < FRAME_SAMPLES and self._failure is None:
                self._ready.wait(timeout)
        if self._failure is not None:
            raise self._failure
        if ring.available < FRAME_SAMPLES:
            if time.monotonic() - self._last_data > STALL_SECONDS:
                name = self.device.name if self.device else self._spec
                raise AudioDeviceError(
                    f"no audio from the input device {name!r} for {STALL_SECONDS:g} s; "
                    "it may have been unplugged. Choose another input device"
                )
            return None
        ring.read_into(self._frame)
        return self._frame

    def stop(self) -> None:
        self._stopping = True
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.abort()
                stream.close()
            except Exception as exc:  # a vanished device may fail to close; nothing to save
                log.warning("closing input stream failed: %s", exc)
