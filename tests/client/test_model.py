"""The state owner's logic (ClientModel) without actors: updates, hashes, resync, errors."""

from __future__ import annotations

from voip.client.model import ClientModel, room_views
from voip.client.state import (
    MAX_CHAT_LINES,
    AudioState,
    Connected,
    ConnectionLost,
    Disconnected,
)
from voip.proto import voip_pb2
from voip.protocol.state import Room, StateModel, UserInfo, apply_change, state_hash


def server_model() -> StateModel:
    return StateModel.build(
        [Room(1, "Root", 0), Room(2, "b-room", 1), Room(3, "A-room", 1), Room(4, "sub", 2)],
        [UserInfo(10, "zed", 1), UserInfo(11, "amy", 2)],
    )


def connected_model() -> ClientModel:
    model = ClientModel()
    model.set_connection(Connected("Lobby", 11))
    server = server_model()
    model.server_state(server.to_proto(), state_hash(server))
    return model


def update_room_created(room_id: int, parent: int, name: str) -> voip_pb2.StateUpdate:
    return voip_pb2.StateUpdate(
        room_created=voip_pb2.RoomCreated(
            room=voip_pb2.RoomInfo(id=room_id, name=name, parent_id=parent)
        )
    )


def test_snapshot_tree_order_and_me() -> None:
    state = connected_model().snapshot
    assert [(r.name, r.depth) for r in state.rooms] == [
        ("Root", 0),
        ("A-room", 1),
        ("b-room", 1),
        ("sub", 2),
    ]
    assert state.my_user_id == 11 and state.my_room_id == 2
    assert state.me is not None and state.me.is_me and state.me.name == "amy"
    assert [u.name for u in state.users_in(1)] == ["zed"]
    assert [r.name for r in state.children(1)] == ["A-room", "b-room"]
    assert next((room.name, len(users)) for room, users in state.room_tree()) == ("Root", 1)


def test_update_with_matching_hash_applies_and_bumps_version() -> None:
    model = connected_model()
    before = model.snapshot
    update = update_room_created(5, 1, "new")
    expected = state_hash(apply_change(model.server_model, update))
    assert model.state_update(update, expected) is False
    after = model.snapshot
    assert after.version > before.version
    assert after.find_room("new") is not None


def test_hash_mismatch_asks_for_resync_and_drops_updates_until_snapshot() -> None:
    model = connected_model()
    update = update_room_created(5, 1, "new")
    assert model.state_update(update, b"\x00" * 32) is True
    assert model.awaiting_resync and model.snapshot.resync_count == 1
    # Updates while waiting are covered by the coming snapshot: dropped quietly.
    assert model.state_update(update_room_created(6, 1, "x"), b"\x01" * 32) is False
    fresh = StateModel.build([*server_model().rooms.values(), Room(5, "new", 1)])
    model.server_state(fresh.to_proto(), state_hash(fresh))
    assert not model.awaiting_resync
    assert model.snapshot.find_room("new") is not None


def test_invalid_update_is_treated_like_a_mismatch() -> None:
    model = connected_model()
    bad = voip_pb2.StateUpdate(user_left=voip_pb2.UserLeft(user_id=999))
    assert model.state_update(bad, b"") is True


def test_corrupted_copy_fails_the_next_hash_check() -> None:
    model = connected_model()
    update = update_room_created(5, 1, "new")
    expected = state_hash(apply_change(model.server_model, update))
    model.corrupt_for_test()
    assert model.state_update(update, expected) is True


def test_full_state_with_wrong_hash_is_kept_but_reported() -> None:
    model = ClientModel()
    model.set_connection(Connected("Lobby", 10))
    model.server_state(server_model().to_proto(), b"\x02" * 32)
    assert model.snapshot.rooms and model.snapshot.errors[-1].code == "PROTOCOL"


def test_leaving_connected_forgets_the_server_state_and_adds_a_line() -> None:
    model = connected_model()
    model.set_connection(ConnectionLost("the server went away"))
    state = model.snapshot
    assert state.rooms == () and state.users == () and state.my_user_id is None
    assert state.chat[-1].local and "the server went away" in state.chat[-1].text
    model.set_connection(Disconnected())
    assert isinstance(model.snapshot.connection, Disconnected)


def test_errors_have_increasing_ids_and_can_be_dismissed() -> None:
    model = ClientModel()
    first = model.add_error("NOT_CONNECTED", "not connected", "JoinRoom")
    second = model.add_error("UNKNOWN_ROOM", "no such room", "JoinRoom")
    assert second.id > first.id
    model.dismiss_error(first.id)
    assert [e.id for e in model.snapshot.errors] == [second.id]
    version = model.snapshot.version
    model.dismiss_error(12345)  # unknown id: no change, no new version
    assert model.snapshot.version == version


def test_chat_is_bounded() -> None:
    model = connected_model()
    for i in range(MAX_CHAT_LINES + 20):
        model.chat(voip_pb2.ChatMessage(sender_id=10, sender_name="zed", room_id=1, text=str(i)))
    chat = model.snapshot.chat
    assert len(chat) == MAX_CHAT_LINES and chat[-1].text == str(MAX_CHAT_LINES + 19)


def test_talking_users_mark_user_views() -> None:
    model = connected_model()
    model.set_audio(AudioState(talking_users=frozenset({10})))
    talking = {u.id: u.talking for u in model.snapshot.users}
    assert talking == {10: True, 11: False}


def test_room_views_survive_orphans_and_cycles() -> None:
    rooms = [Room(1, "root", 0), Room(2, "orphan", 99), Room(3, "a", 4), Room(4, "b", 3)]
    views = room_views(rooms)
    assert {v.id for v in views} == {1, 2}  # the 3<->4 cycle is unreachable, never loops


def test_connection_events_become_the_connection_state() -> None:
    from voip.client import connection_events as ce
    from voip.client.state import AwaitingTrust, Connecting

    model = ClientModel()
    model.connection_event(ce.ConnectStarted("h:1"))
    assert model.snapshot.connection == Connecting("h:1")
    model.connection_event(ce.TrustAsked("h:1", "SHA256:AB"))
    assert model.snapshot.connection == AwaitingTrust("h:1", "SHA256:AB")
    welcome = voip_pb2.Welcome(
        user_id=11, server_name="Lobby", root_room_id=1, max_chat_length=99, motd="hi"
    )
    model.connection_event(ce.SessionWelcomed("h:1", welcome))
    assert model.snapshot.connection == Connected("Lobby", 11, "h:1", 1, 99, "hi")
    assert model.snapshot.my_user_id == 11
    model.connection_event(ce.SessionLost("the server went away", "h:1"))
    assert model.snapshot.connection == ConnectionLost("the server went away", "h:1")
    assert model.snapshot.chat[-1].text == "Connection lost: the server went away"
    model.connection_event(ce.SessionClosed())
    assert model.snapshot.connection == Disconnected()
