"""State model: canonical hash and update application."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voip.errors import InvalidUpdate, StateHashMismatch
from voip.proto import voip_pb2 as pb
from voip.protocol.state import (
    Room,
    StateModel,
    UserInfo,
    apply_change,
    apply_update,
    canonical_bytes,
    name_problem,
    state_hash,
)

ROOMS = [Room(1, "Lobby", 0), Room(2, "Games", 1), Room(3, "Music", 1), Room(4, "Dota", 2)]
USERS = [UserInfo(10, "ann", 1), UserInfo(11, "bob", 4), UserInfo(12, "cy", 4)]


def base() -> StateModel:
    return StateModel.build(ROOMS, USERS)


def test_same_state_in_any_order_hashes_equal() -> None:
    rng = random.Random(7)
    reference = state_hash(base())
    for _ in range(20):
        rooms, users = ROOMS[:], USERS[:]
        rng.shuffle(rooms)
        rng.shuffle(users)
        assert state_hash(StateModel.build(rooms, users)) == reference
        # and via an unsorted protobuf message
        message = pb.ServerState(
            rooms=[pb.RoomInfo(id=r.id, name=r.name, parent_id=r.parent_id) for r in rooms],
            users=[pb.User(id=u.id, name=u.name, room_id=u.room_id) for u in users],
        )
        assert state_hash(message) == reference


def test_hash_is_blake3_of_canonical_bytes() -> None:
    import blake3

    assert state_hash(base()) == blake3.blake3(canonical_bytes(base())).digest()
    assert len(state_hash(base())) == 32


@pytest.mark.parametrize(
    "changed",
    [
        StateModel.build([*ROOMS[:3], Room(4, "Dota2", 2)], USERS),
        StateModel.build([*ROOMS[:3], Room(4, "Dota", 3)], USERS),
        StateModel.build(ROOMS, [*USERS[:2], UserInfo(12, "cy", 1)]),
        StateModel.build(ROOMS, [*USERS[:2], UserInfo(12, "cz", 4)]),
        StateModel.build(ROOMS, USERS[:2]),
        StateModel.build(ROOMS[:3], USERS[:1]),
        StateModel.build(ROOMS, [*USERS[:2], UserInfo(13, "cy", 4)]),
        StateModel.build(ROOMS, [*USERS[:2], UserInfo(12, "cy", 4, server_mute=True)]),
        StateModel.build(ROOMS, [*USERS[:2], UserInfo(12, "cy", 4, server_deaf=True)]),
        StateModel.build(ROOMS, [*USERS[:2], UserInfo(12, "cy", 4, roles=("mod",))]),
    ],
)
def test_any_change_changes_hash(changed: StateModel) -> None:
    assert state_hash(changed) != state_hash(base())


def _update(**kwargs: object) -> pb.StateUpdate:
    return pb.StateUpdate(**kwargs)  # type: ignore[arg-type]


def test_users_without_moderation_fields_hash_as_before() -> None:
    """A user with no mute, deafen or roles serializes exactly like the three-field User."""
    import blake3

    old_form = pb.ServerState(
        rooms=[pb.RoomInfo(id=r.id, name=r.name, parent_id=r.parent_id) for r in ROOMS],
        users=[pb.User(id=u.id, name=u.name, room_id=u.room_id) for u in USERS],
    ).SerializeToString(deterministic=True)
    assert state_hash(base()) == blake3.blake3(old_form).digest()


UPDATES = {
    "user_server_muted": (
        _update(user_server_muted=pb.UserServerMuted(user_id=11, server_mute=True)),
        lambda s: s.users[11].server_mute and not s.users[11].server_deaf,
    ),
    "user_roles_changed": (
        _update(user_roles_changed=pb.UserRolesChanged(user_id=11, roles=["mod", "dj"])),
        lambda s: s.users[11].roles == ("dj", "mod"),
    ),
    "user_joined": (
        _update(user_joined=pb.UserJoined(user=pb.User(id=20, name="dee", room_id=3))),
        lambda s: s.users[20] == UserInfo(20, "dee", 3),
    ),
    "user_left": (_update(user_left=pb.UserLeft(user_id=11)), lambda s: 11 not in s.users),
    "user_moved": (
        _update(user_moved=pb.UserMoved(user_id=10, room_id=3)),
        lambda s: s.users[10].room_id == 3,
    ),
    "user_renamed": (
        _update(user_renamed=pb.UserRenamed(user_id=10, name="anne")),
        lambda s: s.users[10].name == "anne" and s.users[10].room_id == 1,
    ),
    "room_created": (
        _update(room_created=pb.RoomCreated(room=pb.RoomInfo(id=5, name="AFK", parent_id=3))),
        lambda s: s.rooms[5] == Room(5, "AFK", 3),
    ),
    "room_renamed": (
        _update(room_renamed=pb.RoomRenamed(room_id=3, name="Jazz")),
        lambda s: s.rooms[3] == Room(3, "Jazz", 1),
    ),
    "room_deleted": (
        _update(room_deleted=pb.RoomDeleted(room_id=2)),
        # users of room 2 stay where they are (room 4), room 4 moves under 1
        lambda s: 2 not in s.rooms and s.rooms[4].parent_id == 1,
    ),
    "room_deleted_with_users": (
        _update(room_deleted=pb.RoomDeleted(room_id=4)),
        lambda s: 4 not in s.rooms and s.users[11].room_id == 2 and s.users[12].room_id == 2,
    ),
}


@pytest.mark.parametrize("name", list(UPDATES))
def test_every_update_kind(name: str) -> None:
    update, check = UPDATES[name]
    expected = state_hash(apply_change(base(), update))
    result = apply_update(base(), update, expected)
    assert check(result)
    assert state_hash(result) == expected
    assert result != base()


def test_mismatch_detected() -> None:
    update = UPDATES["user_moved"][0]
    wrong = state_hash(base())  # the hash before, not after
    with pytest.raises(StateHashMismatch) as info:
        apply_update(base(), update, wrong)
    assert info.value.expected == wrong
    assert info.value.actual == state_hash(apply_change(base(), update))
    assert "resync" in str(info.value)


def test_mismatch_when_client_state_diverged() -> None:
    server = base()
    client = base().with_user(UserInfo(10, "ann", 2))  # the client missed a move
    update = _update(user_renamed=pb.UserRenamed(user_id=11, name="robert"))
    with pytest.raises(StateHashMismatch):
        apply_update(client, update, state_hash(apply_change(server, update)))


@pytest.mark.parametrize(
    "update",
    [
        _update(user_left=pb.UserLeft(user_id=99)),
        _update(user_moved=pb.UserMoved(user_id=10, room_id=99)),
        _update(user_moved=pb.UserMoved(user_id=99, room_id=1)),
        _update(user_joined=pb.UserJoined(user=pb.User(id=30, name="x", room_id=99))),
        _update(room_created=pb.RoomCreated(room=pb.RoomInfo(id=2, name="dup", parent_id=1))),
        _update(room_created=pb.RoomCreated(room=pb.RoomInfo(id=9, name="root2", parent_id=0))),
        _update(room_created=pb.RoomCreated(room=pb.RoomInfo(id=9, name="orphan", parent_id=77))),
        _update(room_deleted=pb.RoomDeleted(room_id=1)),
        _update(room_deleted=pb.RoomDeleted(room_id=99)),
        _update(room_renamed=pb.RoomRenamed(room_id=99, name="x")),
        _update(),
    ],
)
def test_invalid_updates_rejected(update: pb.StateUpdate) -> None:
    with pytest.raises(InvalidUpdate):
        apply_change(base(), update)


def test_walk_is_tree_order() -> None:
    order = [(d, r.name) for d, r in base().walk()]
    assert order == [(0, "Lobby"), (1, "Games"), (2, "Dota"), (1, "Music")]


def test_proto_roundtrip() -> None:
    assert StateModel.from_proto(base().to_proto()) == base()


@pytest.mark.parametrize(
    ("name", "ok"),
    [("Lobby", True), ("", False), ("   ", False), ("a" * 65, False), ("a\nb", False),
     (" pad", False), ("Ünïcødé ok", True)],
)
def test_name_rules(name: str, ok: bool) -> None:
    assert (name_problem(name) is None) == ok


# --- property-based: a random sequence of valid changes ------------------------------


@st.composite
def change_sequences(draw: st.DrawFn) -> list[pb.StateUpdate]:
    """Valid updates generated against a model that evolves with them."""
    state = base()
    next_room, next_user = 100, 100
    updates: list[pb.StateUpdate] = []
    for _ in range(draw(st.integers(min_value=1, max_value=25))):
        kind = draw(st.sampled_from(["join", "leave", "move", "create", "delete", "rename"]))
        rooms = sorted(state.rooms)
        users = sorted(state.users)
        if kind == "join":
            room = draw(st.sampled_from(rooms))
            u = _update(user_joined=pb.UserJoined(user=pb.User(id=next_user, name=f"u{next_user}",
                                                              room_id=room)))
            next_user += 1
        elif kind == "leave" and users:
            u = _update(user_left=pb.UserLeft(user_id=draw(st.sampled_from(users))))
        elif kind == "move" and users:
            u = _update(user_moved=pb.UserMoved(user_id=draw(st.sampled_from(users)),
                                                room_id=draw(st.sampled_from(rooms))))
        elif kind == "create":
            u = _update(room_created=pb.RoomCreated(room=pb.RoomInfo(
                id=next_room, name=f"r{next_room}", parent_id=draw(st.sampled_from(rooms)))))
            next_room += 1
        elif kind == "delete" and len(rooms) > 1:
            non_root = [r for r in rooms if state.rooms[r].parent_id != 0]
            u = _update(room_deleted=pb.RoomDeleted(room_id=draw(st.sampled_from(non_root))))
        else:
            u = _update(room_renamed=pb.RoomRenamed(room_id=draw(st.sampled_from(rooms)),
                                                    name=draw(st.text(min_size=1, max_size=8))))
        state = apply_change(state, u)
        updates.append(u)
    return updates


@settings(max_examples=150, deadline=None)
@given(updates=change_sequences())
def test_property_client_follows_server(updates: list[pb.StateUpdate]) -> None:
    """A client applying each update with the server's hash ends equal to the server."""
    server = base()
    client = StateModel.from_proto(base().to_proto())
    for update in updates:
        server = apply_change(server, update)
        client = apply_update(client, update, state_hash(server))
    assert client == server
    # the tree stays a tree: one root, every parent exists, every user in a room
    assert sum(1 for r in server.rooms.values() if r.parent_id == 0) == 1
    assert all(r.parent_id in server.rooms for r in server.rooms.values() if r.parent_id)
    assert all(u.room_id in server.rooms for u in server.users.values())


@settings(max_examples=100, deadline=None)
@given(updates=change_sequences(), skip=st.integers(min_value=0, max_value=24))
def test_property_missed_update_never_goes_unnoticed(
    updates: list[pb.StateUpdate], skip: int
) -> None:
    """A client that missed an update never silently diverges.

    After the missed update, every later update either applies and leaves the
    client equal to the server (a later change can make the miss irrelevant,
    e.g. the moved user leaves) or raises, telling the client to resync.
    """
    skip %= len(updates)
    server = base()
    client = base()
    for i, update in enumerate(updates):
        server = apply_change(server, update)
        if i == skip:
            continue
        try:
            client = apply_update(client, update, state_hash(server))
        except (StateHashMismatch, InvalidUpdate):
            return
        assert client == server
