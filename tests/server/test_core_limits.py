"""The core's limits and the document's choices, driven in memory (docs/PROTOCOL.md)."""

from __future__ import annotations

from voip_tests_core_harness import FP, NOW, Harness, snapshot

from voip.proto import voip_pb2 as pb
from voip.server.core import Close, CoreSettings, ServerCore
from voip.server.limits import Limits, TokenBucket
from voip.server.records import Snapshot

TOKEN = "token"


def harness(**limits: object) -> Harness:
    snap = snapshot()
    snap = Snapshot(snap.users, snap.rooms, snap.next_user_id, snap.next_room_id, admin_token=TOKEN)
    return Harness(ServerCore(CoreSettings(limits=Limits(**limits)), snap))  # type: ignore[arg-type]


def test_token_bucket_refills_at_its_rate() -> None:
    bucket = TokenBucket(2, 1.0, now=0.0)
    assert bucket.take(0.0) == 0.0 and bucket.take(0.0) == 0.0
    assert abs(bucket.take(0.0) - 1.0) < 1e-9  # empty: one second to the next token
    assert abs(bucket.take(0.5) - 0.5) < 1e-9
    assert bucket.take(1.0) == 0.0
    assert bucket.take(100.0) == 0.0 and bucket.take(100.0) == 0.0  # capped at the burst
    assert bucket.take(100.0) > 0


def test_request_id_zero_and_empty_requests_get_one_error_and_stay_open() -> None:
    h = harness()
    h.open(1)
    h.peers[1].take()
    h.dispatch(h.core.receive(1, pb.Envelope(send_chat=pb.SendChat(text="hi")), NOW))
    (error,) = h.peers[1].take()
    assert error.request_id == 0 and error.error.code == pb.MALFORMED_MESSAGE
    assert "request_id 0" in error.error.message
    assert not any(e.HasField("chat_message") for e in h.peers[1].inbox)
    empty = h.request(1, 7)
    assert empty.error.code == pb.MALFORMED_MESSAGE
    assert h.peers[1].closed is None


def test_an_unknown_payload_closes_with_malformed_message() -> None:
    h = harness()
    h.open(1)
    h.peers[1].take()
    env = pb.Envelope()
    env.ParseFromString(bytes([0x10, 0x05, 0xA2, 0x06, 0x00]))  # request 5, field 100
    h.dispatch(h.core.receive(1, env, NOW))
    (error,) = h.peers[1].take()
    assert error.error.code == pb.MALFORMED_MESSAGE
    assert h.peers[1].closed is not None and h.peers[1].closed.reason == error.error.message


def test_names_are_nfc_and_invisible_characters_are_refused() -> None:
    h = harness()
    h.open(1, name="Ame\u0301lie")  # e + combining acute
    assert h.core.state.users[h.peers[1].user_id].name == "Amélie"  # one code point
    for rid, bad in enumerate(("a\u202eb", "a\u200bb", "\ufeffx", "x\x9b[31m", "a\u3164b"), 20):
        answer = h.request(1, rid, set_display_name=pb.SetDisplayName(name=bad))
        assert answer.error.code == pb.INVALID_NAME, bad
    made = h.request(1, 11, create_room=pb.CreateRoom(parent_id=1, name="Cafe\u0301"))
    assert made.HasField("ack")
    assert "Café" in {r.name for r in h.core.state.rooms.values()}


def test_room_tree_limits() -> None:
    h = harness(max_rooms=4, max_room_depth=2, max_users_per_room=1, room_ops_burst=100)
    h.open(1)
    h.open(2)
    assert h.request(1, 1, create_room=pb.CreateRoom(parent_id=1, name="a")).HasField("ack")
    a = max(h.core.state.rooms)
    assert h.request(1, 2, create_room=pb.CreateRoom(parent_id=a, name="b")).HasField("ack")
    b = max(h.core.state.rooms)
    deep = h.request(1, 3, create_room=pb.CreateRoom(parent_id=b, name="c"))
    assert deep.error.code == pb.LIMIT_REACHED and "2 deep" in deep.error.message
    assert h.request(1, 4, create_room=pb.CreateRoom(parent_id=1, name="d")).HasField("ack")
    full = h.request(1, 5, create_room=pb.CreateRoom(parent_id=1, name="e"))
    assert full.error.code == pb.LIMIT_REACHED and "4 rooms" in full.error.message
    assert h.request(1, 6, join_room=pb.JoinRoom(room_id=a)).HasField("ack")
    crowded = h.request(2, 7, join_room=pb.JoinRoom(room_id=a))
    assert crowded.error.code == pb.LIMIT_REACHED
    assert h.core.refused["limit_reached"] == 3


def test_renaming_the_root_renames_the_server() -> None:
    h = harness()
    h.open(1)
    assert h.request(1, 1, redeem_admin_token=pb.RedeemAdminToken(token=TOKEN)).HasField("ack")
    renamed = h.request(1, 2, rename_room=pb.RenameRoom(room_id=1, name="Our place"))
    assert renamed.HasField("ack")
    newcomer = h.open(2)
    welcome = next(e for e in newcomer.inbox if e.HasField("welcome"))
    assert welcome.welcome.server_name == "Our place"
    h.dispatch(h.core.connect(3, FP, NOW))
    h.peers[3] = type(newcomer)(3)
    h.dispatch(h.core.open_stream(3))
    assert h.peers[3].inbox[-1].challenge.server_name == "Our place"


def test_admission_caps_and_the_autoban() -> None:
    core = ServerCore(
        CoreSettings(
            password="pw",
            limits=Limits(
                max_unauthenticated_per_address=2, autoban_attempts=2, autoban_seconds=60
            ),
        ),
        snapshot(),
    )
    assert core.connect(1, FP, NOW, "192.0.2.1") == []
    assert core.connect(2, FP, NOW, "192.0.2.1") == []
    (refused,) = core.connect(3, FP, NOW, "192.0.2.1")
    assert isinstance(refused, Close) and refused.code == pb.SERVER_FULL
    assert core.connect(4, FP, NOW, "198.51.100.9") == []  # another address is not affected
    for sid in (1, 2):  # two wrong passwords from 192.0.2.1
        core.open_stream(sid, bytes(32))
        hello = pb.ClientHello(protocol_version=1, display_name="x", public_key=bytes(32),
                               password="no", signature=bytes(64))
        core.receive(sid, pb.Envelope(client_hello=hello), NOW)
    (banned,) = core.connect(5, FP, NOW + 1, "192.0.2.1")
    assert isinstance(banned, Close) and banned.code == pb.ADDRESS_BANNED
    assert "59 s" in banned.reason
    assert core.connect(6, FP, NOW + 61, "192.0.2.1") == []  # the ban expired
    assert core.auth_failures == {"WRONG_PASSWORD": 2}
