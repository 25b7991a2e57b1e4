"""Automatic gain control: a quiet or distant talker reaches the others at a steady level.

libspeexdsp's preprocessor with only its AGC on (as Mumble uses it): it
tracks the speech loudness and moves the gain slowly toward a target, up at
most ``max_gain_db``; it does not raise the gain on frames it takes for noise,
so a pause does not pump the background up.

The preprocessor's own output trails its input by one frame (its overlapping
analysis window), 20 ms the chain cannot afford; so it runs on a copy, only
to decide, and the gain it reports is applied to the frame itself, ramped
across the frame from the previous gain so steps never click.
"""

from __future__ import annotations

import numpy as np

from voip.audio.codec import FRAME_SAMPLES, SAMPLE_RATE, Frame
from voip.audio.speexdsp import SpeexPreprocessor

DEFAULT_TARGET_DBFS = -12.0  # Speex's loudness target (its speech level estimate)
DEFAULT_MAX_GAIN_DB = 20


class GainControl:
    """One frame in, the same frame at the controlled gain out."""

    delay_samples = 0

    def __init__(self, target_dbfs: float = DEFAULT_TARGET_DBFS,
                 max_gain_db: int = DEFAULT_MAX_GAIN_DB) -> None:
        level = 32768.0 * 10 ** (target_dbfs / 20)
        self._pre = SpeexPreprocessor(FRAME_SAMPLES, SAMPLE_RATE, agc=True, agc_level=level,
                                      agc_max_gain_db=max_gain_db)
        self._pcm = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        self._ramp = np.linspace(0.0, 1.0, FRAME_SAMPLES, endpoint=False, dtype=np.float32)
        self._gains = np.zeros(FRAME_SAMPLES, dtype=np.float32)
        self._gain = 1.0

    def process(self, frame: Frame, out: Frame) -> None:
        np.copyto(self._pcm, np.clip(frame * 32767.0, -32768, 32767), casting="unsafe")
        self._pre.run(self._pcm)
        target = 10 ** (self._pre.agc_gain_db / 20)
        # previous gain -> target across the frame
        np.multiply(self._ramp, target - self._gain, out=self._gains)
        self._gains += self._gain
        np.multiply(frame, self._gains, out=out)
        np.clip(out, -1.0, 1.0, out=out)
        self._gain = target

    @property
    def gain_db(self) -> float:
        return 20 * np.log10(self._gain)

    def close(self) -> None:
        self._pre.close()
