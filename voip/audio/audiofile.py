"""Audio files in and out of the pipeline's format (48 kHz mono float32).

The bot plays arbitrary recordings as its voice and records what it hears,
so reading takes whatever libsndfile (through ``soundfile``) opens: WAV in
any sample format, FLAC, Ogg Vorbis/Opus, MP3, AIFF, ... at any rate and
channel count; channels are averaged to mono and the rate converted with
libsoxr (``soxr``, high quality). Writing produces 48 kHz mono 16-bit PCM
WAV, which every tool opens.

``resample`` is also what the capture chain uses for stages that run at
another rate. Both libraries were chosen over the hand-written parser and
windowed-sinc resampler they replace: about 200x less CPU for the same
stopband (benchmarks/README.md, ``voip-bench resample``), and more formats.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile
import soxr

from voip.audio.codec import SAMPLE_RATE
from voip.errors import AudioError

RESAMPLE_QUALITY = "HQ"  # soxr's 20-bit, linear-phase preset


class AudioFileError(AudioError):
    """An audio file could not be read or written."""


def resample(x: np.ndarray, rate_in: int, rate_out: int = SAMPLE_RATE) -> npt.NDArray[np.float32]:
    """Band-limited rate conversion of a whole mono signal (libsoxr).

    Downsampling filters out content above the output Nyquist instead of
    aliasing it; the output is aligned with the input (no filter delay).
    """
    x = np.asarray(x, dtype=np.float32)
    if rate_in == rate_out or x.size == 0:
        return x.copy()
    return np.asarray(soxr.resample(x, rate_in, rate_out, quality=RESAMPLE_QUALITY),
                      dtype=np.float32)


def read_audio(path: str | Path, rate: int = SAMPLE_RATE) -> npt.NDArray[np.float32]:
    """Read any audio file libsndfile opens as mono float32 at ``rate``."""
    path = Path(path)
    if not path.is_file():
        raise AudioFileError(f"cannot read audio file {path}: no such file")
    try:
        frames, rate_in = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.SoundFileError, RuntimeError) as exc:
        raise AudioFileError(
            f"cannot read audio file {path}: {exc} (WAV, FLAC, Ogg, MP3 and AIFF are supported)"
        ) from exc
    if frames.shape[1] == 0:
        raise AudioFileError(f"cannot read audio file {path}: it has no channels")
    mono = frames.mean(axis=1, dtype=np.float32)
    return resample(mono, int(rate_in), rate)


def write_audio(path: str | Path, samples: np.ndarray, rate: int = SAMPLE_RATE) -> None:
    """Write mono float samples in [-1, 1] as 16-bit PCM WAV (clipped at full scale)."""
    path = Path(path)
    pcm = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
    try:
        soundfile.write(str(path), pcm, rate, subtype="PCM_16", format="WAV")
    except (soundfile.SoundFileError, RuntimeError, OSError) as exc:
        raise AudioFileError(f"cannot write audio file {path}: {exc}") from exc
