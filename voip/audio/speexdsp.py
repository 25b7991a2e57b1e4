"""ctypes bindings to libspeexdsp: the echo canceller and the preprocessor.

libspeexdsp (Debian's ``libspeexdsp1``, the library Mumble links) is the
well-kept C implementation of an MDF acoustic echo canceller and of a
preprocessor (spectral noise suppression, automatic gain, a speech
probability, residual echo suppression). The Python bindings on the package
index either do not build here or wrap the noise suppressor alone, so this
module binds the few entry points we use directly. Both states work on
16-bit frames of a fixed size; callers convert from and to float32 once per
frame into preallocated buffers.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Any

import numpy as np

from voip.errors import AudioError

# speex/speex_preprocess.h
_SET_DENOISE = 0
_SET_AGC = 2
_SET_VAD = 4
_SET_AGC_LEVEL = 6
_SET_DEREVERB = 8
_SET_NOISE_SUPPRESS = 18
_SET_ECHO_SUPPRESS = 20
_SET_ECHO_SUPPRESS_ACTIVE = 22
_SET_ECHO_STATE = 24
_SET_AGC_INCREMENT = 26
_SET_AGC_DECREMENT = 28
_SET_AGC_MAX_GAIN = 30
_GET_AGC_GAIN = 35
_GET_PROB = 45
# speex/speex_echo.h
_ECHO_SET_SAMPLING_RATE = 24

_lib: Any = None


class SpeexDspUnavailable(AudioError):
    """libspeexdsp is not installed (Debian: apt-get install libspeexdsp1)."""


def _library() -> Any:
    global _lib
    if _lib is None:
        name = ctypes.util.find_library("speexdsp") or "libspeexdsp.so.1"
        try:
            lib = ctypes.CDLL(name)
        except OSError as exc:
            raise SpeexDspUnavailable(
                f"cannot load libspeexdsp ({exc}); install it (Debian: libspeexdsp1)"
            ) from exc
        vp, i16p = ctypes.c_void_p, ctypes.POINTER(ctypes.c_int16)
        lib.speex_preprocess_state_init.restype = vp
        lib.speex_preprocess_state_init.argtypes = [ctypes.c_int, ctypes.c_int]
        lib.speex_preprocess_state_destroy.argtypes = [vp]
        lib.speex_preprocess_run.restype = ctypes.c_int
        lib.speex_preprocess_run.argtypes = [vp, i16p]
        lib.speex_preprocess_ctl.restype = ctypes.c_int
        lib.speex_preprocess_ctl.argtypes = [vp, ctypes.c_int, vp]
        lib.speex_echo_state_init.restype = vp
        lib.speex_echo_state_init.argtypes = [ctypes.c_int, ctypes.c_int]
        lib.speex_echo_state_destroy.argtypes = [vp]
        lib.speex_echo_state_reset.argtypes = [vp]
        lib.speex_echo_cancellation.argtypes = [vp, i16p, i16p, i16p]
        lib.speex_echo_ctl.restype = ctypes.c_int
        lib.speex_echo_ctl.argtypes = [vp, ctypes.c_int, vp]
        _lib = lib
    return _lib


def available() -> bool:
    try:
        _library()
    except SpeexDspUnavailable:
        return False
    return True


def _i16_ptr(buf: np.ndarray) -> Any:
    return buf.ctypes.data_as(ctypes.POINTER(ctypes.c_int16))


class SpeexEcho:
    """An MDF echo canceller: removes what the speaker played from the microphone."""

    def __init__(self, frame_samples: int, filter_samples: int, rate: int) -> None:
        self._lib = _library()
        self.frame_samples = frame_samples
        self._state = self._lib.speex_echo_state_init(frame_samples, filter_samples)
        if not self._state:
            raise AudioError("libspeexdsp could not create an echo canceller")
        value = ctypes.c_int(rate)
        self._lib.speex_echo_ctl(self._state, _ECHO_SET_SAMPLING_RATE, ctypes.byref(value))

    @property
    def handle(self) -> int:
        """The C state, for ``SpeexPreprocessor.attach_echo`` (residual echo suppression)."""
        return int(self._state)

    def cancel(self, near: np.ndarray, far: np.ndarray, out: np.ndarray) -> None:
        """``near``, ``far``, ``out``: int16 arrays of ``frame_samples`` (C-contiguous)."""
        self._lib.speex_echo_cancellation(self._state, _i16_ptr(near), _i16_ptr(far),
                                          _i16_ptr(out))

    def reset(self) -> None:
        self._lib.speex_echo_state_reset(self._state)

    def close(self) -> None:
        if self._state:
            self._lib.speex_echo_state_destroy(self._state)
            self._state = None

    def __del__(self) -> None:
        if getattr(self, "_state", None):
            self.close()


class SpeexPreprocessor:
    """Speex's preprocessor, with each of its parts switched on or off."""

    def __init__(self, frame_samples: int, rate: int, *, denoise: bool = False,
                 noise_suppress_db: int = -30, agc: bool = False, agc_level: float = 8000.0,
                 agc_max_gain_db: int = 30, vad: bool = False) -> None:
        self._lib = _library()
        self.frame_samples = frame_samples
        self._state = self._lib.speex_preprocess_state_init(frame_samples, rate)
        if not self._state:
            raise AudioError("libspeexdsp could not create a preprocessor")
        self._ctl_int(_SET_DENOISE, int(denoise))
        self._ctl_int(_SET_NOISE_SUPPRESS, noise_suppress_db)
        self._ctl_int(_SET_AGC, int(agc))
        self._ctl_float(_SET_AGC_LEVEL, agc_level)
        self._ctl_int(_SET_AGC_MAX_GAIN, agc_max_gain_db)
        self._ctl_int(_SET_AGC_INCREMENT, 12)  # dB/s up: a quiet talker is heard in ~2 s
        self._ctl_int(_SET_AGC_DECREMENT, -40)  # dB/s down: a shout is tamed fast
        if vad:  # the probability is computed either way; only this ctl logs a warning
            self._ctl_int(_SET_VAD, 1)
        self._ctl_int(_SET_DEREVERB, 0)

    def _ctl_int(self, request: int, value: int) -> None:
        v = ctypes.c_int(value)
        self._lib.speex_preprocess_ctl(self._state, request, ctypes.byref(v))

    def _ctl_float(self, request: int, value: float) -> None:
        v = ctypes.c_float(value)
        self._lib.speex_preprocess_ctl(self._state, request, ctypes.byref(v))

    def _get_int(self, request: int) -> int:
        v = ctypes.c_int(0)
        self._lib.speex_preprocess_ctl(self._state, request, ctypes.byref(v))
        return v.value

    def attach_echo(self, echo: SpeexEcho, suppress_db: int = -40,
                    suppress_active_db: int = -15) -> None:
        """Also suppress the echo the canceller left (Speex's residual echo suppressor)."""
        self._lib.speex_preprocess_ctl(self._state, _SET_ECHO_STATE,
                                       ctypes.c_void_p(echo.handle))
        self._ctl_int(_SET_ECHO_SUPPRESS, suppress_db)
        self._ctl_int(_SET_ECHO_SUPPRESS_ACTIVE, suppress_active_db)

    def run(self, frame: np.ndarray) -> bool:
        """Process an int16 frame in place; returns Speex's speech decision."""
        return bool(self._lib.speex_preprocess_run(self._state, _i16_ptr(frame)))

    @property
    def speech_probability(self) -> float:
        """Of the last frame, in [0, 1]."""
        return self._get_int(_GET_PROB) / 100.0

    @property
    def agc_gain_db(self) -> float:
        return self._get_int(_GET_AGC_GAIN) / 1.0

    def close(self) -> None:
        if self._state:
            self._lib.speex_preprocess_state_destroy(self._state)
            self._state = None

    def __del__(self) -> None:
        if getattr(self, "_state", None):
            self.close()
