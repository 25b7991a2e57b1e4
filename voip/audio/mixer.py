"""Sums the decoded frames of everyone talking into one output frame.

Per-user volume, an output volume, then a soft clipper: below the knee the
signal passes untouched; above it the excess is bent by tanh so the sum of
several loud talkers approaches full scale smoothly instead of wrapping or
hard-clipping. All work is whole-frame numpy into buffers allocated once, so
mixing N users costs N+few vector operations and no per-sample Python.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from voip.audio.codec import FRAME_SAMPLES, Frame

DEFAULT_KNEE = 0.8
FULL_SCALE = 32767 / 32768  # the largest magnitude int16 can hold, as float


class Mixer:
    """Mixes frames; the returned frame is reused by the next ``mix`` call."""

    def __init__(self, frame_samples: int = FRAME_SAMPLES, knee: float = DEFAULT_KNEE) -> None:
        if not 0.0 < knee < 1.0:
            raise ValueError("the soft-clip knee must lie strictly between 0 and 1")
        self.knee = knee
        self._out = np.zeros(frame_samples, dtype=np.float32)
        self._tmp = np.zeros(frame_samples, dtype=np.float32)
        self._excess = np.zeros(frame_samples, dtype=np.float32)

    def mix(
        self,
        frames: Sequence[np.ndarray],
        volumes: Sequence[float] | None = None,
        output_volume: float = 1.0,
    ) -> Frame:
        """Sum ``frames`` scaled by ``volumes``, scale by ``output_volume``, soft-clip.

        Volumes are linear gains (1.0 = unchanged). The result lies within +-FULL_SCALE.
        """
        out = self._out
        out.fill(0.0)
        for i, frame in enumerate(frames):
            gain = 1.0 if volumes is None else volumes[i]
            if gain == 1.0:
                np.add(out, frame, out=out)
            elif gain != 0.0:
                np.multiply(frame, gain, out=self._tmp)
                np.add(out, self._tmp, out=out)
        if output_volume != 1.0:
            np.multiply(out, output_volume, out=out)
        self.soft_clip(out)
        return out

    def soft_clip(self, frame: Frame) -> Frame:
        """Bend samples above the knee in place so that |x| stays below 1."""
        k = self.knee
        excess = self._excess[: frame.shape[0]]
        np.abs(frame, out=excess)
        if float(excess.max(initial=0.0)) <= k:
            return frame  # the common case: nothing to do
        headroom = 1.0 - k
        # reduction = e - headroom * tanh(e / headroom) with e = max(|x| - k, 0),
        # then x -= sign(x) * reduction: identity below the knee, tanh above.
        np.subtract(excess, k, out=excess)
        np.maximum(excess, 0.0, out=excess)
        tmp = self._tmp[: frame.shape[0]]
        np.divide(excess, headroom, out=tmp)
        np.tanh(tmp, out=tmp)
        np.multiply(tmp, headroom, out=tmp)
        np.subtract(excess, tmp, out=excess)
        np.copysign(excess, frame, out=excess)
        np.subtract(frame, excess, out=frame)
        # tanh saturates to exactly 1 in float32 and rounding can overshoot by
        # an ulp; keep strictly inside int16 full scale.
        np.clip(frame, -FULL_SCALE, FULL_SCALE, out=frame)
        return frame
