"""ServerCore driven directly: no sockets, no threads, no clocks."""

from __future__ import annotations

import hashlib

import pytest
from nacl.signing import SigningKey
from voip_tests_core_harness import FP, NOW, Harness, Peer, snapshot

from voip.proto import voip_pb2
from voip.protocol.handshake import make_hello
from voip.protocol.state import Room, state_hash
from voip.server.core import CoreSettings, ServerCore
from voip.server.records import UserRecord
from voip.server.session_state import SessionState


def test_auth_success_welcome_snapshot_and_join_notice() -> None:
    h = Harness()
    a = h.open(1, name="alice")
    assert a.kinds() == ["welcome", "server_state", "permissions"]
    assert a.inbox[0].welcome.user_id == 1
    assert a.inbox[0].welcome.root_room_id == 1
    assert a.inbox[0].welcome.max_chat_length == 5000
    assert a.state is not None and a.state.users[1].name == "alice"
    a.take()
    b = h.open(2, name="bob")
    assert b.user_id == 2
    assert a.kinds() == ["state_update"]
    assert a.inbox[0].state_update.user_joined.user.name == "bob"
    assert a.state == b.state
    assert h.routes == {1: 1, 2: 1}
    assert h.core.session_state(2) is SessionState.AUTHENTICATED
    new_user = [p.change for p in h.persisted if p.change.next_user_id]
    assert [c.users[0].name for c in new_user] == ["alice", "bob"]


@pytest.mark.parametrize(
    ("hello", "password", "code"),
    [
        ({"protocol_version": 2}, "pw", voip_pb2.PROTOCOL_VERSION),
        ({}, "wrong", voip_pb2.WRONG_PASSWORD),
        ({"fingerprint": hashlib.sha256(b"other cert").digest()}, "pw", voip_pb2.BAD_SIGNATURE),
        ({"signature": b"\x00" * 64}, "pw", voip_pb2.BAD_SIGNATURE),
        ({"public_key": b"short"}, "pw", voip_pb2.MALFORMED_MESSAGE),
        ({"name": ""}, "pw", voip_pb2.INVALID_NAME),
    ],
)
def test_auth_failures_send_error_then_close(
    hello: dict[str, object], password: str, code: int
) -> None:
    h = Harness(password="pw")
    watcher = h.open(9, password="pw")
    watcher.take()
    p = h.open(1, password=password, **hello)
    assert p.kinds() == ["error"]
    assert p.inbox[0].error.code == code
    assert p.closed is not None and p.closed.code == code
    assert h.core.session_state(1) is SessionState.CLOSED
    assert watcher.inbox == []  # nobody else hears about a failed login
    assert h.core.user_of(1) is None


def test_requests_before_auth_are_refused_without_closing() -> None:
    h = Harness()
    h.peers[1] = p = Peer(1)
    h.dispatch(h.core.connect(1, FP))
    h.dispatch(h.core.open_stream(1))
    p.take()
    answer = h.request(1, 5, join_room=voip_pb2.JoinRoom(room_id=1))
    assert answer.error.code == voip_pb2.NOT_AUTHENTICATED
    assert p.closed is None


def test_empty_envelopes_are_keepalives() -> None:
    h = Harness()
    a = h.open(1)
    a.take()
    assert h.core.receive(1, voip_pb2.Envelope(), NOW) == []


def test_server_only_payload_is_a_violation() -> None:
    h = Harness()
    a, b = h.open(1), h.open(2)
    a.take(), b.take()
    h.dispatch(h.core.receive(1, voip_pb2.Envelope(welcome=voip_pb2.Welcome()), NOW))
    assert a.kinds() == ["error"] and a.inbox[0].error.code == voip_pb2.MALFORMED_MESSAGE
    assert a.closed is not None
    assert b.kinds() == ["state_update"] and b.inbox[0].state_update.HasField("user_left")
    assert h.routes[1] is None


def test_second_hello_is_a_violation() -> None:
    h = Harness()
    a = h.open(1)
    a.take()
    h.dispatch(h.core.receive(1, voip_pb2.Envelope(client_hello=voip_pb2.ClientHello()), NOW))
    assert a.closed is not None and a.closed.code == voip_pb2.MALFORMED_MESSAGE


def test_room_lifecycle_updates_reach_everyone_before_the_ack() -> None:
    h = Harness()
    a, b = h.open(1), h.open(2)
    a.take(), b.take()
    ack = h.request(1, 10, create_room=voip_pb2.CreateRoom(parent_id=1, name="Games"))
    assert ack.HasField("ack")
    # update first, then the new room's permissions, then the ack
    assert a.kinds() == ["state_update", "permissions", "ack"]
    assert b.kinds() == ["state_update", "permissions"]
    room_id = b.inbox[0].state_update.room_created.room.id
    assert room_id == 2
    h.request(2, 11, create_room=voip_pb2.CreateRoom(parent_id=room_id, name="Chess"))
    assert h.request(1, 12, join_room=voip_pb2.JoinRoom(room_id=room_id)).HasField("ack")
    assert h.routes[1] == room_id
    assert h.request(1, 13, join_room=voip_pb2.JoinRoom(room_id=room_id)).error.code == (
        voip_pb2.ALREADY_IN_ROOM
    )
    h.request(1, 14, rename_room=voip_pb2.RenameRoom(room_id=room_id, name="Board games"))
    assert a.state is not None and a.state.rooms[room_id].name == "Board games"
    # delete with a user and a child room inside: both move to the parent
    assert h.request(1, 15, delete_room=voip_pb2.DeleteRoom(room_id=room_id)).HasField("ack")
    assert a.state == b.state == h.core.state
    assert a.state.users[1].room_id == 1
    assert a.state.rooms[3].parent_id == 1
    assert h.routes[1] == 1
    deleted = [p.change for p in h.persisted if p.change.deleted_rooms]
    assert deleted[0].deleted_rooms == (room_id,) and deleted[0].rooms == (Room(3, "Chess", 1),)


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"delete_room": voip_pb2.DeleteRoom(room_id=1)}, voip_pb2.ROOT_ROOM),
        ({"delete_room": voip_pb2.DeleteRoom(room_id=99)}, voip_pb2.UNKNOWN_ROOM),
        ({"join_room": voip_pb2.JoinRoom(room_id=99)}, voip_pb2.UNKNOWN_ROOM),
        ({"rename_room": voip_pb2.RenameRoom(room_id=99, name="x")}, voip_pb2.UNKNOWN_ROOM),
        ({"set_display_name": voip_pb2.SetDisplayName(name=" x")}, voip_pb2.INVALID_NAME),
        ({"create_room": voip_pb2.CreateRoom(parent_id=99, name="x")}, voip_pb2.UNKNOWN_ROOM),
        ({"create_room": voip_pb2.CreateRoom(parent_id=0, name="x")}, voip_pb2.UNKNOWN_ROOM),
        ({"create_room": voip_pb2.CreateRoom(parent_id=1, name="")}, voip_pb2.INVALID_NAME),
        ({"create_room": voip_pb2.CreateRoom(parent_id=1, name="a\nb")}, voip_pb2.INVALID_NAME),
        ({"set_display_name": voip_pb2.SetDisplayName(name="x" * 65)}, voip_pb2.INVALID_NAME),
        ({"send_chat": voip_pb2.SendChat(text="x" * 5001)}, voip_pb2.CHAT_TOO_LONG),
        ({"send_chat": voip_pb2.SendChat(text="  ")}, voip_pb2.MALFORMED_MESSAGE),
    ],
)
def test_request_errors_echo_request_id_and_change_nothing(
    payload: dict[str, object], code: int
) -> None:
    h = Harness()
    a, b = h.open(1), h.open(2)
    a.take(), b.take()
    before = h.core.state
    answer = h.request(1, 77, **payload)
    assert answer.error.code == code and answer.error.message
    assert h.core.state == before
    assert b.inbox == [] and a.closed is None


def test_chat_goes_to_the_room_only_with_echo() -> None:
    h = Harness()
    a, b, c = h.open(1, name="alice"), h.open(2), h.open(3)
    h.request(3, 1, create_room=voip_pb2.CreateRoom(parent_id=1, name="Away"))
    h.request(3, 2, join_room=voip_pb2.JoinRoom(room_id=2))
    for p in (a, b, c):
        p.take()
    h.now = NOW + 1.5
    h.request(1, 3, send_chat=voip_pb2.SendChat(text="hi"))
    assert a.kinds() == ["chat_message", "ack"]
    assert b.kinds() == ["chat_message"] and c.kinds() == []
    msg = b.inbox[0].chat_message
    assert (msg.sender_id, msg.sender_name, msg.room_id, msg.text) == (1, "alice", 1, "hi")
    assert msg.server_time_ms == int((NOW + 1.5) * 1000)
    assert h.request(1, 4, send_chat=voip_pb2.SendChat(text="x" * 5000)).HasField("ack")


def test_resync_sends_snapshot_then_ack() -> None:
    h = Harness()
    a = h.open(1)
    a.take()
    h.request(1, 4, resync_request=voip_pb2.ResyncRequest())
    assert a.kinds() == ["server_state", "ack"]
    assert a.inbox[0].state_hash == state_hash(h.core.state)


def test_display_name_change_is_broadcast_and_persisted() -> None:
    h = Harness()
    a, b = h.open(1, name="alice"), h.open(2)
    a.take(), b.take()
    assert h.request(1, 1, set_display_name=voip_pb2.SetDisplayName(name="Alice")).HasField("ack")
    assert b.inbox[0].state_update.user_renamed.name == "Alice"
    assert h.persisted[-1].change.users[0].name == "Alice"


def test_same_key_gets_same_id_and_replaces_live_session() -> None:
    h = Harness()
    a, b = h.open(1), h.open(2)
    a.take(), b.take()
    # same key again on a new session
    h.peers[3] = again = Peer(3, key=a.key)
    h.dispatch(h.core.connect(3, FP))
    h.dispatch(h.core.open_stream(3))
    challenge = again.take()[0].challenge
    hello = make_hello(
        challenge=challenge,
        cert_fingerprint=FP,
        public_key=bytes(a.key.verify_key),
        sign=lambda d: bytes(a.key.sign(d).signature),
        display_name="alice2",
        password="",
    )
    h.dispatch(h.core.receive(3, voip_pb2.Envelope(client_hello=hello), NOW))
    assert again.inbox[0].welcome.user_id == 1
    assert a.kinds() == ["goodbye"] and a.inbox[0].goodbye.code == voip_pb2.ALREADY_CONNECTED
    assert a.closed is not None and a.closed.code == voip_pb2.ALREADY_CONNECTED
    assert [e.state_update.WhichOneof("change") for e in b.inbox] == ["user_left", "user_joined"]
    assert b.state == again.state
    assert h.routes[1] is None and h.routes[3] == 1
    # the late disconnect of the replaced session changes nothing
    b.take()
    assert h.dispatch(h.core.disconnect(1, NOW)) == []
    assert b.inbox == []


def test_known_users_keep_their_ids_from_the_snapshot() -> None:
    key = SigningKey.generate()
    record = UserRecord(41, bytes(key.verify_key), "old", created_ms=1, last_seen_ms=1)
    core = ServerCore(CoreSettings(), snapshot((record,)))
    h = Harness(core)
    h.peers[1] = p = Peer(1, key=key)
    h.dispatch(core.connect(1, FP))
    h.dispatch(core.open_stream(1))
    hello = make_hello(
        challenge=p.take()[0].challenge,
        cert_fingerprint=FP,
        public_key=bytes(key.verify_key),
        sign=lambda d: bytes(key.sign(d).signature),
        display_name="new name",
        password="",
    )
    h.dispatch(core.receive(1, voip_pb2.Envelope(client_hello=hello), NOW))
    assert p.inbox[0].welcome.user_id == 41
    assert h.persisted[-1].change.users[0].name == "new name"
    assert h.persisted[-1].change.next_user_id is None
    assert h.open(2).user_id == 42


def test_disconnect_broadcasts_user_left_and_persists_last_seen() -> None:
    h = Harness()
    a, b = h.open(1), h.open(2)
    a.take(), b.take()
    h.dispatch(h.core.disconnect(1, NOW + 60))
    assert b.inbox[0].state_update.user_left.user_id == 1
    assert h.persisted[-1].change.users[0].last_seen_ms == int((NOW + 60) * 1000)
    assert h.routes[1] is None
    assert h.core.session_state(1) is None


def test_shutdown_says_goodbye_to_everyone() -> None:
    h = Harness()
    a, b = h.open(1), h.open(2)
    h.peers[3] = pending = Peer(3)
    h.dispatch(h.core.connect(3, FP))
    a.take(), b.take()
    h.dispatch(h.core.shutdown(NOW))
    for p in (a, b):
        assert p.kinds() == ["goodbye"]
        assert p.inbox[0].goodbye.code == voip_pb2.SERVER_SHUTDOWN
    # No control stream yet: nothing can be sent to it, the QUIC close is the goodbye.
    assert pending.kinds() == []
    for p in (a, b, pending):
        assert p.closed is not None and p.closed.code == voip_pb2.SERVER_SHUTDOWN


def test_state_hash_agreement_after_many_changes() -> None:
    h = Harness()
    peers = [h.open(i) for i in range(1, 4)]
    h.request(1, 1, create_room=voip_pb2.CreateRoom(parent_id=1, name="A"))
    h.request(2, 2, create_room=voip_pb2.CreateRoom(parent_id=2, name="B"))
    h.request(3, 3, join_room=voip_pb2.JoinRoom(room_id=3))
    h.request(1, 4, join_room=voip_pb2.JoinRoom(room_id=2))
    h.request(2, 5, rename_room=voip_pb2.RenameRoom(room_id=3, name="Bee"))
    h.request(1, 6, delete_room=voip_pb2.DeleteRoom(room_id=2))
    h.request(3, 7, set_display_name=voip_pb2.SetDisplayName(name="carol"))
    h.dispatch(h.core.disconnect(2, NOW))
    for p in (peers[0], peers[2]):
        assert p.state == h.core.state
