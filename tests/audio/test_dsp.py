"""The capture chain on real audio: suppression, gain, speech probability, echo.

Speech is espeak-ng's (a real recording made at test time; the synthetic
``speech_like`` signal where espeak-ng is absent); noises are seeded. The echo
test plays through PortAudio into the PulseAudio null sink and cancels what
its monitor captured.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from voip.audio.audiofile import read_audio
from voip.audio.capture import CaptureEngine, TransmissionMode
from voip.audio.codec import FRAME_SAMPLES, SAMPLE_RATE
from voip.audio.denoise import SuppressorKind, SuppressorUnavailable, make_suppressor
from voip.audio.devices import resolve_device, sounddevice
from voip.audio.dsp import CaptureChain, DspSettings
from voip.audio.echo import EchoCanceller
from voip.audio.gain import GainControl
from voip.audio.signals import speech_like
from voip.audio.sources import ArraySource


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """About 5 s of speech at 48 kHz, peak 0.5, whole frames."""
    if shutil.which("espeak-ng"):
        path = tmp_path_factory.mktemp("speech") / "speech.wav"
        subprocess.run(["espeak-ng", "-w", str(path), "The quick brown fox jumps over the "
                        "lazy dog. Voice chat should sound clear, even in a noisy room."],
                       check=True, capture_output=True, timeout=30)
        x = read_audio(path)
    else:
        x = speech_like(5.0)
    x = x[: x.size // FRAME_SAMPLES * FRAME_SAMPLES]
    return (0.5 * x / np.max(np.abs(x))).astype(np.float32)


def _fan(n: int, seed: int = 3) -> np.ndarray:
    """Broadband noise falling above 400 Hz plus motor hum, RMS 1."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    x = np.fft.irfft(spectrum / (1 + (f / 400.0) ** 2), n)
    x += 0.3 * np.std(x) * np.sin(2 * np.pi * 97.0 * np.arange(n) / SAMPLE_RATE)
    return x / np.std(x)


def _frames(process: Any, x: np.ndarray) -> tuple[np.ndarray, list[float]]:
    out = np.zeros_like(x)
    probs = []
    for i in range(0, x.size, FRAME_SAMPLES):
        probs.append(process(x[i : i + FRAME_SAMPLES], out[i : i + FRAME_SAMPLES]))
    return out, probs


def _band_db(x: np.ndarray, lo: float, hi: float, mask: np.ndarray | None = None) -> float:
    frames = x[: x.size // FRAME_SAMPLES * FRAME_SAMPLES].reshape(-1, FRAME_SAMPLES)
    if mask is not None:
        frames = frames[mask]
    spectrum = np.abs(np.fft.rfft(frames * np.hanning(FRAME_SAMPLES), axis=1)) ** 2
    f = np.fft.rfftfreq(FRAME_SAMPLES, 1 / SAMPLE_RATE)
    return float(10 * np.log10(spectrum[:, (f >= lo) & (f < hi)].sum() + 1e-20))


def _suppressor(kind: SuppressorKind) -> Any:
    try:
        return make_suppressor(kind)
    except SuppressorUnavailable as exc:
        pytest.skip(str(exc))


@pytest.mark.parametrize(("kind", "quieter_db"), [
    (SuppressorKind.RNNOISE, 10), (SuppressorKind.DEEPFILTER, 10),
    (SuppressorKind.SPEEX, 6),  # a spectral subtractor: gentler on non-stationary hum
])
def test_suppressor_quiets_the_noise_and_keeps_the_speech_band(
    speech: np.ndarray, kind: SuppressorKind, quieter_db: float
) -> None:
    noise = (0.05 * _fan(speech.size)).astype(np.float32)  # ~5 dB SNR on this speech
    noisy = speech + noise
    suppressor = _suppressor(kind)
    out, probs = _frames(suppressor.process, noisy)
    suppressor.close()
    lag = suppressor.delay_samples
    out = np.concatenate([out[lag:], np.zeros(lag, dtype=np.float32)])  # undo its delay
    energy = (speech.reshape(-1, FRAME_SAMPLES) ** 2).mean(axis=1)
    pauses = energy < 1e-6
    talking = energy > np.percentile(energy, 60)
    assert pauses.sum() >= 10 and talking.sum() >= 10
    # Where nobody speaks, the fan's band (below 1 kHz) is much quieter.
    assert _band_db(out, 50, 1000, pauses) < _band_db(noisy, 50, 1000, pauses) - quieter_db
    # Where the talker is loud, the speech band stays within 4 dB of the clean speech.
    kept = _band_db(out, 300, 3400, talking) - _band_db(speech, 300, 3400, talking)
    assert abs(kept) < 4, kept
    # And the suppressor tells speech from fan.
    p = np.array(probs)
    assert p[talking].mean() > p[pauses].mean() + 0.3


def test_gain_control_raises_a_quiet_talker_and_tames_a_loud_one(speech: np.ndarray) -> None:
    levels = {}
    for name, scale in (("quiet", 0.03), ("loud", 1.0)):
        x = np.tile(speech * scale, 3).astype(np.float32)
        agc = GainControl()
        out, _ = _frames(lambda f, o, agc=agc: agc.process(f, o), x)
        tail = slice(x.size // 2, None)
        levels[name] = (10 * np.log10(np.mean(x[tail] ** 2)),
                        10 * np.log10(np.mean(out[tail] ** 2)))
    (quiet_in, quiet_out), (loud_in, loud_out) = levels["quiet"], levels["loud"]
    assert loud_in - quiet_in > 25
    assert quiet_out > quiet_in + 10  # raised
    assert abs(loud_out - quiet_out) < (loud_in - quiet_in) / 2  # the spread at least halved


def test_chain_reports_speech_probability_and_adds_no_gain_delay(speech: np.ndarray) -> None:
    chain = CaptureChain(DspSettings(noise_suppression=SuppressorKind.SPEEX, gain_control=True))
    assert chain.delay_samples == 480  # the suppressor's 10 ms; gain control adds none
    result = chain.process(speech[:FRAME_SAMPLES])
    assert result.speech_probability is not None and 0 <= result.speech_probability <= 1
    off = CaptureChain(DspSettings(noise_suppression=SuppressorKind.OFF, gain_control=False))
    assert off.is_identity
    same = off.process(speech[:FRAME_SAMPLES])
    assert same.speech_probability is None
    np.testing.assert_array_equal(same.frame, speech[:FRAME_SAMPLES])


@pytest.mark.parametrize(("kind", "most"), [
    (SuppressorKind.SPEEX, 0.5),  # it takes about a second to learn the fan
    (SuppressorKind.RNNOISE, 0.2),
])
def test_voice_activation_ignores_a_loud_fan_with_a_suppressor(
    speech: np.ndarray, kind: SuppressorKind, most: float
) -> None:
    """An energy threshold opens on a loud fan; the suppressor's probability does not."""
    fan = (0.05 * _fan(SAMPLE_RATE * 3, seed=9)).astype(np.float32)  # about -26 dBFS
    sent: dict[str, int] = {}
    for label, dsp in (("energy", None), ("suppressor", DspSettings(noise_suppression=kind))):
        engine = CaptureEngine(_silence(), mode=TransmissionMode.VOICE_ACTIVATED,
                               encoder=_CountingEncoder(), dsp=dsp)
        try:
            engine.set_dsp(dsp)
        except SuppressorUnavailable as exc:
            pytest.skip(str(exc))
        frames = 0
        for i in range(0, fan.size, FRAME_SAMPLES):
            engine.process_frame(fan[i : i + FRAME_SAMPLES])
            frames += engine.is_transmitting
        sent[label] = frames
        talking = 0
        for i in range(0, speech.size, FRAME_SAMPLES):
            j = i % (fan.size - FRAME_SAMPLES)
            engine.process_frame(speech[i : i + FRAME_SAMPLES] + fan[j : j + FRAME_SAMPLES])
            talking += engine.is_transmitting
        assert talking > 0.4 * speech.size / FRAME_SAMPLES, label  # speech still opens it
        engine._closed()
    assert sent["energy"] > 100  # the fan alone kept the energy detector open
    assert sent["suppressor"] < most * sent["energy"]


def _silence() -> ArraySource:
    return ArraySource(np.zeros(FRAME_SAMPLES, dtype=np.float32))


class _CountingEncoder:
    def encode(self, pcm: np.ndarray) -> bytes:
        return b"\x01" * 40


def test_echo_canceller_learns_a_simulated_room(speech: np.ndarray) -> None:
    rng = np.random.default_rng(5)
    rir = np.concatenate([np.zeros(1900), rng.standard_normal(2400) * np.exp(
        -np.arange(2400) / 500.0)])
    rir *= 0.5 / np.sqrt(np.sum(rir**2))
    far = np.tile(speech, 3)
    echo = np.convolve(far, rir)[: far.size].astype(np.float32)
    canceller = EchoCanceller()
    out = np.zeros_like(echo)
    for i in range(0, far.size, FRAME_SAMPLES):
        s = slice(i, i + FRAME_SAMPLES)
        canceller.process(echo[s], far[s], out[s])
    canceller.close()
    late = slice(far.size // 2, None)
    erle = 10 * np.log10(np.sum(echo[late] ** 2) / np.sum(out[late] ** 2))
    assert erle > 15, erle


def _null_sink_loop(played: np.ndarray) -> tuple[np.ndarray, bool]:
    """Play ``played`` into the null sink while capturing its monitor.

    Returns what was captured, frame-aligned with ``played`` from the start of
    both streams (capture starts first, so the echo trails its reference),
    and whether either stream reported an over- or underrun (which moves the
    echo path mid-run).
    """
    sd = sounddevice()
    captured: list[np.ndarray] = []
    position = [0]
    xruns = [0]
    first_input = threading.Event()

    def on_input(indata: Any, frames: int, time_info: Any, status: Any) -> None:
        captured.append(indata[:, 0].copy())  # the callbacks only copy
        xruns[0] += bool(status)
        first_input.set()

    def on_output(outdata: Any, frames: int, time_info: Any, status: Any) -> None:
        start = position[0]
        chunk = played[start : start + frames]
        outdata[: chunk.size, 0] = chunk
        outdata[chunk.size :, 0] = 0.0
        position[0] = start + frames
        xruns[0] += bool(status)

    mic = sd.InputStream(device=resolve_device("pulse", "input").index, samplerate=SAMPLE_RATE,
                         channels=1, dtype="float32", blocksize=FRAME_SAMPLES,
                         callback=on_input)
    speaker = sd.OutputStream(device=resolve_device("pulse", "output").index,
                              samplerate=SAMPLE_RATE, channels=1, dtype="float32",
                              blocksize=FRAME_SAMPLES, callback=on_output)
    mic.start()
    try:
        assert first_input.wait(10), "no capture callback"
        speaker.start()
        deadline = time.monotonic() + played.size / SAMPLE_RATE + 10
        while position[0] < played.size and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        speaker.abort()
        speaker.close()
        mic.abort()
        mic.close()
    return np.concatenate(captured), xruns[0] > 0


@pytest.mark.audio
def test_echo_canceller_removes_a_tone_played_into_the_null_sink(pulse: dict[str, str]) -> None:
    """Play a tone to the null sink, capture its monitor, cancel with what was played."""
    seconds = 6
    t = np.arange(seconds * SAMPLE_RATE) / SAMPLE_RATE
    played = (0.3 * np.sin(2 * np.pi * 733 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 1.3 * t))
              ).astype(np.float32)
    for _attempt in range(3):
        near, xrun = _null_sink_loop(played)
        if not xrun:
            break
    else:
        pytest.skip("every run of the null-sink loop had over/underruns (machine overloaded)")
    n = min(near.size, played.size) // FRAME_SAMPLES * FRAME_SAMPLES
    near, far = near[:n].astype(np.float32), played[:n]
    assert _band_db(near, 700, 770) > _band_db(near, 2000, 2500) + 20, "the tone was not heard"
    canceller = EchoCanceller(tail_seconds=0.5)  # covers the loop's unknown delay
    out = np.zeros_like(near)
    for i in range(0, n, FRAME_SAMPLES):
        s = slice(i, i + FRAME_SAMPLES)
        canceller.process(near[s], far[s], out[s])
    canceller.close()
    late = slice(n // 2, None)
    assert _band_db(out[late], 700, 770) < _band_db(near[late], 700, 770) - 10


def test_missing_library_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec

    def hide(name: str, *args: Any) -> Any:
        return None if name == "pyrnnoise" else real(name, *args)

    from voip.audio import denoise

    monkeypatch.setattr(denoise.RNNoiseSuppressor, "_lib", None)
    monkeypatch.setattr(importlib.util, "find_spec", hide)
    engine = CaptureEngine(_silence(), encoder=_CountingEncoder())
    with pytest.raises(SuppressorUnavailable, match="pyrnnoise"):
        engine.set_dsp(DspSettings(noise_suppression=SuppressorKind.RNNOISE))
    assert engine.dsp is None  # the engine keeps what it had
