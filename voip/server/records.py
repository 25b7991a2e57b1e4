"""Immutable records shared by the core, the store and the actors.

They cross thread boundaries (loop thread -> store actor), so they are frozen
dataclasses with slots; protobuf messages, which are mutable, never cross.
A `StoreChange` is one logical change and becomes exactly one LevelDB
WriteBatch, so a crash never leaves half a change on disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from voip.proto import voip_pb2
from voip.protocol.permissions import RoomAcl
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
    """A room's ACL (docs/PERMISSIONS.md)."""

    room_id: int
    acl: RoomAcl


@dataclass(frozen=True, slots=True)
class BanRecord:
    """A banned key: refused at the hello until `until_ms` (0: for good)."""

    public_key: bytes
    reason: str
    until_ms: int
    created_ms: int
    by_user_id: int = 0
    name: str = ""
    user_id: int = 0

    def in_force(self, now_ms: int) -> bool:
        return self.until_ms == 0 or now_ms < self.until_ms


@dataclass(frozen=True, slots=True)
class ChatRecord:
    """One line of a room's chat history (voip/server/history.py)."""

    room_id: int
    sequence: int  # per room, from 1, never reused
    sender_id: int
    sender_name: str
    text: str
    server_time_ms: int

    @property
    def size(self) -> int:
        return len(self.text.encode())

    def to_proto(self) -> voip_pb2.ChatMessage:
        return voip_pb2.ChatMessage(
            sender_id=self.sender_id,
            sender_name=self.sender_name,
            room_id=self.room_id,
            text=self.text,
            server_time_ms=self.server_time_ms,
        )


@dataclass(frozen=True, slots=True)
class ShareRecord:
    """A file shared in a room (voip/server/sharing.py)."""

    room_id: int
    info_hash: bytes  # v2, 32 bytes
    info_hash_v1: bytes  # hybrid, 20 bytes; b"" for pure v2
    name: str
    size: int
    sharer_id: int
    sharer_name: str
    server_time_ms: int
    torrent: bytes
    server_seeds: bool = False

    def to_proto(self) -> voip_pb2.SharedFile:
        return voip_pb2.SharedFile(
            info_hash=self.info_hash,
            info_hash_v1=self.info_hash_v1,
            name=self.name,
            size=self.size,
            room_id=self.room_id,
            sharer_id=self.sharer_id,
            sharer_name=self.sharer_name,
            server_time_ms=self.server_time_ms,
            server_seeds=self.server_seeds,
        )


@dataclass(frozen=True, slots=True)
class StoreChange:
    """One logical change: everything here is written in one WriteBatch."""

    users: tuple[UserRecord, ...] = ()
    rooms: tuple[Room, ...] = ()
    deleted_rooms: tuple[int, ...] = ()
    acls: tuple[AclRecord, ...] = ()
    roles: tuple[str, ...] = ()  # custom roles created
    deleted_roles: tuple[str, ...] = ()
    bans: tuple[BanRecord, ...] = ()
    lifted_bans: tuple[bytes, ...] = ()  # public keys
    admin_token: str | None = None  # "" clears it (redeemed)
    chat: tuple[ChatRecord, ...] = ()  # history lines kept
    deleted_chat: tuple[tuple[int, int], ...] = ()  # (room id, sequence) dropped
    shares: tuple[ShareRecord, ...] = ()
    deleted_shares: tuple[tuple[int, bytes], ...] = ()  # (room id, info-hash)
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
    roles: tuple[str, ...] = ()
    bans: tuple[BanRecord, ...] = ()
    admin_token: str = ""  # unredeemed first-admin token, "" if none
    chat: tuple[ChatRecord, ...] = ()
    shares: tuple[ShareRecord, ...] = ()
