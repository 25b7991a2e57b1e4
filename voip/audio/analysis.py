"""Measurements on audio, for tests, benchmarks and end-to-end checks.

"The recording is the same speech" needs a number: the best normalised
cross-correlation over a range of lags (codecs and networks add delay), and
the lag where it occurs. Plus the dominant frequency of a tone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from voip.audio.codec import FRAME_SAMPLES, SAMPLE_RATE, Decoder, Encoder


@dataclass(frozen=True, slots=True)
class Alignment:
    """Best match of a degraded signal against its reference."""

    correlation: float  # normalised, in [-1, 1]
    lag_samples: int  # how far the degraded signal trails the reference

    @property
    def lag_seconds(self) -> float:
        return self.lag_samples / SAMPLE_RATE


def align(reference: np.ndarray, degraded: np.ndarray, max_lag: int = 9600) -> Alignment:
    """Find the lag in [0, max_lag] maximising the correlation of the overlap.

    FFT-based, so a few seconds of audio with a 200 ms search costs
    milliseconds.
    """
    ref = np.asarray(reference, dtype=np.float64)
    deg = np.asarray(degraded, dtype=np.float64)
    n = min(ref.size, deg.size)
    if n == 0:
        return Alignment(0.0, 0)
    size = 1 << int(np.ceil(np.log2(ref.size + deg.size)))
    cross = np.fft.irfft(np.fft.rfft(deg, size) * np.conj(np.fft.rfft(ref, size)), size)
    lags = np.arange(0, min(max_lag, deg.size - 1) + 1)
    best_lag = int(lags[np.argmax(cross[lags])])
    overlap = min(ref.size, deg.size - best_lag)
    a = ref[:overlap]
    b = deg[best_lag : best_lag + overlap]
    denom = float(np.sqrt(np.dot(a, a) * np.dot(b, b)))
    corr = float(np.dot(a, b) / denom) if denom > 0 else 0.0
    return Alignment(corr, best_lag)


def dominant_frequency(x: np.ndarray, rate: int = SAMPLE_RATE) -> float:
    """Frequency (Hz) of the strongest spectral peak, Hann-windowed."""
    x = np.asarray(x, dtype=np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    spectrum[0] = 0.0
    return float(np.argmax(spectrum) * rate / x.size)


def codec_round_trip(
    encoder: Encoder,
    decoder: Decoder,
    pcm: np.ndarray,
    drop: Iterable[int] = (),
    recover: str = "fec",
) -> np.ndarray:
    """Encode ``pcm`` frame by frame and decode it, losing the frames in ``drop``.

    A lost frame is recovered with FEC from the next packet (``recover="fec"``,
    when that packet was not lost too) or concealed with PLC (``"plc"``) —
    the same choices the jitter buffer makes. Like aiortc's codec test helpers.
    """
    dropped = set(drop)
    frames = len(pcm) // FRAME_SAMPLES
    packets = [
        encoder.encode(np.ascontiguousarray(pcm[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES]))
        for i in range(frames)
    ]
    out = []
    for i, packet in enumerate(packets):
        if i not in dropped:
            out.append(decoder.decode(packet))
        elif recover == "fec" and i + 1 < frames and i + 1 not in dropped:
            out.append(decoder.decode_fec(packets[i + 1]))
        else:
            out.append(decoder.decode_plc())
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


def segmental_correlation(
    reference: np.ndarray,
    degraded: np.ndarray,
    lag: int,
    segment: int = SAMPLE_RATE // 2,
    slack: int = SAMPLE_RATE // 10,
) -> float:
    """Energy-weighted mean correlation of each ``segment`` aligned on its own.

    A jitter buffer moves the playout timeline while it adapts (it trims a
    frame when the network proves steady), so one global alignment
    undercounts a faithful recording whose end sits 20-40 ms earlier than its
    start. Here each segment of the reference is searched for within
    ``slack`` samples of the global ``lag`` (from ``align``); quiet segments
    (pauses between words) do not count.
    """
    ref = np.asarray(reference, dtype=np.float64)
    deg = np.asarray(degraded, dtype=np.float64)
    total = weight = 0.0
    for start in range(0, ref.size - segment + 1, segment):
        piece = ref[start : start + segment]
        energy = float(np.dot(piece, piece))
        if energy < 1e-3:
            continue
        at = max(0, lag + start - slack)
        window = deg[at : at + segment + 2 * slack]
        found = align(piece, window, max_lag=2 * slack)
        total += energy * max(found.correlation, 0.0)
        weight += energy
    return total / weight if weight else 0.0
