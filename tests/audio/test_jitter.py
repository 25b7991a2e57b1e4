"""Jitter buffer: ordering, loss, duplicates, bursts, wraparound, adaptation."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from voip.audio.jitter import (
    INITIAL_TARGET_FRAMES,
    JitterBuffer,
    PlayoutKind,
    seq_delta,
    seq_newer,
)

F = 0.02


def pkt(seq: int) -> bytes:
    return seq.to_bytes(4, "big")


def drain(jb: JitterBuffer, ticks: int) -> list[tuple[PlayoutKind, int | None]]:
    out = []
    for _ in range(ticks):
        p = jb.pop()
        out.append((p.kind, p.sequence))
    return out


def played_sequences(jb: JitterBuffer, ticks: int) -> list[int]:
    return [s for k, s in drain(jb, ticks) if k is PlayoutKind.PACKET and s is not None]


def realtime(
    jb: JitterBuffer, arrivals: list[int], t0: float = 0.0, extra_ticks: int = 10
) -> list[tuple[PlayoutKind, int | None]]:
    """One arrival and one playout tick per 20 ms, like a steady network."""
    out = []
    for i, s in enumerate(arrivals):
        jb.insert(s, pkt(s), now=t0 + i * F)
        p = jb.pop()
        out.append((p.kind, p.sequence))
    return out + drain(jb, extra_ticks)


def played(out: list[tuple[PlayoutKind, int | None]]) -> list[int]:
    return [s for k, s in out if k is PlayoutKind.PACKET and s is not None]


def test_wraparound_helpers() -> None:
    assert seq_delta(1, 65535) == 2
    assert seq_delta(65535, 1) == -2
    assert seq_newer(0, 65535)
    assert not seq_newer(65535, 0)
    assert seq_delta(0, 2**32 - 1, bits=32) == 1


def test_initial_delay_is_three_frames_then_in_order_playout() -> None:
    jb = JitterBuffer()
    assert jb.target_frames == INITIAL_TARGET_FRAMES
    kinds = []
    for i in range(10):
        jb.insert(i, pkt(i), now=i * F)
        kinds.append(jb.pop().kind)
    assert kinds[:2] == [PlayoutKind.NOTHING] * 2
    assert kinds[2:] == [PlayoutKind.PACKET] * 8


def test_reordered_packets_play_in_order() -> None:
    jb = JitterBuffer()
    order = [0, 2, 1, 3, 5, 4, 6, 7, 9, 8]
    assert played(realtime(jb, order)) == list(range(10))
    assert jb.stats().late == 0


def test_single_loss_uses_fec_from_next_packet() -> None:
    jb = JitterBuffer()
    for s in [0, 1, 2, 4, 5, 6]:
        jb.insert(s, pkt(s), now=s * F)
    out = [jb.pop() for _ in range(6)]
    fec = [p for p in out if p.kind is PlayoutKind.FEC]
    assert len(fec) == 1 and fec[0].sequence == 3 and fec[0].packet == pkt(4)
    assert out[4].kind is PlayoutKind.PACKET and out[4].sequence == 4
    assert jb.stats().fec_recovered == 1 and jb.stats().lost == 1


def test_burst_loss_uses_plc_then_fec() -> None:
    jb = JitterBuffer()
    for s in [0, 1, 2, 6, 7]:
        jb.insert(s, pkt(s), now=s * F)
    kinds = [k for k, _ in drain(jb, 8)]
    assert kinds == [PlayoutKind.PACKET] * 3 + [PlayoutKind.PLC] * 2 + [
        PlayoutKind.FEC,
        PlayoutKind.PACKET,
        PlayoutKind.PACKET,
    ]
    stats = jb.stats()
    assert (stats.lost, stats.plc, stats.fec_recovered) == (3, 2, 1)


def test_duplicates_and_late_packets_are_dropped_and_counted() -> None:
    jb = JitterBuffer()
    for s in range(5):
        jb.insert(s, pkt(s), now=s * F)
    assert not jb.insert(3, pkt(3), now=0.1)
    assert played_sequences(jb, 3) == [0, 1, 2]
    assert not jb.insert(1, pkt(1), now=0.12)  # already played: a duplicate
    assert jb.stats().duplicate == 2
    # A packet whose turn has passed (and is outside the duplicate window) is late.
    jb2 = JitterBuffer()
    realtime(jb2, list(range(100)))
    assert not jb2.insert(20, pkt(20), now=2.5)
    assert jb2.stats().late == 1 and jb2.stats().duplicate == 0


def test_burst_after_stall_is_trimmed_back_toward_target() -> None:
    jb = JitterBuffer()
    realtime(jb, list(range(10)), extra_ticks=0)
    for s in range(10, 40):  # 600 ms stall, then everything at once
        jb.insert(s, pkt(s), now=0.8)
    out = drain(jb, 30)
    assert jb.stats().overflow_dropped > 0
    assert played(out) == sorted(played(out))


def test_sequence_wraparound_16_bit() -> None:
    jb = JitterBuffer()
    seqs = [(65530 + i) & 0xFFFF for i in range(12)]
    assert played(realtime(jb, seqs)) == seqs
    assert jb.stats().late == 0 and jb.stats().lost == 0


def test_sequence_wraparound_32_bit() -> None:
    jb = JitterBuffer(seq_bits=32)
    seqs = [(2**32 - 3 + i) & 0xFFFFFFFF for i in range(6)]
    assert played(realtime(jb, seqs)) == seqs


def test_talker_stopping_gives_nothing_then_rebuffers_next_spurt() -> None:
    jb = JitterBuffer()
    for s in range(5):
        jb.insert(s, pkt(s), now=s * F)
    assert played_sequences(jb, 5) == list(range(5))
    assert jb.pop().kind is PlayoutKind.NOTHING  # ran dry: silence, not PLC
    assert jb.pop().kind is PlayoutKind.NOTHING
    assert jb.stats().plc == 0
    # Next talk spurt, 2 s later (the sender's sequence kept counting time).
    assert played(realtime(jb, list(range(100, 110)), t0=2.0)) == list(range(100, 110))
    assert jb.stats().lost == 0


def test_long_silence_resets_sequence_tracking() -> None:
    jb = JitterBuffer()
    for s in range(3):
        jb.insert(s, pkt(s), now=s * F)
    drain(jb, 4)
    far = 40_000  # beyond half the 16-bit space: ambiguous without a reset
    assert played(realtime(jb, [far + i for i in range(4)], t0=60.0)) == [far + i for i in range(4)]


def test_target_grows_under_jitter_and_settles_without_it() -> None:
    rng = random.Random(7)
    jb = JitterBuffer()
    for s in range(300):
        jb.insert(s, pkt(s), now=s * F + rng.uniform(0, 0.1))  # up to 100 ms jitter
        jb.pop()
    grown = jb.target_frames
    assert grown > INITIAL_TARGET_FRAMES
    assert jb.jitter > 0.01
    for s in range(300, 3000):
        jb.insert(s, pkt(s), now=s * F)
        jb.pop()
    assert jb.target_frames < grown


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(min_value=5, max_value=120),
    start=st.integers(min_value=0, max_value=65535),
    loss=st.floats(min_value=0.0, max_value=0.3),
    dup=st.floats(min_value=0.0, max_value=0.2),
    swap=st.floats(min_value=0.0, max_value=0.3),
    seed=st.integers(min_value=0, max_value=1000),
)
def test_property_playout_is_ordered_unique_and_complete(
    n: int, start: int, loss: float, dup: float, swap: float, seed: int
) -> None:
    """Whatever the network does, frames come out in order, at most once, and
    every packet that arrived in time is played."""
    rng = random.Random(seed)
    sent = [(start + i) & 0xFFFF for i in range(n)]
    # (arrival time, sequence): sent every 20 ms; some lost, some duplicated,
    # some delayed by up to two frames (which reorders them).
    arrivals: list[tuple[float, int]] = []
    for i, s in enumerate(sent):
        if rng.random() < loss:
            continue
        delay = rng.choice([F, 2 * F]) if rng.random() < swap else 0.0
        arrivals.append((i * F + delay, s))
        if rng.random() < dup:
            arrivals.append((i * F + delay + 0.001, s))
    arrivals.sort()
    jb = JitterBuffer()
    out = []
    pending = list(arrivals)
    for tick in range(n + 20):
        now = tick * F + 0.0005
        while pending and pending[0][0] <= now:
            t, s = pending.pop(0)
            jb.insert(s, pkt(s), now=t)
        p = jb.pop()
        out.append((p.kind, p.sequence))
    got = played(out)
    index = {s: i for i, s in enumerate(sent)}
    positions = [index[s] for s in got]
    assert positions == sorted(positions)
    assert len(set(got)) == len(got)
    stats = jb.stats()
    assert stats.received == len(arrivals)
    assert len(got) + stats.late + stats.duplicate + stats.overflow_dropped == len(arrivals)
    assert stats.overflow_dropped == 0  # steady arrivals never build excess depth
    assert stats.duplicate == len(arrivals) - len({s for _, s in arrivals})
    assert stats.buffered == 0  # everything that arrived was played or dropped


def test_a_short_spurt_after_silence_is_not_stuck_waiting_for_depth() -> None:
    jb = JitterBuffer()
    jb.insert(0, pkt(0), now=0.0)  # one lone packet: never reaches 3 frames of depth
    kinds = [k for k, _ in drain(jb, 4)]
    assert PlayoutKind.PACKET in kinds and len(jb) == 0
