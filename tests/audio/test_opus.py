"""Opus through real libopus: round trip quality, FEC vs PLC, DTX, settings."""

from __future__ import annotations

import numpy as np
import pytest

from voip.audio.analysis import align, codec_round_trip, dominant_frequency
from voip.audio.codec import FRAME_SAMPLES
from voip.audio.opus import OpusDecoder, OpusEncoder
from voip.audio.signals import speech_like, tone
from voip.errors import CodecError


def test_tone_round_trip_keeps_frequency_and_shape() -> None:
    x = tone(440.0, 1.0)
    y = codec_round_trip(OpusEncoder(), OpusDecoder(), x)
    match = align(x, y, max_lag=960)
    assert match.correlation > 0.9
    assert abs(dominant_frequency(y[4800:]) - 440.0) < 5.0


def test_speech_like_round_trip_correlates_after_codec_delay() -> None:
    x = speech_like(2.0)
    y = codec_round_trip(OpusEncoder(), OpusDecoder(), x)
    match = align(x, y, max_lag=960)
    assert match.correlation > 0.7  # SILK models speech; it does not keep the waveform
    assert 0 <= match.lag_samples < 960  # Opus adds a few ms of look-ahead


def test_int16_input_is_accepted() -> None:
    x = (tone(300.0, 0.2) * 32767).astype(np.int16)
    enc, dec = OpusEncoder(), OpusDecoder()
    out = [dec.decode(enc.encode(x[i : i + FRAME_SAMPLES])) for i in range(0, len(x), 960)]
    assert np.max(np.abs(np.concatenate(out))) > 0.1


def _frame_error(x: np.ndarray, y: np.ndarray, frame: int, lag: int) -> float:
    start = frame * FRAME_SAMPLES
    ref = x[start : start + FRAME_SAMPLES]
    got = y[start + lag : start + lag + FRAME_SAMPLES]
    return float(np.sum((ref - got) ** 2))


def test_fec_recovers_a_dropped_frame_better_than_plc() -> None:
    x = speech_like(2.0, seed=3)
    clean = codec_round_trip(OpusEncoder(), OpusDecoder(), x)
    lag = align(x, clean, max_lag=960).lag_samples
    drops = [20, 40, 60, 80]
    fec = codec_round_trip(OpusEncoder(), OpusDecoder(), x, drop=drops, recover="fec")
    plc = codec_round_trip(OpusEncoder(), OpusDecoder(), x, drop=drops, recover="plc")
    fec_error = sum(_frame_error(x, fec, f, lag) for f in drops)
    plc_error = sum(_frame_error(x, plc, f, lag) for f in drops)
    assert fec_error < plc_error


def test_plc_continues_with_sound_not_silence() -> None:
    x = tone(500.0, 0.5)
    enc, dec = OpusEncoder(), OpusDecoder()
    for i in range(0, len(x), FRAME_SAMPLES):
        dec.decode(enc.encode(x[i : i + FRAME_SAMPLES]))
    concealed = dec.decode_plc()
    assert np.sqrt(np.mean(concealed**2)) > 0.05


def test_dtx_emits_tiny_packets_in_silence() -> None:
    enc = OpusEncoder()
    sizes = [len(enc.encode(np.zeros(FRAME_SAMPLES, np.float32))) for _ in range(50)]
    assert min(sizes[-20:]) <= 2


def test_settings_are_validated() -> None:
    enc = OpusEncoder()
    enc.set_bitrate(24_000)
    enc.set_packet_loss_percent(25)
    with pytest.raises(CodecError, match="bitrate"):
        enc.set_bitrate(100)
    with pytest.raises(CodecError, match="loss"):
        enc.set_packet_loss_percent(101)


def test_wrong_frame_shapes_and_types_raise_codec_error() -> None:
    enc = OpusEncoder()
    with pytest.raises(CodecError, match="960"):
        enc.encode(np.zeros(480, np.float32))
    with pytest.raises(CodecError, match="float64"):
        enc.encode(np.zeros(960, np.float64))
    with pytest.raises(CodecError, match="empty"):
        OpusDecoder().decode(b"")
