"""The audio actors without a server: array audio in place of the sound card."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from voip.audio.analysis import align, segmental_correlation
from voip.audio.signals import speech_like
from voip.client import BackendHandle
from voip.client import commands as c
from voip.client.audio_io import ArrayIO
from voip.client.state import TransmissionMode

WAIT = 20.0


def test_loopback_test_plays_the_microphone_back_without_a_connection(
    make_backend: Callable[..., BackendHandle],
) -> None:
    source = speech_like(1.5, seed=4)
    io = ArrayIO(source, record=True)
    backend = make_backend(audio_io=io)
    backend.send(c.SetTransmissionMode(TransmissionMode.PUSH_TO_TALK))  # loopback ignores the mode
    backend.send(c.StartLoopbackTest())
    state = backend.wait_for(lambda s: s.audio.loopback_test and s.audio.input_level_db > -40, WAIT)
    assert not state.audio.is_transmitting  # nothing is sent anywhere
    assert not state.is_connected
    deadline = time.monotonic() + WAIT
    while not io.finished or io.recording().size < source.size + 48000 // 2:
        assert time.monotonic() < deadline, "the loopback did not play the whole source"
        time.sleep(0.02)
    backend.send(c.StopLoopbackTest())
    backend.wait_for(lambda s: not s.audio.loopback_test and s.audio.input_level_db <= -100, WAIT)
    # Each half second compared on its own (the jitter buffer may trim a frame
    # while it adapts; see voip.audio.analysis.segmental_correlation).
    recording = io.recording()
    found = align(source, recording, max_lag=48000)
    assert segmental_correlation(source, recording, found.lag_samples) > 0.8


def test_capture_does_not_run_while_disconnected(
    make_backend: Callable[..., BackendHandle],
) -> None:
    io = ArrayIO(speech_like(1.0), loop=True)
    backend = make_backend(audio_io=io)
    backend.send(c.SetTransmissionMode(TransmissionMode.CONTINUOUS))
    state = backend.wait_for(
        lambda s: s.audio.transmission_mode is TransmissionMode.CONTINUOUS, WAIT
    )
    assert not state.audio.is_transmitting
    assert io.source_started_at is None and io.sink_started_at is None


def test_device_lists_come_from_the_audio_io_and_unknown_names_are_refused(
    make_backend: Callable[..., BackendHandle],
) -> None:
    backend = make_backend(audio_io=ArrayIO())
    backend.send(c.RefreshAudioDevices())
    state = backend.wait_for(lambda s: bool(s.audio.input_devices), WAIT)
    assert [d.name for d in state.audio.input_devices] == ["array input"]
    assert [d.name for d in state.audio.output_devices] == ["array output"]

    backend.send(c.SetInputDevice("Ghost headset"))
    state = backend.wait_for(lambda s: s.audio.error is not None, WAIT)
    assert "Ghost headset" in (state.audio.error or "")
    assert state.audio.input_device is None  # the setting was not taken
    assert any(e.command == "SetInputDevice" for e in state.errors)

    backend.send(c.SetInputDevice("array input"))
    state = backend.wait_for(lambda s: s.audio.error is None, WAIT)
    assert state.audio.input_device == "array input"


def test_audio_settings_survive_a_restart(make_backend: Callable[..., BackendHandle]) -> None:
    first = make_backend(audio_io=ArrayIO())
    first.send(c.SetInputDevice("array input"))
    first.send(c.SetInputVolume(0.5))
    first.send(c.SetTransmissionMode(TransmissionMode.VOICE_ACTIVATED, -30.0))
    first.send(c.SetPushToTalkKey("F5"))
    first.wait_for(lambda s: s.audio.ptt_key == "F5", WAIT)
    first.shutdown()
    second = make_backend(audio_io=ArrayIO())
    audio = second.state().audio
    assert audio.input_device == "array input"
    assert audio.input_volume == 0.5
    assert audio.transmission_mode is TransmissionMode.VOICE_ACTIVATED
    assert audio.vad_threshold_db == -30.0
    assert audio.ptt_key == "F5"
    assert np.isclose(audio.output_volume, 1.0)


def test_voice_inbox_hands_end_markers_to_playback() -> None:
    from voip.audio.opus import OpusEncoder
    from voip.audio.playback import PlaybackEngine
    from voip.audio.signals import tone
    from voip.audio.sinks import RecordingSink
    from voip.client.voice_path import LoopbackRoute, VoiceInbox
    from voip.protocol.voice import VoiceFrame

    clock = [0.0]
    engine = PlaybackEngine(RecordingSink(realtime=False), clock=lambda: clock[0])
    inbox = VoiceInbox()
    inbox.attach(engine)
    enc = OpusEncoder()
    x = tone(300.0, 0.2)
    talking = []
    for i in range(20):
        clock[0] = i * 0.02
        if i < 10:
            inbox.put(VoiceFrame(5, 1, 100 + i, enc.encode(x[i * 960 : (i + 1) * 960])))
        if i == 10:
            inbox.put(VoiceFrame(5, 1, 109, b"", end_of_transmission=True))
        engine.tick(clock[0])
        talking.append(5 in engine.talking_users(clock[0]))
    assert inbox.end_markers == 1
    stats = engine.user_playback()[5].stats
    assert stats.played == 10 and stats.plc == 0 and stats.ended == 1
    # Frame 9 plays at tick 11 (3 frames buffered first); talking ends right after.
    assert talking[11] and not any(talking[12:])

    # The loopback test's route ends its spurts the same way.
    ended: list[int] = []
    route = LoopbackRoute(lambda p, s, r: None, ended.append)
    route.end(7)
    assert ended == [7]


class _RescanIO(ArrayIO):
    """Records each device listing: whether it rescans, and how many streams are open."""

    def __init__(self) -> None:
        super().__init__(speech_like(1.0), loop=True)
        self.listings: list[tuple[bool, int]] = []  # (rescan, streams open then)
        self.open = 0

    def devices(self, rescan: bool = False) -> tuple[Any, Any]:
        self.listings.append((rescan, self.open))
        return super().devices(rescan)

    def _counted(self, stream: Any) -> Any:
        start, stop = stream.start, stream.stop

        def counted_start() -> None:
            start()
            self.open += 1

        def counted_stop() -> None:
            stop()
            self.open -= 1

        stream.start, stream.stop = counted_start, counted_stop
        return stream

    def source(self, device: str | None) -> Any:
        return self._counted(super().source(device))

    def sink(self, device: str | None) -> Any:
        return self._counted(super().sink(device))


def test_a_refresh_rescans_only_once_the_streams_are_closed(
    make_backend: Callable[..., BackendHandle],
) -> None:
    """The audio actor learns that its children closed their streams from their
    tells (it never asks them): a refresh while they are open lists without a
    rescan; one sent while they are closing rescans once they report closed."""
    io = _RescanIO()
    backend = make_backend(audio_io=io)
    backend.send(c.StartLoopbackTest())
    deadline = time.monotonic() + WAIT
    while io.open < 2:
        assert time.monotonic() < deadline, "the loopback streams never started"
        time.sleep(0.01)
    backend.send(c.RefreshAudioDevices())
    backend.send(c.StopLoopbackTest())
    backend.send(c.RefreshAudioDevices())
    deadline = time.monotonic() + WAIT
    while not any(rescan for rescan, _ in io.listings):
        assert time.monotonic() < deadline, f"no rescan after the streams closed: {io.listings}"
        time.sleep(0.01)
    assert io.listings[1] == (False, 2)  # streams open: no rescan
    assert [open_then for rescan, open_then in io.listings if rescan] == [0]


def test_voice_processing_settings_are_state_and_survive_a_restart(
    make_backend: Callable[..., BackendHandle],
) -> None:
    first = make_backend(audio_io=ArrayIO())
    audio = first.state().audio
    # What a new user gets: suppression and gain control on, echo cancellation off.
    assert (audio.noise_suppression, audio.gain_control, audio.echo_cancellation) == (
        "speex", True, False)
    first.send(c.SetAudioProcessing(noise_suppression="deepfilter", echo_cancellation=True))
    first.wait_for(lambda s: s.audio.noise_suppression == "deepfilter", WAIT)
    first.send(c.SetAudioProcessing(noise_suppression="loud"))  # refused, nothing changes
    state = first.wait_for(lambda s: bool(s.errors), WAIT)
    assert "not a noise suppressor" in state.errors[-1].message
    first.send(c.SetAudioProcessing(gain_control=False))
    first.wait_for(lambda s: not s.audio.gain_control, WAIT)
    first.shutdown()
    audio = make_backend(audio_io=ArrayIO()).state().audio
    assert (audio.noise_suppression, audio.gain_control, audio.echo_cancellation) == (
        "deepfilter", False, True)


def test_a_live_microphone_runs_through_the_chosen_suppressor(
    make_backend: Callable[..., BackendHandle],
) -> None:
    """With processing on, the loopback test hears the fan less than without."""
    rng = np.random.default_rng(3)
    fan = (0.05 * rng.standard_normal(48000 * 3)).astype(np.float32)  # white hiss, ~-26 dBFS
    levels = {}
    for kind in ("off", "rnnoise"):
        io = ArrayIO(fan, record=True, processing=True)
        backend = make_backend(audio_io=io)
        backend.send(c.SetAudioProcessing(noise_suppression=kind, gain_control=False))
        backend.wait_for(lambda s, k=kind: s.audio.noise_suppression == k, WAIT)
        backend.send(c.StartLoopbackTest())
        deadline = time.monotonic() + WAIT
        while not io.finished or io.recording().size < fan.size:
            assert time.monotonic() < deadline, "the loopback did not play the source"
            time.sleep(0.02)
        tail = io.recording()[48000:fan.size]
        levels[kind] = 10 * np.log10(np.mean(tail**2) + 1e-12)
        backend.shutdown()
    assert levels["rnnoise"] < levels["off"] - 10, levels
