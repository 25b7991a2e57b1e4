"""WAV files in and out of the pipeline's format (48 kHz mono float32).

The bot plays arbitrary WAV files as its voice and records what it hears, so
reading accepts any rate, channel count and common sample format (8/16/24/32
bit PCM, 32/64 bit float, WAVE_FORMAT_EXTENSIBLE); it mixes down to mono and
resamples with a windowed-sinc interpolator in plain numpy (scipy is not a
runtime dependency). Writing produces 48 kHz mono 16-bit PCM, which every
tool opens.
"""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

from voip.audio.codec import SAMPLE_RATE
from voip.errors import AudioError

_PCM = 1
_FLOAT = 3
_EXTENSIBLE = 0xFFFE
_HALF_TAPS = 16  # sinc half-width in input samples at unity cutoff
_KAISER_BETA = 8.0
_CHUNK = 16_384  # output samples computed per vectorised step (bounds memory)


class WavError(AudioError):
    """A WAV file could not be read or written."""


def _parse(data: bytes, path: Path) -> tuple[npt.NDArray[np.float64], int]:
    """Return (samples as float64 [frames, channels], sample rate)."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise WavError(f"{path} is not a RIFF/WAVE file")
    pos = 12
    fmt: tuple[int, int, int, int] | None = None
    payload: bytes | None = None
    while pos + 8 <= len(data):
        cid, size = struct.unpack_from("<4sI", data, pos)
        body = data[pos + 8 : pos + 8 + size]
        if cid == b"fmt ":
            tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", body)
            if tag == _EXTENSIBLE and len(body) >= 26:
                tag = struct.unpack_from("<H", body, 24)[0]  # first 2 bytes of the GUID
            fmt = (tag, channels, rate, bits)
        elif cid == b"data":
            payload = body
        pos += 8 + size + (size & 1)
    if fmt is None or payload is None:
        raise WavError(f"{path} has no 'fmt ' or 'data' chunk")
    tag, channels, rate, bits = fmt
    if channels < 1 or rate < 1:
        raise WavError(f"{path} declares {channels} channels at {rate} Hz")
    width = bits // 8
    usable = len(payload) - len(payload) % (width * channels)
    raw = payload[:usable]
    if tag == _PCM and bits == 8:
        x = (np.frombuffer(raw, np.uint8).astype(np.float64) - 128.0) / 128.0
    elif tag == _PCM and bits == 16:
        x = np.frombuffer(raw, "<i2").astype(np.float64) / 32768.0
    elif tag == _PCM and bits == 24:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        v = np.where(v >= 1 << 23, v - (1 << 24), v)
        x = v.astype(np.float64) / float(1 << 23)
    elif tag == _PCM and bits == 32:
        x = np.frombuffer(raw, "<i4").astype(np.float64) / float(1 << 31)
    elif tag == _FLOAT and bits == 32:
        x = np.frombuffer(raw, "<f4").astype(np.float64)
    elif tag == _FLOAT and bits == 64:
        x = np.frombuffer(raw, "<f8").astype(np.float64)
    else:
        raise WavError(f"{path}: unsupported WAV sample format (tag {tag}, {bits} bits)")
    return x.reshape(-1, channels), rate


def resample(x: np.ndarray, rate_in: int, rate_out: int = SAMPLE_RATE) -> npt.NDArray[np.float32]:
    """Band-limited resampling of a mono signal (Kaiser-windowed sinc).

    When downsampling, the cutoff drops to the output Nyquist so content
    above it is filtered out rather than aliased.
    """
    x = np.asarray(x, dtype=np.float64)
    if rate_in == rate_out or x.size == 0:
        return x.astype(np.float32)
    ratio = rate_out / rate_in
    cutoff = min(1.0, ratio) * 0.97  # fraction of the input Nyquist kept
    half = math.ceil(_HALF_TAPS / min(1.0, ratio))
    n_out = math.floor(x.size * ratio)
    padded = np.concatenate([np.zeros(half), x, np.zeros(half + 1)])
    offsets = np.arange(-half + 1, half + 1)
    out = np.empty(n_out, dtype=np.float32)
    i0_beta = float(np.i0(_KAISER_BETA))
    for start in range(0, n_out, _CHUNK):
        n = np.arange(start, min(start + _CHUNK, n_out))
        t = n / ratio  # position in input samples
        base = np.floor(t).astype(np.int64)
        idx = base[:, None] + offsets[None, :]  # input sample indices
        dist = t[:, None] - idx  # distance from each tap to the output position
        w = np.clip(1.0 - (dist / half) ** 2, 0.0, None)
        taps = cutoff * np.sinc(cutoff * dist) * np.i0(_KAISER_BETA * np.sqrt(w)) / i0_beta
        out[start : start + n.size] = np.sum(padded[idx + half] * taps, axis=1)
    return out


def read_wav(path: str | Path, rate: int = SAMPLE_RATE) -> npt.NDArray[np.float32]:
    """Read any common WAV as mono float32 at ``rate`` (channels are averaged)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WavError(f"cannot read WAV file {path}: {exc.strerror}") from exc
    frames, rate_in = _parse(data, path)
    mono = frames.mean(axis=1)
    return resample(mono, rate_in, rate)


def write_wav(path: str | Path, samples: np.ndarray, rate: int = SAMPLE_RATE) -> None:
    """Write mono float samples in [-1, 1] as 16-bit PCM (clipped at full scale)."""
    path = Path(path)
    pcm = np.clip(np.asarray(samples, dtype=np.float64) * 32767.0, -32768, 32767)
    try:
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(np.round(pcm).astype("<i2").tobytes())
    except OSError as exc:
        raise WavError(f"cannot write WAV file {path}: {exc.strerror}") from exc
