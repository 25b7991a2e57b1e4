"""Acoustic echo cancellation: what the speaker played, taken out of the microphone.

With speakers instead of headphones the microphone hears the other talkers
again, and they hear themselves a round trip later. The canceller is
libspeexdsp's MDF adaptive filter (see ``speexdsp``): it learns the path from
the played signal (the far end) to the captured one (delay plus the room's
impulse response) and subtracts its estimate.

``FarEnd`` carries the played frames from the playback engine's thread to the
capture engine's: the playback side ``push``es each frame it hands the sound
card, the capture side ``pop``s one per captured frame (silence when none is
waiting). Both threads tick every 20 ms, so the queue stays short; a bounded
deque keeps a stalled capture from holding more than ``max_frames``. The
filter is long enough (``DEFAULT_TAIL_SECONDS``) to cover the device delay
plus a room's tail, so a frame or two of skew between the threads is learned
like any other delay.
"""

from __future__ import annotations

import collections
import threading

import numpy as np

from voip.audio.codec import FRAME_SAMPLES, SAMPLE_RATE, Frame
from voip.audio.speexdsp import SpeexEcho

DEFAULT_TAIL_SECONDS = 0.2


class FarEnd:
    """Played frames on their way to the echo canceller (thread-safe, bounded)."""

    def __init__(self, max_frames: int = 10) -> None:
        self._frames: collections.deque[Frame] = collections.deque(maxlen=max_frames)
        self._lock = threading.Lock()
        self._silence = np.zeros(FRAME_SAMPLES, dtype=np.float32)

    def push(self, frame: np.ndarray) -> None:
        """Called by the playback side with each frame it plays (copied)."""
        copy = np.array(frame, dtype=np.float32, copy=True)
        with self._lock:
            self._frames.append(copy)

    def pop(self) -> Frame:
        """The oldest played frame not yet used, or silence."""
        with self._lock:
            if self._frames:
                return self._frames.popleft()
        return self._silence

    def clear(self) -> None:
        with self._lock:
            self._frames.clear()


class EchoCanceller:
    """One capture frame in, the same frame less the estimated echo out."""

    def __init__(self, tail_seconds: float = DEFAULT_TAIL_SECONDS) -> None:
        tail = round(tail_seconds * SAMPLE_RATE)
        self._echo = SpeexEcho(FRAME_SAMPLES, tail, SAMPLE_RATE)
        self._near = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        self._far = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        self._out = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        self.delay_samples = 0

    @property
    def speex(self) -> SpeexEcho:
        return self._echo

    def process(self, near: Frame, far: Frame, out: Frame) -> None:
        np.copyto(self._near, np.clip(near * 32767.0, -32768, 32767), casting="unsafe")
        np.copyto(self._far, np.clip(far * 32767.0, -32768, 32767), casting="unsafe")
        self._echo.cancel(self._near, self._far, self._out)
        np.multiply(self._out, 1.0 / 32767.0, out=out)

    def reset(self) -> None:
        self._echo.reset()

    def close(self) -> None:
        self._echo.close()
