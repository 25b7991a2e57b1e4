"""Real PortAudio through the PulseAudio null sink `vsink` and its monitor.

What is played to the sink comes back on `vsink.monitor`, the default
source, so capture and playback callbacks run for real without a sound card.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from voip.audio.analysis import dominant_frequency
from voip.audio.capture import CaptureEngine
from voip.audio.devices import list_devices, resolve_device, sounddevice
from voip.audio.engine import EngineState
from voip.audio.loopback import LocalLoopback
from voip.audio.opus import OpusDecoder, OpusEncoder
from voip.audio.playback import PlaybackEngine
from voip.audio.signals import tone
from voip.audio.transmission import TransmissionMode
from voip.errors import AudioDeviceError

pytestmark = pytest.mark.audio

DEVICE = "pulse"


def test_devices_are_listed_with_defaults(pulse: dict[str, str]) -> None:
    devices = list_devices()
    names = [d.name for d in devices]
    assert DEVICE in names
    pulse_dev = resolve_device(DEVICE, "input")
    assert pulse_dev.max_input_channels > 0 and pulse_dev.max_output_channels > 0
    assert any(d.is_default_input for d in devices)
    assert resolve_device(None, "output").is_default_output
    assert resolve_device(pulse_dev.index, "input") == pulse_dev


def test_missing_devices_raise_clear_errors(pulse: dict[str, str]) -> None:
    with pytest.raises(AudioDeviceError, match="not found"):
        resolve_device("no such headset", "input")
    with pytest.raises(AudioDeviceError, match="index 999"):
        resolve_device(999, "output")


def test_missing_device_at_start_is_a_clear_failed_state(pulse: dict[str, str]) -> None:
    engine = CaptureEngine("no such headset", mode=TransmissionMode.CONTINUOUS)
    with pytest.raises(AudioDeviceError, match="not found"):
        engine.start()
    assert engine.state is EngineState.FAILED and not engine.is_transmitting


def test_captured_tone_is_encoded_and_sent(
    tone_player: Callable[[float], None], poll: Callable[..., bool]
) -> None:
    sent: list[tuple[bytes, int]] = []
    lock = threading.Lock()

    def send(packet: bytes, sequence: int) -> None:
        with lock:
            sent.append((packet, sequence))

    tone_player(1000.0)
    engine = CaptureEngine(DEVICE, send=send, mode=TransmissionMode.CONTINUOUS)
    engine.start()
    try:
        assert poll(lambda: len(sent) >= 60, timeout=15.0), engine.error
        assert engine.is_transmitting and engine.state is EngineState.RUNNING
        assert engine.level.rms_dbfs > -20.0
    finally:
        engine.stop()
    with lock:
        packets = list(sent)
    seqs = [s for _, s in packets]
    assert seqs == sorted(seqs)
    dec = OpusDecoder()
    decoded = np.concatenate([dec.decode(p) for p, _ in packets])
    tail = decoded[-48000 // 2 :]
    assert abs(dominant_frequency(tail) - 1000.0) < 10.0


def test_playback_engine_plays_into_the_sink_and_reports_talking(
    pulse: dict[str, str], poll: Callable[..., bool]
) -> None:
    # Listen on the monitor with a plain stream to see what the engine plays.
    sd = sounddevice()
    heard: list[np.ndarray] = []

    def listen(indata: Any, frames: int, time_info: Any, status: Any) -> None:
        heard.append(indata[:, 0].copy())

    monitor = sd.InputStream(
        device=resolve_device(DEVICE, "input").index,
        samplerate=48000,
        channels=1,
        dtype="float32",
        callback=listen,
    )
    engine = PlaybackEngine(DEVICE)
    enc = OpusEncoder()
    x = tone(600.0, 1.0)
    packets = [enc.encode(x[i : i + 960]) for i in range(0, len(x), 960)]
    monitor.start()
    engine.start()
    try:
        seen_talking = False
        for i, p in enumerate(packets):
            # The PortAudio clock paces us: send when the engine has consumed.
            poll(lambda i=i: engine.frames_played >= i - 2, timeout=2.0)
            engine.receive(5, i, p, engine.clock())
            seen_talking = seen_talking or 5 in engine.talking_users(engine.clock())
        assert seen_talking
        assert poll(lambda: 5 not in engine.talking_users(engine.clock()), timeout=5.0)
        stats = engine.user_playback()[5].stats
        assert stats.played + stats.fec_recovered >= 45
        assert engine.state is EngineState.RUNNING
    finally:
        engine.stop()
        monitor.abort()
        monitor.close()
    audio = np.concatenate(heard)
    loud = audio[np.abs(audio) > 0.05]
    assert loud.size > 48000 // 2
    # The monitor gives what was played: find the loud part's frequency.
    start = int(np.argmax(np.abs(audio) > 0.1))
    assert abs(dominant_frequency(audio[start + 4800 : start + 4800 + 24000]) - 600.0) < 10.0


def test_local_loopback_plays_the_microphone_back(
    tone_player: Callable[[float], None], poll: Callable[..., bool]
) -> None:
    tone_player(440.0)
    loop = LocalLoopback(DEVICE, DEVICE)
    loop.start()
    try:
        assert poll(lambda: 0 in loop.playback.talking_users(loop.playback.clock()))
        assert poll(lambda: loop.playback.frames_played > 25)
        assert loop.capture.is_transmitting
        assert loop.playback.state is EngineState.RUNNING
    finally:
        loop.stop()
