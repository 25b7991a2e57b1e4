"""Speech and noise for the audio benchmarks: several voices, seeded noises.

Voices are espeak-ng's (made at run time; male and female variants, several
languages), so no figure rests on one sample. Noises are generated from a
seed: a fan (low-passed noise and motor hum), pink noise, babble (other
espeak-ng talkers overlapped) and keyboard clicks. ``mix_at_snr`` scales the
noise to a given speech-to-noise ratio over the whole clip.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from benchmarks.report import Unavailable
from voip.audio.audiofile import read_audio
from voip.audio.codec import FRAME_SAMPLES, SAMPLE_RATE

Samples = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Voice:
    name: str  # espeak-ng voice (language + variant)
    text: str


VOICES = (
    Voice("en-us", "The quick brown fox jumps over the lazy dog. Please call Stella and ask "
                   "her to bring these things with her from the store."),
    Voice("en-gb+f3", "A voice chat must stay clear when packets are lost, so every frame "
                      "counts. She sells sea shells by the sea shore."),
    Voice("de+m3", "Der schnelle braune Fuchs springt über den faulen Hund. Bitte ruf "
                   "Stella an und frag sie, ob sie morgen kommt."),
    Voice("fr+f2", "Le vif renard brun saute par-dessus le chien paresseux. Chaque paquet "
                   "compte quand le réseau perd des trames."),
    Voice("es+m2", "El veloz zorro marrón salta sobre el perro perezoso. Por favor, llama "
                   "a Estela y pídele que traiga estas cosas."),
)
BABBLE_VOICES = ("en-us+m5", "en-gb+f2", "de+f4", "fr+m1", "es+f5", "it+m4")
NOISES = ("fan", "pink", "babble", "keyboard")


def espeak(voice: str, text: str, speed: int = 155) -> Samples:
    """One utterance at 48 kHz, peak 0.5, trimmed to whole frames."""
    if not shutil.which("espeak-ng"):
        raise Unavailable("espeak-ng is not installed (apt-get install espeak-ng)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "speech.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text],
                       check=True, capture_output=True, timeout=60)
        x = read_audio(path)
    x = x[: len(x) // FRAME_SAMPLES * FRAME_SAMPLES]
    peak = float(np.max(np.abs(x))) or 1.0
    return (x * (0.5 / peak)).astype(np.float32)


def voices(count: int | None = None) -> dict[str, Samples]:
    return {v.name: espeak(v.name, v.text) for v in VOICES[:count]}


def _pink(n: int, rng: np.random.Generator) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spectrum.size, dtype=np.float64)
    f[0] = 1.0
    return np.fft.irfft(spectrum / np.sqrt(f), n)


def noise(kind: str, n: int, seed: int) -> Samples:
    """``n`` samples of a seeded noise, RMS 0.1."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SAMPLE_RATE
    if kind == "pink":
        x = _pink(n, rng)
    elif kind == "fan":
        spectrum = np.fft.rfft(rng.standard_normal(n))
        f = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
        spectrum /= 1 + (f / 400.0) ** 2  # broadband whoosh, falling above 400 Hz
        hum = sum(np.sin(2 * np.pi * h * 97.0 * t + rng.uniform(0, 6)) / h for h in (1, 2, 3))
        x = np.fft.irfft(spectrum, n)
        x = x / np.std(x) + 0.3 * hum
    elif kind == "babble":
        x = np.zeros(n)
        for i, voice in enumerate(BABBLE_VOICES):
            talk = espeak(voice, "Meanwhile, the others kept talking about the weather, the "
                                 "train, the meeting and what to cook tonight.", 150 + 10 * i)
            reps = np.tile(talk, n // talk.size + 2)
            start = int(rng.integers(0, talk.size))
            x += reps[start : start + n]
    elif kind == "keyboard":
        x = 0.02 * rng.standard_normal(n)
        click = np.exp(-np.arange(240) / 30.0) * np.sin(2 * np.pi * 3100 * np.arange(240)
                                                        / SAMPLE_RATE)
        at = 0
        while True:
            at += int(rng.exponential(0.12) * SAMPLE_RATE) + 800
            if at + click.size >= n:
                break
            x[at : at + click.size] += rng.uniform(0.5, 1.5) * click
    else:
        raise ValueError(f"unknown noise {kind!r}")
    x = x - np.mean(x)
    return (0.1 * x / (np.std(x) or 1.0)).astype(np.float32)


def mix_at_snr(speech: Samples, noise_: Samples, snr_db: float) -> Samples:
    """Speech plus noise scaled so speech power / noise power = ``snr_db``."""
    p_speech = float(np.mean(speech.astype(np.float64) ** 2))
    p_noise = float(np.mean(noise_.astype(np.float64) ** 2)) or 1.0
    scale = np.sqrt(p_speech / (p_noise * 10 ** (snr_db / 10)))
    return (speech + scale * noise_[: speech.size]).astype(np.float32)
