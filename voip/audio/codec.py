"""The audio format every part of the pipeline agrees on, and the codec interface.

Capture, jitter buffers, mixer and playback all move 20 ms mono frames at
48 kHz, so the numbers live here once. The codec is reached through the small
``Encoder``/``Decoder`` protocols (the aiortc ``codecs/base.py`` idea) so tests
and benchmarks can drive any codec with the same helpers, and a fake can stand
in where libopus is not the thing under test.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 48_000
CHANNELS = 1
FRAME_SECONDS = 0.020
FRAME_SAMPLES = 960  # SAMPLE_RATE * FRAME_SECONDS

Frame = npt.NDArray[np.float32]
"""One frame of FRAME_SAMPLES mono float32 samples in [-1, 1]."""


class Encoder(Protocol):
    """Turns one frame of PCM into one packet."""

    def encode(self, pcm: np.ndarray) -> bytes:
        """Encode FRAME_SAMPLES samples (int16 or float32) into one packet."""
        ...


class Decoder(Protocol):
    """Turns packets back into frames, and conceals the ones that never came."""

    def decode(self, packet: bytes, out: Frame | None = None) -> Frame:
        """Decode one packet into a frame."""
        ...

    def decode_plc(self, out: Frame | None = None) -> Frame:
        """Invent a frame for a lost packet from the decoder's history."""
        ...

    def decode_fec(self, next_packet: bytes, out: Frame | None = None) -> Frame:
        """Recover a lost frame from the redundancy carried by the packet after it."""
        ...
