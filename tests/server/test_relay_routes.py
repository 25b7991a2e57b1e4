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


def test_the_relay_stamps_the_real_sender_and_room_over_forged_ones() -> None:
    """A client claims another user's id and another room: listeners see the truth,
    the bytes are serialized once for all of them, and the forged room hears nothing."""
    relay = Relay(1100, lambda: None)
    mallory, alice, bob, elsewhere = Peer("m"), Peer("a"), Peer("b"), Peer("e")
    relay.route(mallory, 66, 5)
    relay.route(alice, 1, 5)
    relay.route(bob, 2, 5)
    relay.route(elsewhere, 3, 9)
    forged = voip_pb2.VoiceDatagram(
        sender_id=1, room_id=9, sequence=4, opus=b"\x08" * 30, capture_time_us=77
    ).SerializeToString()
    relay.on_datagram(mallory, forged)
    assert elsewhere.queued == [] and mallory.queued == []
    assert alice.queued == bob.queued and len(alice.queued) == 1
    assert alice.queued[0] is bob.queued[0]  # one serialization for every recipient
    heard = voip_pb2.VoiceDatagram.FromString(alice.queued[0])
    assert (heard.sender_id, heard.room_id) == (66, 5)
    assert (heard.sequence, heard.capture_time_us, heard.opus) == (4, 77, b"\x08" * 30)
