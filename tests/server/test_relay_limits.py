"""The relay's abuse rules, with a hand-driven clock (docs/PROTOCOL.md, "Voice")."""

from __future__ import annotations

from voip.proto import voip_pb2
from voip.server.relay import Relay


class Peer:
    """An endpoint that records what it was queued (the relay's Endpoint protocol)."""

    def __init__(self) -> None:
        self.relay_route: tuple[int, int] | None = None
        self.dropped_datagrams = 0
        self.voice_tokens = 0.0
        self.voice_stamp = float("-inf")
        self.queued: list[bytes] = []

    def queue_datagram(self, data: bytes) -> None:
        self.queued.append(data)

    def send_pending(self, now: float) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def room(**rates: float) -> tuple[Relay, Clock, Peer, Peer]:
    clock = Clock()
    relay = Relay(1100, lambda: None, clock=clock, **rates)  # type: ignore[arg-type]
    talker, listener = Peer(), Peer()
    relay.route(talker, 1, 5)
    relay.route(listener, 2, 5)
    return relay, clock, talker, listener


def datagram(sequence: int, opus: bytes = b"\x01" * 80, **fields: object) -> bytes:
    return voip_pb2.VoiceDatagram(sequence=sequence, opus=opus, **fields).SerializeToString()  # type: ignore[arg-type]


def test_a_talker_above_the_voice_rate_is_cut_down_to_it() -> None:
    relay, clock, talker, listener = room(voice_burst=30, voice_per_second=60)
    for i in range(2000):  # 2000 datagrams in one second
        clock.now += 0.0005
        relay.on_datagram(talker, datagram(i))
    assert 30 + 55 <= len(listener.queued) <= 30 + 61  # the burst, then 60 a second
    assert relay.stats.dropped_rate == 2000 - len(listener.queued)


def test_a_talker_at_50_a_second_loses_nothing() -> None:
    relay, clock, talker, listener = room(voice_burst=30, voice_per_second=60)
    for i in range(500):  # 10 s of voice, with a 300 ms stall caught up in a burst
        clock.now += 0.0 if 100 <= i % 250 < 115 else 0.020
        relay.on_datagram(talker, datagram(i))
    assert len(listener.queued) == 500 and relay.stats.dropped_rate == 0


def test_the_size_rules_apply_to_what_the_client_sent() -> None:
    relay, _clock, talker, listener = room()
    # 1100 bytes: 990 of Opus plus an unknown field the relay does not pass on.
    padded = datagram(1, opus=b"\x02" * 990) + bytes([0x4A, 0x67]) + b"\x00" * 103
    assert len(padded) == 1100
    relay.on_datagram(talker, padded)
    (out,) = listener.queued
    relayed = voip_pb2.VoiceDatagram.FromString(out)
    assert (relayed.sender_id, relayed.room_id, len(relayed.opus)) == (1, 5, 990)
    assert relayed.SerializeToString() == out and len(out) < 1100
    relay.on_datagram(talker, padded + b"\x00")  # 1101 bytes
    assert relay.stats.dropped_oversized == 1
    both = datagram(2, opus=b"\x03" * 600, redundant_opus=b"\x04" * 401)  # 1001 of Opus
    relay.on_datagram(talker, both)
    assert relay.stats.dropped_malformed == 1 and len(listener.queued) == 1
