"""Energy-based voice activity detection for the VoiceActivated transmit mode.

A frame is speech when its RMS level is above a threshold in dBFS. Speech
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


class VoiceActivityDetector:
    """Decides, frame by frame, whether the user is speaking."""

    def __init__(
        self,
        threshold_dbfs: float = DEFAULT_THRESHOLD_DBFS,
        hangover_seconds: float = DEFAULT_HANGOVER_SECONDS,
        frame_seconds: float = FRAME_SECONDS,
    ) -> None:
        self.threshold_dbfs = threshold_dbfs
        self.hangover_frames = max(0, round(hangover_seconds / frame_seconds))
        self._remaining = 0
        self.active = False

    def update(self, rms_dbfs: float) -> bool:
        """Feed one frame's RMS level; returns whether to treat the frame as speech."""
        if rms_dbfs >= self.threshold_dbfs:
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
