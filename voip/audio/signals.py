"""Test signals shared by tests, benchmarks and the bot's self-test.

Deterministic (seeded) so a failing comparison can be reproduced exactly.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from voip.audio.codec import SAMPLE_RATE


def tone(
    frequency: float, seconds: float, amplitude: float = 0.5, rate: int = SAMPLE_RATE
) -> npt.NDArray[np.float32]:
    """A pure sine."""
    t = np.arange(round(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def speech_like(
    seconds: float, seed: int = 1, amplitude: float = 0.4, rate: int = SAMPLE_RATE
) -> npt.NDArray[np.float32]:
    """Voiced-speech stand-in: a gliding pitch with formant-like harmonics, syllabic
    amplitude modulation (~4 Hz) and a little breath noise.

    It exercises the codec the way speech does (harmonic, non-stationary)
    without shipping a recording.
    """
    rng = np.random.default_rng(seed)
    n = round(seconds * rate)
    t = np.arange(n) / rate
    pitch = 120.0 + 30.0 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 6.28))
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    x = np.zeros(n)
    for h, gain in ((1, 1.0), (2, 0.7), (3, 0.5), (5, 0.35), (8, 0.2), (13, 0.1)):
        x += gain * np.sin(h * phase)
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * t + rng.uniform(0, 6.28))
    x = x * envelope + 0.02 * rng.standard_normal(n)
    x *= amplitude / np.max(np.abs(x))
    return x.astype(np.float32)
