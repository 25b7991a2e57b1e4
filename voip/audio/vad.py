"""Voice activity detection for the VoiceActivated transmit mode.

A frame is speech when its RMS level is above a threshold in dBFS and, when
the capture chain has a noise suppressor, when the suppressor's speech
probability is at least ``probability_threshold``: a fan or keyboard is
loud but is not speech, and an energy threshold alone cannot tell. Speech
has short dips between syllables and words, so once triggered the detector
holds "active" for a hangover period after the level drops; without it the
transmission would chop off word endings and flap on every pause.
"""

from __future__ import annotations

import numpy as np

from voip.audio.codec import FRAME_SECONDS
from voip.audio.level import frame_level

DEFAULT_THRESHOLD_DBFS = -45.0
DEFAULT_HANGOVER_SECONDS = 0.3
DEFAULT_PROBABILITY_THRESHOLD = 0.6


class VoiceActivityDetector:
    """Decides, frame by frame, whether the user is speaking."""

    def __init__(
        self,
        threshold_dbfs: float = DEFAULT_THRESHOLD_DBFS,
        hangover_seconds: float = DEFAULT_HANGOVER_SECONDS,
        frame_seconds: float = FRAME_SECONDS,
        probability_threshold: float = DEFAULT_PROBABILITY_THRESHOLD,
    ) -> None:
        self.threshold_dbfs = threshold_dbfs
        self.probability_threshold = probability_threshold
        self.hangover_frames = max(0, round(hangover_seconds / frame_seconds))
        self._remaining = 0
        self.active = False

    def update(self, rms_dbfs: float, speech_probability: float | None = None) -> bool:
        """Feed one frame's RMS level (and the suppressor's speech probability, if
        any); returns whether to treat the frame as speech."""
        heard = rms_dbfs >= self.threshold_dbfs
        if speech_probability is not None:
            heard = heard and speech_probability >= self.probability_threshold
        if heard:
            self._remaining = self.hangover_frames
            self.active = True
        elif self._remaining > 0:
            self._remaining -= 1
            self.active = True
        else:
            self.active = False
        return self.active

    def process(self, frame: np.ndarray) -> bool:
        """Measure and decide in one step, for callers without a level at hand."""
        return self.update(frame_level(frame).rms_dbfs)

    def reset(self) -> None:
        """Forget the hangover, e.g. when the mode or threshold changes."""
        self._remaining = 0
        self.active = False
