"""Audio file reading (WAV in any format, FLAC, Ogg; any rate and channels), resampling, writing."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np
import pytest

from voip.audio.analysis import dominant_frequency
from voip.audio.audiofile import AudioFileError, read_audio, resample, write_audio


def _write_pcm16(path: Path, data: np.ndarray, rate: int) -> None:
    channels = 1 if data.ndim == 1 else data.shape[1]
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((data * 32767).astype("<i2").tobytes())


def _write_float32(path: Path, data: np.ndarray, rate: int) -> None:
    payload = data.astype("<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 1, rate, rate * 4, 4, 32)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(payload)) + payload
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 96000])
def test_resample_sine_matches_analytic_48k(rate: int) -> None:
    f = 440.0
    t_in = np.arange(rate) / rate
    y = resample(np.sin(2 * np.pi * f * t_in), rate)
    assert y.size == 48000
    t_out = np.arange(48000) / 48000
    expected = np.sin(2 * np.pi * f * t_out)
    middle = slice(1000, 47000)  # edges see the zero padding
    assert np.max(np.abs(y[middle] - expected[middle])) < 0.01


def test_downsampling_removes_content_above_new_nyquist() -> None:
    t = np.arange(96000) / 96000
    y = resample(np.sin(2 * np.pi * 30000 * t), 96000)  # above 24 kHz
    assert np.sqrt(np.mean(y[1000:-1000] ** 2)) < 0.01


def test_stereo_44k1_file_reads_as_48k_mono(tmp_path: Path) -> None:
    t = np.arange(44100) / 44100
    left = 0.5 * np.sin(2 * np.pi * 1000 * t)
    stereo = np.stack([left, left], axis=1)
    path = tmp_path / "stereo.wav"
    _write_pcm16(path, stereo, 44100)
    y = read_audio(path)
    assert y.dtype == np.float32 and y.size == 48000
    assert abs(dominant_frequency(y) - 1000.0) < 2.0
    assert np.max(np.abs(y)) == pytest.approx(0.5, abs=0.01)


def test_write_then_read_round_trip_at_48k(tmp_path: Path) -> None:
    x = (0.3 * np.sin(2 * np.pi * 250 * np.arange(4800) / 48000)).astype(np.float32)
    path = tmp_path / "out.wav"
    write_audio(path, x)
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (48000, 1, 2)
    np.testing.assert_allclose(read_audio(path), x, atol=1e-4)


def test_float_wav_is_supported(tmp_path: Path) -> None:
    x = (0.25 * np.sin(2 * np.pi * 300 * np.arange(16000) / 16000)).astype(np.float32)
    path = tmp_path / "float.wav"
    _write_float32(path, x, 16000)
    y = read_audio(path)
    assert y.size == 48000 and abs(dominant_frequency(y) - 300.0) < 2.0


def test_bad_files_raise_clear_errors(tmp_path: Path) -> None:
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not a wav at all")
    with pytest.raises(AudioFileError, match=r"cannot read audio file .*junk.wav.*supported"):
        read_audio(junk)
    with pytest.raises(AudioFileError, match=r"cannot read .* no such file"):
        read_audio(tmp_path / "missing.wav")
    with pytest.raises(AudioFileError, match="cannot write audio file"):
        write_audio(tmp_path / "no-such-dir" / "out.wav", np.zeros(480, dtype=np.float32))


@pytest.mark.parametrize(("fmt", "subtype"), [("FLAC", "PCM_16"), ("OGG", "VORBIS"),
                                              ("WAV", "PCM_24")])
def test_compressed_and_24_bit_files_read_at_48k(tmp_path: Path, fmt: str, subtype: str) -> None:
    import soundfile

    t = np.arange(22050) / 22050
    tone = 0.4 * np.sin(2 * np.pi * 700 * t)
    path = tmp_path / f"tone.{fmt.lower()}"
    soundfile.write(str(path), np.stack([tone, tone], axis=1), 22050, format=fmt, subtype=subtype)
    y = read_audio(path)
    assert abs(y.size - 48000) <= 48  # codecs may pad a block
    assert abs(dominant_frequency(y) - 700.0) < 2.0
    assert np.max(np.abs(y)) == pytest.approx(0.4, abs=0.03)
