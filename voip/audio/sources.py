"""Where captured frames come from: the sound card, or an array / audio file.

``CaptureEngine`` reads 20 ms frames from a ``FrameSource`` and does not care
which. The sound card source keeps the PortAudio callback down to one copy
into a preallocated ring plus an event flag; the array source replays
samples at the same 20 ms pace (or as fast as asked, for benchmarks) so the
headless bot and tests exercise the same engine without PortAudio.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from voip.audio.audiofile import read_audio
from voip.audio.codec import FRAME_SAMPLES, SAMPLE_RATE, Frame
from voip.audio.device_stream import DeviceStream
from voip.audio.devices import DeviceSpec
from voip.audio.pacing import FramePacer
from voip.audio.ring import SampleRing


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
        """Any audio file libsndfile opens (WAV, FLAC, Ogg, MP3, ...), as 48 kHz mono."""
        return cls(read_audio(path), realtime=realtime, loop=loop)

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


class SoundDeviceSource(DeviceStream):
    """Captures from a PortAudio input device through sounddevice."""

    _KIND = "input"
    _GONE = (
        "the input device {name!r} stopped delivering audio (unplugged or "
        "taken by another program); choose another input device"
    )
    _STALLED = (
        "no audio from the input device {name!r} for {seconds:g} s; "
        "it may have been unplugged. Choose another input device"
    )
    _OPENED = "capturing from %r (latency %.3f s)"

    def __init__(self, device: DeviceSpec = None, ring_seconds: float = 1.0) -> None:
        super().__init__(device, threading.Event())
        self._ring = SampleRing(int(SAMPLE_RATE * ring_seconds))
        self._frame = np.zeros(FRAME_SAMPLES, dtype=np.float32)
        self.overflows = 0  # PortAudio input overflows (we were too slow to read)

    @property
    def finished(self) -> bool:
        return False

    def _callback(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        # Real-time thread: copy, flag, return. No allocation beyond views.
        if status.input_overflow:
            self.overflows += 1
        self._ring.write(indata[:, 0])
        self._last_activity = time.monotonic()
        self._wake.set()

    def _not_ready(self) -> bool:
        return self._ring.available < FRAME_SAMPLES

    def read(self, timeout: float) -> Frame | None:
        if not self._await_callback(timeout):
            return None
        self._ring.read_into(self._frame)
        return self._frame
