"""Jitter buffer: ordering, loss, duplicates, bursts, wraparound, adaptation."""

from __future__ import annotations

import itertools
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from voip.audio.jitter import (
    INITIAL_TARGET_FRAMES,
    UNDERRUN_CONCEAL_FRAMES,
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
    assert seq_delta(1, 65535, 16) == 2
    assert seq_delta(65535, 1, 16) == -2
    assert seq_newer(0, 65535, 16)
    assert not seq_newer(65535, 0, 16)
    assert seq_delta(1, 2**32 - 1) == 2
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
    jb = JitterBuffer(seq_bits=16)
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
    # Ran dry: a frame or two of PLC (it might have been a late frame), then silence.
    tail = [k for k, _ in drain(jb, UNDERRUN_CONCEAL_FRAMES + 3)]
    assert tail[:UNDERRUN_CONCEAL_FRAMES] == [PlayoutKind.PLC] * UNDERRUN_CONCEAL_FRAMES
    assert set(tail[UNDERRUN_CONCEAL_FRAMES:]) == {PlayoutKind.NOTHING}
    assert jb.stats().underruns == 1
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
    jb = JitterBuffer(seq_bits=16)
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
    # Only the delay trimming drops packets, one frame per skip.
    assert stats.overflow_dropped <= stats.skipped
    assert stats.duplicate == len(arrivals) - len({s for _, s in arrivals})
    assert stats.buffered == 0  # everything that arrived was played or dropped


def test_a_short_spurt_after_silence_is_not_stuck_waiting_for_depth() -> None:
    jb = JitterBuffer()
    jb.insert(0, pkt(0), now=0.0)  # one lone packet: never reaches 3 frames of depth
    kinds = [k for k, _ in drain(jb, 4)]
    assert PlayoutKind.PACKET in kinds and len(jb) == 0


def red(seq: int) -> bytes:
    return b"R" + pkt(seq)


def test_redundant_copy_is_preferred_over_fec() -> None:
    jb = JitterBuffer()
    for s in range(6):
        if s != 3:
            jb.insert(s, pkt(s), now=s * F, redundant=red(s - 1) if s else b"")
    out = [jb.pop() for _ in range(8)]
    by_seq = {p.sequence: p for p in out if p.sequence is not None}
    assert by_seq[3].kind is PlayoutKind.REDUNDANT and by_seq[3].packet == red(3)
    assert [by_seq[s].kind for s in (0, 1, 2, 4, 5)] == [PlayoutKind.PACKET] * 5
    assert jb.stats().redundant_recovered == 1 and jb.stats().fec_recovered == 0


def test_without_a_redundant_copy_fec_then_plc() -> None:
    jb = JitterBuffer()
    for s in (0, 1, 4, 5):  # 2 and 3 lost; 4 carries no redundant copy of 3
        jb.insert(s, pkt(s), now=s * F)
    kinds = {p.sequence: p.kind for p in (jb.pop() for _ in range(8))}
    assert kinds[2] is PlayoutKind.PLC and kinds[3] is PlayoutKind.FEC


def test_loss_burst_longer_than_the_buffer_conceals_instead_of_silence() -> None:
    """A burst that empties the buffer mid-spurt: PLC, then the late-resumed
    stream plays on (with its redundant copy), never a silent tick."""
    jb = JitterBuffer(initial_target=1)
    out = []
    for tick in range(30):
        if not 10 <= tick < 13:  # frames 10, 11, 12 lost
            jb.insert(tick, pkt(tick), now=tick * F, redundant=red(tick - 1) if tick else b"")
        out.append(jb.pop())
    spurt = out[out.index(next(p for p in out if p.kind is PlayoutKind.PACKET)):]
    assert PlayoutKind.NOTHING not in [p.kind for p in spurt]
    assert any(p.kind is PlayoutKind.PLC for p in spurt)
    # Frame 12's copy rode in packet 13: played at full quality.
    assert any(p.kind is PlayoutKind.REDUNDANT and p.sequence == 12 for p in spurt)
    audio = (PlayoutKind.PACKET, PlayoutKind.REDUNDANT)
    played_seqs = [p.sequence for p in spurt if p.kind in audio]
    assert played_seqs == sorted(played_seqs)


def test_late_frame_after_an_underrun_still_plays() -> None:
    jb = JitterBuffer(initial_target=1)
    for s in range(5):
        jb.insert(s, pkt(s), now=s * F)
        assert jb.pop().kind is PlayoutKind.PACKET
    assert jb.pop().kind is PlayoutKind.PLC  # frame 5 is late: conceal, hold its place
    jb.insert(5, pkt(5), now=5 * F + 0.025)
    p = jb.pop()
    assert (p.kind, p.sequence) == (PlayoutKind.PACKET, 5)
    assert jb.stats().late == 0 and jb.stats().stretched == 1


def test_target_shrinks_on_a_clean_link_and_the_delay_follows() -> None:
    jb = JitterBuffer()
    assert jb.target_frames == INITIAL_TARGET_FRAMES
    depths = []
    for s in range(500):
        jb.insert(s, pkt(s), now=s * F)
        jb.pop()
        depths.append(len(jb))
    assert jb.target_frames == 1
    assert depths[-1] == 0  # each packet plays at the first tick after it arrives
    assert jb.stats().lost == 0 and jb.stats().plc == 0


def test_delay_is_trimmed_one_frame_at_a_time() -> None:
    jb = JitterBuffer(initial_target=8)
    out = realtime(jb, list(range(600)))
    seqs = played(out)
    gaps = [b - a for a, b in itertools.pairwise(seqs)]
    assert max(gaps) == 2  # frames were skipped, never two in a row
    assert sum(g - 1 for g in gaps) == jb.stats().skipped > 0
    assert PlayoutKind.PLC not in [k for k, _ in out[: len(out) - 10]]


def test_target_grows_under_jitter_after_a_clean_link() -> None:
    rng = random.Random(3)
    jb = JitterBuffer()
    for s in range(300):
        jb.insert(s, pkt(s), now=s * F)
        jb.pop()
    assert jb.target_frames == 1
    for s in range(300, 600):
        jb.insert(s, pkt(s), now=s * F + abs(rng.gauss(0, 0.03)))
        jb.pop()
    assert jb.target_frames >= 3


def test_losses_keep_the_next_packet_at_hand() -> None:
    jb = JitterBuffer()
    for s in range(300):
        jb.insert(s, pkt(s), now=s * F)
        jb.pop()
    assert jb.target_frames == 1 and not jb.lossy
    kinds = []
    for s in range(300, 700):
        if s % 10 != 5:
            jb.insert(s, pkt(s), now=s * F)
        kinds.append(jb.pop().kind)
    assert jb.lossy and jb.target_frames == 2
    assert kinds[-200:].count(PlayoutKind.FEC) == 20  # the next packet was there for each loss
    assert PlayoutKind.PLC not in kinds[-200:]


def test_end_marker_stops_the_spurt_without_concealment() -> None:
    jb = JitterBuffer()
    out = realtime(jb, list(range(10)), extra_ticks=0)
    jb.end(9, now=10 * F)
    out += drain(jb, 20)
    assert played(out) == list(range(10))
    # After the last frame: silence at once, no PLC fade, no target growth.
    assert [k for k, _ in out[out.index((PlayoutKind.PACKET, 9)) + 1 :]] == [
        PlayoutKind.NOTHING
    ] * (len(out) - out.index((PlayoutKind.PACKET, 9)) - 1)
    stats = jb.stats()
    assert stats.plc == 0 and stats.underruns == 0 and stats.lost == 0
    assert stats.ended == 1
    assert jb.ended_spurt and not jb.playing


def test_without_end_marker_the_spurt_fades_through_plc() -> None:
    jb = JitterBuffer()
    out = realtime(jb, list(range(10)), extra_ticks=20)
    assert [k for k, _ in out].count(PlayoutKind.PLC) == UNDERRUN_CONCEAL_FRAMES
    assert not jb.ended_spurt


def test_end_marker_arriving_after_the_underrun_began_stops_it() -> None:
    jb = JitterBuffer(initial_target=1)
    out = realtime(jb, list(range(5)), extra_ticks=0)
    assert played(out) == list(range(5))
    assert jb.pop().kind is PlayoutKind.PLC  # the marker is late: one tick concealed
    jb.end(4, now=5.5 * F)
    assert drain(jb, 5) == [(PlayoutKind.NOTHING, None)] * 5
    assert jb.stats().lost == 0 and jb.stats().ended == 1


def test_next_spurt_after_an_end_marker_plays_and_clears_it() -> None:
    jb = JitterBuffer(initial_target=1)
    realtime(jb, list(range(5)), extra_ticks=0)
    jb.end(4, now=5 * F)
    assert jb.pop().kind is PlayoutKind.NOTHING
    # A pause of 5 frames (DTX), then the next spurt from sequence 10.
    for _ in range(4):
        assert jb.pop().kind is PlayoutKind.NOTHING
    out = realtime(jb, list(range(10, 15)), t0=10 * F, extra_ticks=0)
    assert played(out) == list(range(10, 15))
    assert not jb.ended_spurt
    assert jb.target_frames == 1  # a pause is not lateness


def test_end_marker_with_a_lost_last_frame_conceals_only_that_frame() -> None:
    jb = JitterBuffer(initial_target=1)
    realtime(jb, list(range(5)), extra_ticks=0)
    jb.end(5, now=6 * F)  # frame 5 was sent but lost
    out = drain(jb, 4)
    assert out[0] == (PlayoutKind.PLC, 5)
    assert [k for k, _ in out[1:]] == [PlayoutKind.NOTHING] * 3
    assert jb.stats().lost == 1


def test_a_short_spurt_with_its_end_known_starts_without_waiting_for_the_target() -> None:
    jb = JitterBuffer()  # initial target 3
    jb.insert(0, pkt(0), now=0.0)
    jb.end(0, now=0.001)
    assert jb.pop().kind is PlayoutKind.PACKET


def test_stale_end_marker_of_an_earlier_spurt_is_ignored() -> None:
    jb = JitterBuffer(initial_target=1)
    realtime(jb, list(range(5)), extra_ticks=0)
    jb.insert(8, pkt(8), now=8 * F)
    jb.end(4, now=8.1 * F)  # reordered behind the next spurt's first packet
    out = drain(jb, 6)
    assert 8 in played(out)


def test_a_loss_at_a_one_frame_target_is_a_loss_not_lateness() -> None:
    """Packets arriving just after each tick: a lost one first looks late.

    The buffer stretches (conceals) for the missing frame; when the next packet
    shows it was lost, the buffer keeps the 2-frame lossy floor but does not
    keep growing, so each loss does not add a frame of delay, and later losses
    are restored from the following packet's redundant copy, not concealed.
    """
    jb = JitterBuffer()
    for s in range(300):
        jb.pop()
        jb.insert(s, pkt(s), now=s * F + 0.001, redundant=pkt(s - 1) if s else b"")
    assert jb.target_frames == 1
    kinds = []
    for s in range(300, 900):
        kinds.append(jb.pop().kind)
        if s % 10 != 5:
            jb.insert(s, pkt(s), now=s * F + 0.001, redundant=pkt(s - 1))
    assert jb.target_frames == 2
    assert len(jb) <= 3  # the delay did not pile up a frame per loss
    assert kinds[-300:].count(PlayoutKind.REDUNDANT) == 30
    assert PlayoutKind.PLC not in kinds[-300:]
    assert jb.stats().plc == 1  # only the first loss, before the floor was known
