"""The jitter buffer's promises, as properties over random networks, and the
reordering slack around the first packet of a spurt."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voip.audio.jitter import REORDER_SLACK, JitterBuffer, PlayoutKind

F = 0.02


def pkt(seq: int) -> bytes:
    return seq.to_bytes(4, "big")


@settings(max_examples=80, deadline=None)
@given(
    n=st.integers(min_value=5, max_value=150),
    start=st.integers(min_value=0, max_value=2**32 - 1),
    loss=st.floats(min_value=0.0, max_value=0.3),
    dup=st.floats(min_value=0.0, max_value=0.2),
    delay_frames=st.integers(min_value=0, max_value=4),
    seed=st.integers(min_value=0, max_value=10_000),
)
def test_every_packet_that_arrives_before_its_play_tick_is_played(
    n: int, start: int, loss: float, dup: float, delay_frames: int, seed: int
) -> None:
    """A packet that is in the buffer when its frame's turn comes is played,
    never concealed and never counted late; only a packet that arrives after
    its frame was concealed (or passed over) for good counts as late."""
    rng = random.Random(seed)
    mask = 2**32 - 1
    arrivals: list[tuple[float, int]] = []  # (time, wire sequence), sent every 20 ms
    for i in range(n):
        if rng.random() < loss:
            continue
        at = i * F + rng.uniform(0.0, delay_frames * F)  # reorders up to delay_frames
        arrivals.append((at, (start + i) & mask))
        if rng.random() < dup:
            arrivals.append((at + 0.001, (start + i) & mask))
    arrivals.sort()
    first_arrival: dict[int, float] = {}
    for at, s in arrivals:
        first_arrival.setdefault(s, at)

    jb = JitterBuffer()
    pending = list(arrivals)
    last_output: dict[int, tuple[float, PlayoutKind]] = {}  # final decision per frame
    for tick in range(n + 40):
        now = tick * F + 0.0005
        while pending and pending[0][0] <= now:
            at, s = pending.pop(0)
            jb.insert(s, pkt(s), now=at)
        p = jb.pop()
        if p.sequence is not None:
            last_output[p.sequence] = (now, p.kind)

    stats = jb.stats()
    played = {s for s, (_, kind) in last_output.items() if kind is PlayoutKind.PACKET}
    for s, (decided_at, kind) in last_output.items():
        arrived = first_arrival.get(s)
        if arrived is not None and arrived <= decided_at:
            assert kind is PlayoutKind.PACKET, (
                f"frame {s} arrived at {arrived:.4f} before its turn at {decided_at:.4f} "
                f"but was played as {kind.value}"
            )
    # Late packets are only those that came after their frame was decided.
    arrived_after = sum(
        1
        for s, at in first_arrival.items()
        if s not in played and (s not in last_output or at > last_output[s][0])
    )
    assert stats.late <= arrived_after
    # Every packet is accounted for exactly once.
    first_copies = len(first_arrival)
    assert stats.duplicate == len(arrivals) - first_copies
    assert stats.played + stats.late + stats.overflow_dropped == first_copies
    assert stats.played == len(played)


@pytest.mark.parametrize("start", [1000, 3, 2**32 - 2])
def test_packets_reordered_around_the_first_of_a_spurt_are_played(start: int) -> None:
    """The first packet to arrive is not always the spurt's first frame: frames
    sent just before it, arriving after it, still play in order (the slack below
    the first packet), also across the sequence wrap and after a long silence."""
    mask = 2**32 - 1
    jb = JitterBuffer()
    for spurt, t0 in enumerate((0.0, 60.0)):  # the second after a reset-long silence
        base = (start + spurt * 500) & mask
        order = [2, 0, 1, 3, 4, 5, 6, 7]  # frame 2 overtook frames 0 and 1
        assert max(order) < REORDER_SLACK + 3
        for i, k in enumerate(order):
            jb.insert((base + k) & mask, pkt(k), now=t0 + i * 0.001)
        out = [jb.pop() for _ in range(12)]
        got = [p.packet for p in out if p.kind is PlayoutKind.PACKET]
        assert got == [pkt(k) for k in range(8)], spurt
    assert jb.stats().late == 0 and jb.stats().played == 16


def test_without_the_slack_a_packet_before_the_first_would_be_late() -> None:
    """The slack is bounded: a frame more than REORDER_SLACK before the first
    packet is too old to wait for and is counted late."""
    jb = JitterBuffer()
    jb.insert(100, pkt(100), now=0.0)
    assert jb.insert(100 - REORDER_SLACK, pkt(100 - REORDER_SLACK), now=0.001)
    assert not jb.insert(100 - REORDER_SLACK - 1, pkt(0), now=0.002)
    assert jb.stats().late == 1
