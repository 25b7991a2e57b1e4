"""Signal level in dBFS: what the input meter shows and what VAD decides on."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SILENCE_DBFS = -100.0  # floor reported for digital silence instead of -inf


def to_dbfs(amplitude: float) -> float:
    """Linear amplitude (1.0 = full scale) to dBFS, floored at SILENCE_DBFS."""
    if amplitude <= 1e-5:
        return SILENCE_DBFS
    return max(SILENCE_DBFS, 20.0 * math.log10(amplitude))


def from_dbfs(dbfs: float) -> float:
    """dBFS back to a linear amplitude."""
    return float(10.0 ** (dbfs / 20.0))


@dataclass(frozen=True, slots=True)
class Level:
    """RMS and peak of one frame, in dBFS (full-scale sine RMS is about -3 dBFS)."""

    rms_dbfs: float
    peak_dbfs: float


SILENT = Level(SILENCE_DBFS, SILENCE_DBFS)


def frame_level(frame: np.ndarray) -> Level:
    """Measure a float32 frame; whole-frame numpy, no per-sample Python."""
    if frame.size == 0:
        return SILENT
    rms = math.sqrt(float(np.dot(frame, frame)) / frame.size)
    peak = float(np.max(np.abs(frame)))
    return Level(to_dbfs(rms), to_dbfs(peak))
