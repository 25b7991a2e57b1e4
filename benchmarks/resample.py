"""Resampling cost and quality: the library the pipeline uses, and a reference.

Files the bot plays and the stages of the capture chain that run at another
rate (16 kHz suppressors) go through ``voip.audio.audiofile.resample``. Per
rate pair (typical inputs to 48 kHz, and 48 kHz down to 16 kHz):

- ``ms_per_s``: CPU milliseconds to resample one second of audio (median of
  5 runs over 10 s of a speech-like signal);
- ``sine_err_db``: worst error of a resampled 1 kHz sine against the analytic
  one at the output rate (dB relative to full scale; lower is better);
- ``alias_db``: when downsampling, the level of a tone above the output
  Nyquist that leaks through (dB; lower is better).

``impl``: ``pipeline`` is what the code uses now; ``scipy-poly`` is scipy's
polyphase FIR (``resample_poly``), a reference point when scipy is there.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

import numpy as np

from benchmarks.report import Record
from voip.audio.audiofile import resample

PAIRS = ((8_000, 48_000), (16_000, 48_000), (22_050, 48_000), (44_100, 48_000),
         (96_000, 48_000), (48_000, 16_000))

Resampler = Callable[[np.ndarray, int, int], np.ndarray]


def _scipy_poly() -> Resampler | None:
    try:
        from scipy.signal import resample_poly
    except ImportError:
        return None

    def run(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
        g = math.gcd(rate_in, rate_out)
        return np.asarray(resample_poly(x, rate_out // g, rate_in // g), dtype=np.float32)

    return run


def _signal(rate: int, seconds: float) -> np.ndarray:
    rng = np.random.default_rng(7)
    t = np.arange(int(rate * seconds)) / rate
    carrier = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) / k
                  for k, f in enumerate((180, 420, 950, 2300, 5100), start=1))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3.5 * t)
    return (0.2 * carrier * envelope).astype(np.float64)


def _sine_error_db(fn: Resampler, rate_in: int, rate_out: int) -> float:
    f = 1000.0
    x = np.sin(2 * np.pi * f * np.arange(rate_in) / rate_in)
    y = fn(x, rate_in, rate_out)
    expected = np.sin(2 * np.pi * f * np.arange(y.size) / rate_out)
    edge = rate_out // 20  # filters' start-up at both ends
    err = float(np.max(np.abs(y[edge:-edge] - expected[edge:-edge])))
    return 20 * math.log10(max(err, 1e-12))


def _alias_db(fn: Resampler, rate_in: int, rate_out: int) -> float:
    if rate_out >= rate_in:
        return float("nan")
    f = 0.5 * rate_out + 0.25 * (0.5 * rate_in - 0.5 * rate_out)  # above the new Nyquist
    x = np.sin(2 * np.pi * f * np.arange(rate_in) / rate_in)
    y = fn(x, rate_in, rate_out)
    edge = rate_out // 20
    rms = float(np.sqrt(np.mean(y[edge:-edge] ** 2))) * math.sqrt(2)
    return 20 * math.log10(max(rms, 1e-12))


def _cost_ms_per_s(fn: Resampler, rate_in: int, rate_out: int, seconds: float,
                   repeats: int) -> float:
    x = _signal(rate_in, seconds)
    times = []
    for _ in range(repeats):
        started = time.process_time()
        fn(x, rate_in, rate_out)
        times.append(time.process_time() - started)
    return 1000.0 * float(np.median(times)) / seconds


def run(args: argparse.Namespace) -> list[Record]:
    seconds, repeats = (2.0, 3) if args.short else (10.0, 5)
    impls: dict[str, Resampler] = {"pipeline": resample}
    reference = _scipy_poly()
    if reference is not None:
        impls["scipy-poly"] = reference
    records: list[Record] = []
    for name, fn in impls.items():
        for rate_in, rate_out in PAIRS:
            records.append({
                "benchmark": "resample",
                "kind": "cost",
                "impl": name,
                "rate_in": rate_in,
                "rate_out": rate_out,
                "ms_per_s": _cost_ms_per_s(fn, rate_in, rate_out, seconds, repeats),
                "sine_err_db": _sine_error_db(fn, rate_in, rate_out),
                "alias_db": _alias_db(fn, rate_in, rate_out),
            })
    return records
