"""Capture and playback engines driven by array sources and recording sinks.

Same engines and threads as with a sound card, minus PortAudio.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from voip.audio.analysis import align, dominant_frequency
from voip.audio.capture import CaptureEngine
from voip.audio.codec import FRAME_SAMPLES
from voip.audio.engine import EngineState
from voip.audio.opus import OpusDecoder, OpusEncoder
from voip.audio.pacing import FramePacer
from voip.audio.playback import PlaybackEngine
from voip.audio.signals import speech_like, tone
from voip.audio.sinks import RecordingSink
from voip.audio.sources import ArraySource
from voip.audio.transmission import TransmissionMode
from voip.errors import AudioDeviceError, AudioError

Sent = list[tuple[bytes, int]]


def _engine(samples: np.ndarray, mode: TransmissionMode) -> tuple[CaptureEngine, Sent]:
    sent: Sent = []
    engine = CaptureEngine(
        ArraySource(samples, realtime=False),
        send=lambda p, s: sent.append((p, s)),
        mode=mode,
    )
    engine._encoder = OpusEncoder()
    return engine, sent


def _frames(samples: np.ndarray) -> list[np.ndarray]:
    return [samples[i : i + FRAME_SAMPLES] for i in range(0, len(samples), FRAME_SAMPLES)]


def test_push_to_talk_is_default_and_sends_only_while_pressed() -> None:
    engine, sent = _engine(np.zeros(0, np.float32), TransmissionMode.PUSH_TO_TALK)
    assert engine.mode is TransmissionMode.PUSH_TO_TALK
    frames = _frames(tone(400.0, 0.2))
    for f in frames[:3]:
        engine.process_frame(f)
    assert not sent and not engine.is_transmitting
    engine.press_ptt()
    for f in frames[3:7]:
        engine.process_frame(f)
    assert engine.is_transmitting
    engine.release_ptt()
    engine.process_frame(frames[7])
    assert not engine.is_transmitting
    assert [s for _, s in sent] == [3, 4, 5, 6]  # sequence counts every frame


def test_muted_never_sends_and_continuous_always_does() -> None:
    engine, sent = _engine(np.zeros(0, np.float32), TransmissionMode.MUTED)
    engine.press_ptt()
    for f in _frames(tone(400.0, 0.1)):
        engine.process_frame(f)
    assert not sent and not engine.is_transmitting
    engine.mode = TransmissionMode.CONTINUOUS
    for f in _frames(tone(400.0, 0.1)):
        engine.process_frame(f)
    assert len(sent) == 5 and engine.is_transmitting


def test_voice_activated_follows_level_with_hangover() -> None:
    engine, _ = _engine(np.zeros(0, np.float32), TransmissionMode.VOICE_ACTIVATED)
    engine.vad_threshold_dbfs = -30.0
    quiet = np.full(FRAME_SAMPLES, 0.001, np.float32)
    loud = tone(300.0, 0.02, amplitude=0.3)
    engine.process_frame(quiet)
    assert not engine.is_transmitting
    engine.process_frame(loud)
    assert engine.is_transmitting and engine.level.rms_dbfs > -30.0
    states = []
    for _ in range(20):
        engine.process_frame(quiet)
        states.append(engine.is_transmitting)
    assert states[0] and not states[-1]  # hangover, then stop


def test_input_volume_scales_level() -> None:
    engine, _ = _engine(np.zeros(0, np.float32), TransmissionMode.MUTED)
    frame = tone(300.0, 0.02, amplitude=0.5)
    engine.process_frame(frame)
    full = engine.level.rms_dbfs
    engine.input_volume = 0.1
    engine.process_frame(frame)
    assert engine.level.rms_dbfs == pytest.approx(full - 20.0, abs=0.1)


def test_dtx_packets_are_not_sent() -> None:
    engine, sent = _engine(np.zeros(0, np.float32), TransmissionMode.CONTINUOUS)
    for _ in range(50):
        engine.process_frame(np.zeros(FRAME_SAMPLES, np.float32))
    assert all(len(p) > 2 for p, _ in sent)
    assert len(sent) < 50 and engine.is_transmitting


def test_capture_thread_runs_a_file_source_to_the_end(poll: Callable[..., bool]) -> None:
    sent: Sent = []
    x = tone(700.0, 0.5)
    engine = CaptureEngine(
        ArraySource(x, realtime=False),
        send=lambda p, s: sent.append((p, s)),
        mode=TransmissionMode.CONTINUOUS,
    )
    engine.start()
    try:
        assert poll(lambda: engine.source.finished and not engine.is_transmitting)
    finally:
        engine.stop()
    assert len(sent) == 25 and engine.state is EngineState.STOPPED
    dec = OpusDecoder()
    y = np.concatenate([dec.decode(p) for p, _ in sent])
    assert abs(dominant_frequency(y[4800:]) - 700.0) < 5.0


class _FailingSource(ArraySource):
    def read(self, timeout: float) -> np.ndarray | None:
        raise AudioDeviceError("the input device 'usb' vanished")


def test_a_failing_source_ends_in_a_clear_error_state(poll: Callable[..., bool]) -> None:
    errors: list[AudioError] = []
    engine = CaptureEngine(
        _FailingSource(np.zeros(0, np.float32)),
        mode=TransmissionMode.CONTINUOUS,
        on_error=errors.append,
    )
    engine.start()
    assert poll(lambda: engine.state is EngineState.FAILED)
    assert isinstance(engine.error, AudioDeviceError) and errors == [engine.error]
    assert not engine.is_transmitting
    engine.stop()


def _packets(x: np.ndarray) -> list[bytes]:
    enc = OpusEncoder()
    return [enc.encode(f) for f in _frames(x)]


def test_playback_mixes_users_and_reports_talking() -> None:
    engine = PlaybackEngine(RecordingSink(realtime=False))
    a, b = _packets(tone(440.0, 0.4)), _packets(tone(1000.0, 0.4))
    now = 0.0
    out = []
    talking = []
    for i in range(40):
        now = i * 0.02
        if i < 20:
            engine.receive(1, i, a[i], now)
            engine.receive(2, 500 + i, b[i], now)
        out.append(engine.tick(now).copy())
        talking.append(engine.talking_users(now))
    assert talking[5] == {1, 2}
    assert talking[-1] == frozenset()  # 200 ms after the last frame
    mixed = np.concatenate(out[6:18])
    spectrum = np.abs(np.fft.rfft(mixed * np.hanning(mixed.size)))
    freqs = np.fft.rfftfreq(mixed.size, 1 / 48000)
    peaks = sorted(freqs[np.argsort(spectrum)[-40:]])
    assert any(abs(f - 440) < 10 for f in peaks) and any(abs(f - 1000) < 10 for f in peaks)
    stats = engine.user_playback()[1].stats
    assert stats.played == 20 and stats.lost == 0


def test_playback_user_volume_forget_and_corrupt_packets() -> None:
    engine = PlaybackEngine(RecordingSink(realtime=False))
    pk = _packets(tone(500.0, 0.4))
    engine.set_user_volume(7, 0.0)
    for i in range(10):
        engine.receive(7, i, pk[i], i * 0.02)
        assert not engine.tick(i * 0.02).any()  # muted user contributes nothing
    engine.forget_user(7)
    engine.tick(0.3)
    assert 7 not in engine.user_playback()
    engine.receive(8, 0, b"\xff\xff\xff garbage", 0.4)
    for i in range(1, 6):
        engine.receive(8, i, pk[i], 0.4 + i * 0.02)
        engine.tick(0.4 + i * 0.02)  # must not raise
    assert engine.user_volume(7) == 0.0


def test_playback_thread_records_speech_through_the_codec(poll: Callable[..., bool]) -> None:
    sink = RecordingSink(realtime=True)
    engine = PlaybackEngine(sink)
    x = speech_like(1.0)
    pk = _packets(x)
    pacer = FramePacer()  # the sender talks in real time, one packet per 20 ms
    engine.start()
    try:
        for i, p in enumerate(pk):
            pacer.wait(1.0)
            engine.receive(3, i, p, engine.clock())
        assert poll(
            lambda: (
                3 in engine.user_playback() and engine.user_playback()[3].stats.played == len(pk)
            )
        )
        assert poll(lambda: 3 not in engine.talking_users(engine.clock()))
    finally:
        engine.stop()
    match = align(x, sink.samples(), max_lag=48000)
    assert match.correlation > 0.6


def test_capture_sends_the_previous_frame_as_redundancy() -> None:
    sent: list[tuple[bytes, int, tuple[bytes, ...]]] = []
    engine = CaptureEngine(
        ArraySource(np.zeros(0, np.float32), realtime=False),
        send_voice=lambda p, s, r: sent.append((p, s, r)),
        mode=TransmissionMode.PUSH_TO_TALK,
    )
    assert engine.redundancy
    engine._encoder = OpusEncoder(loss_percent=0)
    frames = _frames(tone(400.0, 0.2))
    engine.press_ptt()
    for f in frames[:4]:
        engine.process_frame(f)
    engine.release_ptt()
    engine.process_frame(frames[4])
    engine.press_ptt()
    engine.process_frame(frames[5])  # a new spurt: nothing before it to repeat
    assert [s for _, s, _ in sent] == [0, 1, 2, 3, 5]
    assert sent[0][2] == () and sent[4][2] == ()
    assert [r for _, _, r in sent[1:4]] == [(p,) for p, _, _ in sent[:3]]


def test_playback_plays_the_redundant_copy_of_a_lost_frame() -> None:
    pk = _packets(tone(440.0, 0.4))
    reference = PlaybackEngine(RecordingSink(realtime=False))
    engine = PlaybackEngine(RecordingSink(realtime=False))
    ref_out, out = [], []
    for i in range(20):
        reference.receive(1, i, pk[i], i * 0.02)
        if i != 8:  # frame 8 lost; packet 9 carries its copy
            engine.receive(1, i, pk[i], i * 0.02, redundant=pk[i - 1] if i else b"")
        ref_out.append(reference.tick(i * 0.02).copy())
        out.append(engine.tick(i * 0.02).copy())
    stats = engine.user_playback()[1].stats
    assert stats.redundant_recovered == 1 and stats.fec_recovered == 0 and stats.plc == 0
    # Bit-exact with the lossless stream: the copy is the same packet.
    assert np.array_equal(np.concatenate(out), np.concatenate(ref_out))


def test_capture_tells_the_end_of_each_spurt_once() -> None:
    ended: list[int] = []
    sent: list[int] = []
    engine = CaptureEngine(
        ArraySource(np.zeros(0, np.float32), realtime=False),
        send_voice=lambda p, s, r: sent.append(s),
        send_end=ended.append,
        mode=TransmissionMode.PUSH_TO_TALK,
    )
    engine._encoder = OpusEncoder(loss_percent=0)
    frames = _frames(tone(400.0, 0.4))
    engine.press_ptt()
    for f in frames[:4]:
        engine.process_frame(f)
    assert ended == []
    engine.release_ptt()
    engine.process_frame(frames[4])
    engine.process_frame(frames[5])
    assert ended == [3]  # the last frame sent, told once
    engine.press_ptt()
    engine.process_frame(frames[6])
    engine.stop()  # stopping mid-spurt ends it too
    assert ended == [3, 6] and sent == [0, 1, 2, 3, 6]
    engine.stop()
    assert ended == [3, 6]


def test_capture_ends_the_spurt_when_the_encoder_goes_dtx() -> None:
    ended: list[int] = []
    sent: list[int] = []
    engine = CaptureEngine(
        ArraySource(np.zeros(0, np.float32), realtime=False),
        send_voice=lambda p, s, r: sent.append(s),
        send_end=ended.append,
        mode=TransmissionMode.CONTINUOUS,
    )
    engine._encoder = OpusEncoder(loss_percent=0)
    for f in _frames(tone(400.0, 0.2)):
        engine.process_frame(f)
    for f in _frames(np.zeros(FRAME_SAMPLES * 50, np.float32)):
        engine.process_frame(f)  # digital silence: DTX after a few frames
    assert engine.is_transmitting  # still "on air": DTX is a pause, not a stop
    # Each run of consecutive frames sent (a spurt; in DTX Opus still sends a
    # frame now and then) is ended once, with its last frame.
    runs_end = [s for i, s in enumerate(sent) if i + 1 == len(sent) or sent[i + 1] != s + 1]
    assert len(runs_end) >= 1 and sent[0] == 0
    assert ended == runs_end


def test_playback_end_marker_stops_without_fade_and_talking_at_once() -> None:
    pk = _packets(tone(440.0, 0.4))
    marked = PlaybackEngine(RecordingSink(realtime=False))
    unmarked = PlaybackEngine(RecordingSink(realtime=False))
    marked_talking, unmarked_talking = [], []
    for i in range(30):
        now = i * 0.02
        if i < 10:
            marked.receive(1, i, pk[i], now)
            unmarked.receive(1, i, pk[i], now)
        if i == 10:
            marked.end_of_transmission(1, 9, now)
        marked.tick(now)
        unmarked.tick(now)
        marked_talking.append(1 in marked.talking_users(now))
        unmarked_talking.append(1 in unmarked.talking_users(now))
    m, u = marked.user_playback()[1], unmarked.user_playback()[1]
    assert m.stats.played == u.stats.played == 10
    assert m.stats.plc == 0 and m.stats.ended == 1
    assert u.stats.plc > 0  # without the marker the end is concealed (a fade)
    assert m.ended and not u.ended
    # Talking ends with the marked spurt's last frame, not ~200 ms later.
    last_marked = max(i for i, t in enumerate(marked_talking) if t)
    last_unmarked = max(i for i, t in enumerate(unmarked_talking) if t)
    assert last_marked < last_unmarked
    assert not marked_talking[last_marked + 1]
    # An end marker from an unknown user creates nothing.
    marked.end_of_transmission(42, 3, 1.0)
    marked.tick(1.0)
    assert 42 not in marked.user_playback()


class _GraceSink(RecordingSink):
    """A non-paced recorder with an arrival grace, ready when the test says so."""

    arrival_grace = 5.0  # generous: the test does not depend on timing

    def __init__(self) -> None:
        super().__init__(realtime=False)
        import threading

        self.go = threading.Semaphore(0)

    def wait_ready(self, timeout: float) -> bool:
        return self.go.acquire(timeout=timeout)


def test_arrival_grace_plays_a_just_late_packet_in_its_own_frame(
    poll: Callable[..., bool],
) -> None:
    import threading

    pk = _packets(tone(440.0, 0.4))
    sink = _GraceSink()
    engine = PlaybackEngine(sink)
    assert engine.arrival_grace == 5.0
    engine.start()
    try:
        for i in range(3):  # start-up: 3 frames buffered
            engine.receive(1, i, pk[i], engine.clock())
        for _ in range(3):
            sink.go.release()
        assert poll(lambda: engine.frames_played == 3)
        # Frame 3 is late: the tick starts with the buffer starved, and the
        # packet comes while the engine waits within its grace.
        sink.go.release()
        threading.Timer(0.05, lambda: engine.receive(1, 3, pk[3], engine.clock())).start()
        assert poll(lambda: engine.frames_played == 4)
    finally:
        engine.stop()
    stats = engine.user_playback()[1].stats
    assert stats.played == 4 and stats.plc == 0 and stats.underruns == 0
    assert engine.grace_rescued == 1
