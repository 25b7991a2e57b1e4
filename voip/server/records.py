"""Immutable records shared by the core, the store and the actors.

They cross thread boundaries (loop thread -> store actor), so they are frozen
dataclasses with slots; protobuf messages, which are mutable, never cross.
A `StoreChange` is one logical change and becomes exactly one LevelDB
WriteBatch, so a crash never leaves half a change on disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from voip.protocol.state import Room


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A user the server has seen: identified by key, with a stable id."""

    id: int
    public_key: bytes
    name: str
    created_ms: int
    last_seen_ms: int
    roles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AclRecord:
    """A room's ACL as a serialized `StoredAcl` (stored now, enforced later)."""

    room_id: int
    stored_acl: bytes


@dataclass(frozen=True, slots=True)
class StoreChange:
    """One logical change: everything here is written in one WriteBatch."""

    users: tuple[UserRecord, ...] = ()
    rooms: tuple[Room, ...] = ()
    deleted_rooms: tuple[int, ...] = ()
    acls: tuple[AclRecord, ...] = ()
    next_user_id: int | None = None
    next_room_id: int | None = None
    reason: str = ""  # for logs when the write fails


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the core needs from disk at start."""

    users: tuple[UserRecord, ...]
    rooms: tuple[Room, ...]
    next_user_id: int
    next_room_id: int
    acls: tuple[AclRecord, ...] = field(default=())
