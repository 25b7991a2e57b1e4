"""The shared state model: rooms and connected users, its hash and updates.

Server and clients hold the same `StateModel`. The server sends a full
snapshot once and then one `StateUpdate` per change, each with the BLAKE3
hash of the state after it. A client applies the update with `apply_update`
and compares hashes; any difference (a lost or misapplied update, a bug)
surfaces as `StateHashMismatch`, and the client asks for a resync instead of
drifting silently.

The canonical serialization is a `ServerState` protobuf with rooms and users
sorted by id, serialized deterministically. Everything here is pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TypeVar

import blake3

from voip.errors import InvalidUpdate, StateHashMismatch
from voip.proto import voip_pb2
from voip.protocol.names import MAX_NAME_LENGTH, name_problem  # noqa: F401  (re-exported)

_T = TypeVar("_T")

ROOT_PARENT = 0


@dataclass(frozen=True, slots=True)
class Room:
    id: int
    name: str
    parent_id: int  # ROOT_PARENT (0) for the root room


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: int
    name: str
    room_id: int
    server_mute: bool = False
    server_deaf: bool = False
    roles: tuple[str, ...] = ()  # sorted; "everyone" is implicit
    self_mute: bool = False  # by the user; self_deaf implies it
    self_deaf: bool = False

    def to_proto(self) -> voip_pb2.User:
        return voip_pb2.User(
            id=self.id,
            name=self.name,
            room_id=self.room_id,
            self_mute=self.self_mute,
            self_deaf=self.self_deaf,
            server_mute=self.server_mute,
            server_deaf=self.server_deaf,
            roles=list(self.roles),
        )

    @classmethod
    def from_proto(cls, u: voip_pb2.User) -> UserInfo:
        return cls(
            u.id,
            u.name,
            u.room_id,
            u.server_mute,
            u.server_deaf,
            tuple(sorted(u.roles)),
            self_mute=u.self_mute or u.self_deaf,
            self_deaf=u.self_deaf,
        )


def _freeze(items: Iterable[tuple[int, _T]]) -> Mapping[int, _T]:
    return MappingProxyType(dict(sorted(items, key=lambda kv: kv[0])))


@dataclass(frozen=True)
class StateModel:
    """An immutable snapshot of rooms and users, keyed by id (sorted)."""

    rooms: Mapping[int, Room] = field(default_factory=lambda: MappingProxyType({}))
    users: Mapping[int, UserInfo] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def build(cls, rooms: Iterable[Room], users: Iterable[UserInfo] = ()) -> StateModel:
        return cls(
            rooms=_freeze((r.id, r) for r in rooms),
            users=_freeze((u.id, u) for u in users),
        )

    # --- conversions ------------------------------------------------------

    @classmethod
    def from_proto(cls, message: voip_pb2.ServerState) -> StateModel:
        return cls.build(
            (Room(r.id, r.name, r.parent_id) for r in message.rooms),
            (UserInfo.from_proto(u) for u in message.users),
        )

    def to_proto(self) -> voip_pb2.ServerState:
        """The canonical protobuf form: rooms and users sorted by id."""
        return voip_pb2.ServerState(
            rooms=[
                voip_pb2.RoomInfo(id=r.id, name=r.name, parent_id=r.parent_id)
                for r in sorted(self.rooms.values(), key=lambda r: r.id)
            ],
            users=[u.to_proto() for u in sorted(self.users.values(), key=lambda u: u.id)],
        )

    # --- queries -------------------------------------------------------------

    @property
    def root_id(self) -> int | None:
        for room in self.rooms.values():
            if room.parent_id == ROOT_PARENT:
                return room.id
        return None

    def children(self, room_id: int) -> list[Room]:
        return [r for r in self.rooms.values() if r.parent_id == room_id]

    def users_in(self, room_id: int) -> list[UserInfo]:
        return [u for u in self.users.values() if u.room_id == room_id]

    def walk(self) -> Iterator[tuple[int, Room]]:
        """Depth-first (depth, room) pairs from the root, children by name then id."""
        root = self.root_id
        if root is None:
            return
        stack = [(0, self.rooms[root])]
        while stack:
            depth, room = stack.pop()
            yield depth, room
            kids = sorted(self.children(room.id), key=lambda r: (r.name.lower(), r.id))
            stack.extend((depth + 1, k) for k in reversed(kids))

    def descendants(self, room_id: int) -> set[int]:
        found: set[int] = set()
        frontier = [room_id]
        while frontier:
            current = frontier.pop()
            for child in self.children(current):
                if child.id not in found:
                    found.add(child.id)
                    frontier.append(child.id)
        return found

    # --- changes -------------------------------------------------------------

    def with_room(self, room: Room) -> StateModel:
        rooms = dict(self.rooms)
        rooms[room.id] = room
        return StateModel(_freeze(rooms.items()), self.users)

    def with_user(self, user: UserInfo) -> StateModel:
        users = dict(self.users)
        users[user.id] = user
        return StateModel(self.rooms, _freeze(users.items()))

    def without_user(self, user_id: int) -> StateModel:
        users = {k: v for k, v in self.users.items() if k != user_id}
        return StateModel(self.rooms, _freeze(users.items()))

    def without_room(self, room_id: int) -> StateModel:
        """Remove a room: its users and child rooms move to its parent."""
        parent = self.rooms[room_id].parent_id
        rooms = {
            rid: (Room(r.id, r.name, parent) if r.parent_id == room_id else r)
            for rid, r in self.rooms.items()
            if rid != room_id
        }
        users = {
            uid: (replace(u, room_id=parent) if u.room_id == room_id else u)
            for uid, u in self.users.items()
        }
        return StateModel(_freeze(rooms.items()), _freeze(users.items()))


def canonical_bytes(state: StateModel | voip_pb2.ServerState) -> bytes:
    """The bytes the hash is taken over (see docs/PROTOCOL.md, "State hash")."""
    model = state if isinstance(state, StateModel) else StateModel.from_proto(state)
    return model.to_proto().SerializeToString(deterministic=True)


def state_hash(state: StateModel | voip_pb2.ServerState) -> bytes:
    """BLAKE3-256 of the canonical serialization."""
    return blake3.blake3(canonical_bytes(state)).digest()


def _require_room(state: StateModel, room_id: int, what: str) -> None:
    if room_id not in state.rooms:
        raise InvalidUpdate(f"{what} refers to room {room_id}, which does not exist")


def _require_user(state: StateModel, user_id: int, what: str) -> None:
    if user_id not in state.users:
        raise InvalidUpdate(f"{what} refers to user {user_id}, who is not connected")


def apply_change(state: StateModel, update: voip_pb2.StateUpdate) -> StateModel:
    """Apply one update without checking a hash (the server's side)."""
    kind = update.WhichOneof("change")
    if kind == "user_joined":
        u = update.user_joined.user
        _require_room(state, u.room_id, "UserJoined")
        return state.with_user(UserInfo.from_proto(u))
    if kind == "user_left":
        _require_user(state, update.user_left.user_id, "UserLeft")
        return state.without_user(update.user_left.user_id)
    if kind == "user_moved":
        m = update.user_moved
        _require_user(state, m.user_id, "UserMoved")
        _require_room(state, m.room_id, "UserMoved")
        return state.with_user(replace(state.users[m.user_id], room_id=m.room_id))
    if kind == "user_renamed":
        r = update.user_renamed
        _require_user(state, r.user_id, "UserRenamed")
        return state.with_user(replace(state.users[r.user_id], name=r.name))
    if kind == "user_server_muted":
        sm = update.user_server_muted
        _require_user(state, sm.user_id, "UserServerMuted")
        return state.with_user(
            replace(state.users[sm.user_id], server_mute=sm.server_mute, server_deaf=sm.server_deaf)
        )
    if kind == "user_self_muted":
        sm2 = update.user_self_muted
        _require_user(state, sm2.user_id, "UserSelfMuted")
        return state.with_user(
            replace(
                state.users[sm2.user_id],
                self_mute=sm2.self_mute or sm2.self_deaf,
                self_deaf=sm2.self_deaf,
            )
        )
    if kind == "user_roles_changed":
        rc = update.user_roles_changed
        _require_user(state, rc.user_id, "UserRolesChanged")
        return state.with_user(replace(state.users[rc.user_id], roles=tuple(sorted(rc.roles))))
    if kind == "room_created":
        room = update.room_created.room
        if room.id in state.rooms:
            raise InvalidUpdate(f"RoomCreated for room {room.id}, which already exists")
        if room.parent_id == ROOT_PARENT:
            raise InvalidUpdate("RoomCreated without a parent; only one root room exists")
        _require_room(state, room.parent_id, "RoomCreated")
        return state.with_room(Room(room.id, room.name, room.parent_id))
    if kind == "room_deleted":
        rid = update.room_deleted.room_id
        _require_room(state, rid, "RoomDeleted")
        if state.rooms[rid].parent_id == ROOT_PARENT:
            raise InvalidUpdate("RoomDeleted for the root room, which cannot be deleted")
        return state.without_room(rid)
    if kind == "room_renamed":
        rr = update.room_renamed
        _require_room(state, rr.room_id, "RoomRenamed")
        old_room = state.rooms[rr.room_id]
        return state.with_room(Room(old_room.id, rr.name, old_room.parent_id))
    raise InvalidUpdate("StateUpdate carries no change")


def apply_update(
    state: StateModel, update: voip_pb2.StateUpdate, expected_hash: bytes
) -> StateModel:
    """Apply an update and check the result against the server's hash.

    Raises `StateHashMismatch` (carrying both hashes) when the result differs
    from what the server computed, and `InvalidUpdate` when the update does
    not fit the state at all; either way the caller should resync.
    """
    new_state = apply_change(state, update)
    actual = state_hash(new_state)
    if actual != expected_hash:
        raise StateHashMismatch(expected_hash, actual)
    return new_state
