"""Adaptive loss protection: the policy table, the listener's meter, and the engines."""

from __future__ import annotations

import numpy as np

from voip.audio.capture import CaptureEngine
from voip.audio.codec import FRAME_SAMPLES
from voip.audio.opus import OpusEncoder
from voip.audio.playback import PlaybackEngine
from voip.audio.protection import (
    CALM_SECONDS,
    LEVELS,
    Level,
    LossMeter,
    LossReport,
    ProtectionPolicy,
)
from voip.audio.signals import speech_like, tone
from voip.audio.sinks import RecordingSink
from voip.audio.sources import ArraySource
from voip.audio.transmission import TransmissionMode


def test_policy_rises_at_once_and_steps_down_only_after_calm() -> None:
    policy = ProtectionPolicy()
    assert policy.current.level is Level.CLEAN and policy.current.redundant_frames == 1
    assert policy.report(LossReport(7, 100, 1), now=0.0).level is Level.CLEAN  # 1 %: noise
    assert policy.report(LossReport(7, 100, 10), now=1.0).level is Level.LOSSY
    # Clean reports: the bad one ages out (6 s), but the level holds until calm.
    t = 2.0
    while t < 7.0:
        assert policy.report(LossReport(7, 100, 0), now=t).level is Level.LOSSY
        t += 2.0
    while policy.current.level is Level.LOSSY and t < 100:
        policy.report(LossReport(7, 100, 0), now=t)
        t += 2.0
    assert policy.current.level is Level.CLEAN
    assert t > 7.0 + CALM_SECONDS
    # A loss that comes back during the calm period resets it.
    policy.report(LossReport(7, 100, 5), now=t)
    assert policy.current.level is Level.LOSSY
    policy.report(LossReport(7, 100, 0), now=t + 7)
    policy.report(LossReport(7, 100, 3), now=t + 9)
    policy.report(LossReport(7, 100, 0), now=t + 16)
    assert policy.current.level is Level.LOSSY  # 10 s of calm not reached since t + 9


def test_policy_takes_the_worst_listener_and_ignores_thin_reports() -> None:
    policy = ProtectionPolicy()
    policy.report(LossReport(1, 10, 10), now=0.0)  # 0.2 s of talk: too little to judge
    assert policy.current.level is Level.CLEAN
    policy.report(LossReport(1, 100, 0), now=0.0)
    assert policy.report(LossReport(2, 100, 5), now=0.5).level is Level.LOSSY
    assert policy.worst_loss(0.5) == 0.05


def test_levels_keep_the_wire_rate_when_adding_a_copy() -> None:
    clean, lossy = LEVELS[Level.CLEAN], LEVELS[Level.LOSSY]
    assert lossy.redundant_frames > clean.redundant_frames
    wire = [p.bitrate * (1 + p.redundant_frames) for p in (clean, lossy)]
    assert wire[1] <= wire[0]


def test_meter_reports_each_talker_once_per_interval() -> None:
    meter = LossMeter(interval=2.0)
    assert meter.due(0.0) == {}
    for i in range(100):
        meter.played(5, missing=i % 10 == 0)
        meter.played(6, missing=False)
    meter.played(9, missing=True)  # one frame: not enough to report yet
    assert meter.due(1.0) == {}
    assert meter.due(2.0) == {5: (100, 10), 6: (100, 0)}
    assert meter.due(4.0) == {}  # counts start again; 9 still has too few


def _speech_frames(seconds: float) -> list[np.ndarray]:
    x = speech_like(seconds)
    return [x[i : i + FRAME_SAMPLES] for i in range(0, x.size - FRAME_SAMPLES + 1, FRAME_SAMPLES)]


def test_a_talker_whose_loss_report_rises_sends_more_redundancy() -> None:
    sent: list[tuple[bytes, int, tuple[bytes, ...]]] = []
    engine = CaptureEngine(ArraySource(np.zeros(0, np.float32), realtime=False),
                           send_voice=lambda p, s, c: sent.append((p, s, c)),
                           mode=TransmissionMode.CONTINUOUS)
    engine._prepare()
    frames = _speech_frames(6.0)
    for f in frames[:100]:
        engine.process_frame(f)
    clean = sent[50:100]
    assert all(len(c) == 1 for _, _, c in clean)
    engine.loss_feedback(reporter_id=2, frames=100, lost=12, now=10.0)
    for f in frames[100:200]:
        engine.process_frame(f)
    lossy = sent[150:200]
    assert engine.protection.level is Level.LOSSY
    assert all(len(c) == 2 for _, _, c in lossy)
    # each copy is the packet sent for that frame
    packets = {s: p for p, s, _ in sent}
    for _, s, copies in lossy:
        assert copies == (packets[s - 1], packets[s - 2])
    # the bitrate went down so the wire rate stays about the same
    mean = lambda rows: np.mean([len(p) for p, _, _ in rows])  # noqa: E731
    assert mean(lossy) < 0.85 * mean(clean)
    wire = lambda rows: np.mean([len(p) + sum(map(len, c)) for p, _, c in rows])  # noqa: E731
    assert wire(lossy) < 1.25 * wire(clean)
    # and a clean link lowers it again after the calm period
    t = 12.0
    while engine.protection.level is not Level.CLEAN and t < 60:
        engine.loss_feedback(reporter_id=2, frames=100, lost=0, now=t)
        engine.process_frame(frames[200])
        t += 2.0
    assert engine.protection.level is Level.CLEAN
    engine.process_frame(frames[201])
    assert len(sent[-1][2]) == 1


def test_playback_restores_two_lost_frames_from_older_copies() -> None:
    enc = OpusEncoder(loss_percent=0)
    x = tone(440.0, 1.0)
    pk = [enc.encode(x[i : i + FRAME_SAMPLES]) for i in range(0, x.size, FRAME_SAMPLES)]
    reference = PlaybackEngine(RecordingSink(realtime=False))
    engine = PlaybackEngine(RecordingSink(realtime=False))
    meter = LossMeter(interval=0.0)
    engine.loss_meter = meter
    ref_out, out = [], []
    for i in range(len(pk)):
        reference.receive(1, i, pk[i], i * 0.02)
        if i not in (10, 11):  # a burst of two; packet 12 carries copies of both
            engine.receive(1, i, pk[i], i * 0.02, pk[i - 1] if i else b"",
                           (pk[i - 2],) if i >= 2 else ())
        ref_out.append(reference.tick(i * 0.02 + 0.01).copy())
        out.append(engine.tick(i * 0.02 + 0.01).copy())
    stats = engine.user_playback()[1].stats
    assert stats.redundant_recovered == 2 and stats.plc == 0 and stats.fec_recovered == 0
    assert np.array_equal(np.concatenate(out), np.concatenate(ref_out))  # bit-exact
    meter.due(0.0)
    frames, lost = meter.due(1.0)[1]
    assert lost == 2 and frames >= 20
