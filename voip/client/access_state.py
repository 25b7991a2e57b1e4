"""What the client knows about access control, as frozen views in `State`.

The server sends the user's effective permissions per room (PROTOCOL.md,
"Effective permissions"), and answers the moderation queries (a room's ACL,
the bans, the roles, the known users). Front ends read them here to grey
out what the user may not do and to say why (`refusal`); the server
enforces regardless.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from google.protobuf.message import Message

from voip.proto import voip_pb2
from voip.protocol.permissions import PERM_NAMES, SERVER_WIDE, Perm


@dataclass(frozen=True, slots=True)
class AclEntryView:
    """One ACL entry as the front end edits it (user_id 0: the entry is for `role`)."""

    role: str = ""
    user_id: int = 0
    allow: int = 0
    deny: int = 0
    apply_here: bool = True
    apply_subs: bool = True


@dataclass(frozen=True, slots=True)
class AclView:
    room_id: int
    inherit: bool
    entries: tuple[AclEntryView, ...]


@dataclass(frozen=True, slots=True)
class BanView:
    public_key: bytes
    user_id: int
    name: str
    reason: str
    until_ms: int  # 0: for good
    created_ms: int
    by_user_id: int


@dataclass(frozen=True, slots=True)
class RoleView:
    name: str
    builtin: bool
    user_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class KnownUserView:
    id: int
    name: str
    public_key: bytes
    roles: tuple[str, ...]
    online: bool
    last_seen_ms: int


@dataclass(frozen=True, slots=True)
class AccessState:
    """Permissions per room, and the last answers to the moderation queries."""

    permissions: Mapping[int, int] = field(default_factory=lambda: MappingProxyType({}))
    root_room_id: int = 0
    acl: AclView | None = None  # the last ACL fetched (FetchAcl)
    bans: tuple[BanView, ...] | None = None  # None: never fetched
    roles: tuple[RoleView, ...] | None = None
    known_users: tuple[KnownUserView, ...] | None = None

    def may(self, perm: Perm, room_id: int | None = None) -> bool:
        """Whether the user holds `perm` in the room (server-wide bits: in the root)."""
        where = self.root_room_id if perm & SERVER_WIDE or room_id is None else room_id
        return bool(self.permissions.get(where, 0) & perm)

    def refusal(self, perm: Perm, room_id: int | None = None, doing: str = "do this") -> str | None:
        """None if allowed, else a sentence for a tooltip: what is missing, and where."""
        if self.may(perm, room_id):
            return None
        name = PERM_NAMES.get(perm, str(int(perm)))
        where = "on this server" if perm & SERVER_WIDE or room_id is None else "in this room"
        return f"You may not {doing}: it needs the {name} permission {where}."


def access_answer(access: AccessState, message: Message) -> AccessState | None:
    """`access` with this server message applied, or None if it is not about access.

    `Permissions` (pushed by the server) or the reply to a query: `RoomAcl`,
    `BanList`, `RoleList`, `UserList`.
    """
    if isinstance(message, voip_pb2.Permissions):
        merged = dict(access.permissions)
        merged.update((rp.room_id, rp.allowed) for rp in message.rooms)
        return replace(access, permissions=MappingProxyType(merged))
    if isinstance(message, voip_pb2.RoomAcl):
        entries = tuple(
            AclEntryView(e.role, e.user_id, e.allow, e.deny, e.apply_here, e.apply_subs)
            for e in message.entries
        )
        return replace(access, acl=AclView(message.room_id, message.inherit, entries))
    if isinstance(message, voip_pb2.BanList):
        bans = tuple(
            BanView(
                bytes(b.public_key),
                b.user_id,
                b.name,
                b.reason,
                b.until_ms,
                b.created_ms,
                b.by_user_id,
            )
            for b in message.bans
        )
        return replace(access, bans=bans)
    if isinstance(message, voip_pb2.RoleList):
        roles = tuple(RoleView(r.name, r.builtin, tuple(r.user_ids)) for r in message.roles)
        return replace(access, roles=roles)
    if isinstance(message, voip_pb2.UserList):
        users = tuple(
            KnownUserView(
                u.id, u.name, bytes(u.public_key), tuple(u.roles), u.online, u.last_seen_ms
            )
            for u in message.users
        )
        return replace(access, known_users=users)
    return None
