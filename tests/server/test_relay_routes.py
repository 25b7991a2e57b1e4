"""The relay follows the core's routes: who may speak, who hears (no permission logic here)."""

from __future__ import annotations

from voip.proto import voip_pb2
from voip.server.relay import Relay


class Peer:
    """An endpoint that records what it was queued (the relay's Endpoint protocol)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.relay_route: tuple[int, int] | None = None
        self.dropped_datagrams = 0
        self.voice_tokens = 0.0
        self.voice_stamp = float("-inf")
        self.queued: list[bytes] = []

    def queue_datagram(self, data: bytes) -> None:
        self.queued.append(data)

    def send_pending(self, now: float) -> None:
        pass


VOICE = voip_pb2.VoiceDatagram(sequence=1, opus=b"\x08" * 30).SerializeToString()


def test_a_silenced_sender_is_dropped_and_counted_apart_from_unauthenticated() -> None:
    relay = Relay(1100, lambda: None)
    talker, listener, stranger = Peer("t"), Peer("l"), Peer("s")
    relay.route(talker, 1, 5, speak=False)
    relay.route(listener, 2, 5)
    relay.on_datagram(talker, VOICE)
    relay.on_datagram(stranger, VOICE)
    assert listener.queued == []
    assert relay.stats.dropped_not_allowed == 1
    assert relay.stats.dropped_unauthenticated == 1
    # silenced, it still hears the room
    relay.on_datagram(listener, VOICE)
    assert len(talker.queued) == 1
    # allowed again
    relay.route(talker, 1, 5, speak=True)
    relay.on_datagram(talker, VOICE)
    assert len(listener.queued) == 1


def test_a_deafened_member_receives_nothing_and_leaving_clears_the_flags() -> None:
    relay = Relay(1100, lambda: None)
    talker, deaf, other = Peer("t"), Peer("d"), Peer("o")
    relay.route(talker, 1, 5)
    relay.route(deaf, 2, 5, speak=False, hear=False)
    relay.route(other, 3, 5)
    relay.on_datagram(talker, VOICE)
    assert deaf.queued == [] and len(other.queued) == 1
    relay.forget(deaf)
    relay.on_datagram(deaf, VOICE)
    assert relay.stats.dropped_unauthenticated == 1 and relay.stats.dropped_not_allowed == 0
