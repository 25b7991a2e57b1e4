"""The capture chain: echo cancellation -> noise suppression -> gain control.

Mumble's order: the canceller needs the microphone signal as the room made
it (before a suppressor or a gain changes it non-linearly), the suppressor
works best on a signal without echo, and the gain acts on what is left, so it
does not raise the noise. Each stage is optional and clock-free; the chain
runs on whole 20 ms frames in the capture engine's worker thread (never in
the PortAudio callback) between the input volume and the voice activity
detector, which gets the suppressor's speech probability.

Settings are a frozen ``DspSettings``; changing them builds a new chain, so a
stage's library state never sees two configurations.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from voip.audio.codec import FRAME_SAMPLES, Frame
from voip.audio.denoise import NoiseSuppressor, SuppressorKind, make_suppressor
from voip.audio.echo import EchoCanceller, FarEnd
from voip.audio.gain import GainControl

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DspSettings:
    """What the capture chain does; the defaults are what a new user gets."""

    noise_suppression: SuppressorKind = SuppressorKind.SPEEX
    gain_control: bool = True
    #: Off by default: only useful when playing to speakers (headsets have no echo).
    echo_cancellation: bool = False


@dataclass(frozen=True, slots=True)
class ChainOutput:
    frame: Frame
    #: The suppressor's speech probability for this frame; None without a suppressor.
    speech_probability: float | None


class CaptureChain:
    """The stages ``settings`` asks for, applied in order to each frame."""

    def __init__(self, settings: DspSettings = DspSettings(),
                 far_end: FarEnd | None = None) -> None:
        self.settings = settings
        self.far_end = far_end
        self._echo = EchoCanceller() if settings.echo_cancellation else None
        self._suppressor: NoiseSuppressor | None = make_suppressor(settings.noise_suppression)
        self._gain = GainControl() if settings.gain_control else None
        # One output buffer per stage: no stage writes over its own input.
        self._echo_out = np.zeros(FRAME_SAMPLES, dtype=np.float32)
        self._suppressed = np.zeros(FRAME_SAMPLES, dtype=np.float32)
        self._gained = np.zeros(FRAME_SAMPLES, dtype=np.float32)

    @property
    def delay_samples(self) -> int:
        """What the chain adds to the mouth-to-ear delay."""
        return self._suppressor.delay_samples if self._suppressor is not None else 0

    @property
    def is_identity(self) -> bool:
        return self._echo is None and self._suppressor is None and self._gain is None

    def process(self, frame: Frame, far: Frame | None = None) -> ChainOutput:
        """Run one frame through the stages. ``far``: the played frame for the canceller
        (taken from ``far_end`` when not given). The returned frame is the chain's own
        buffer, valid until the next call."""
        current: Frame = frame
        if self._echo is not None:
            if far is None and self.far_end is not None:
                far = self.far_end.pop()
            if far is not None:
                self._echo.process(current, far, self._echo_out)
                current = self._echo_out
        probability: float | None = None
        if self._suppressor is not None:
            probability = self._suppressor.process(current, self._suppressed)
            current = self._suppressed
        if self._gain is not None:
            self._gain.process(current, self._gained)
            current = self._gained
        return ChainOutput(current, probability)

    def close(self) -> None:
        for stage in (self._echo, self._suppressor, self._gain):
            if stage is not None:
                stage.close()
