"""Permissions: the bit set, room ACLs, and their pure evaluation over the room tree.

Modelled on Mumble's ChanACL: each room has an ACL (an `inherit` flag and an
ordered list of entries for one user or one role, each with allow and deny
bits and "applies here" / "applies to sub-rooms"). A user's permissions in a
room come from walking the path from the root down to it: at each room the
starting point is what the parent passed down (or nothing, when the room
does not inherit), then every matching entry in order ORs in its allow bits
and clears its deny bits, so later entries override earlier ones, deeper
rooms override higher ones, and inside one entry deny beats allow. The rules
are spelled out in docs/PERMISSIONS.md, and tests/protocol/test_permissions.py
is a table of the cases.

Everything here is pure: the server evaluates a whole subtree in one pass
(`evaluate_subtree`) and caches the result per session, so no request, and
no voice datagram, walks an ACL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntFlag

from voip.proto import voip_pb2
from voip.protocol.state import ROOT_PARENT, Room

EVERYONE = "everyone"
ADMIN_ROLE = "admin"
BUILTIN_ROLES = frozenset({EVERYONE, ADMIN_ROLE})


class Perm(IntFlag):
    """One bit per permission; the values are the wire's `Permission` enum."""

    NONE = 0
    ENTER = voip_pb2.ENTER
    SPEAK = voip_pb2.SPEAK
    TEXT = voip_pb2.TEXT
    MAKE_ROOM = voip_pb2.MAKE_ROOM
    WRITE = voip_pb2.WRITE
    MOVE = voip_pb2.MOVE
    MUTE_DEAFEN = voip_pb2.MUTE_DEAFEN
    KICK = voip_pb2.KICK
    BAN = voip_pb2.BAN
    MANAGE_ROLES = voip_pb2.MANAGE_ROLES
    ADMIN = voip_pb2.ADMIN


ALL = Perm(0)
for _p in Perm:
    ALL |= _p
#: Bits that mean something only in the root room's own result (Mumble's Kick/Ban).
SERVER_WIDE = Perm.KICK | Perm.BAN | Perm.MANAGE_ROLES
#: What an ACL entry may allow or deny.
VALID_BITS = int(ALL)
#: Entries one room's ACL may hold (each one is folded on every evaluation).
MAX_ACL_ENTRIES = 100

#: Human names, used in refusals, docs and the admin tool.
PERM_NAMES: dict[Perm, str] = {
    Perm.ENTER: "enter",
    Perm.SPEAK: "speak",
    Perm.TEXT: "text",
    Perm.MAKE_ROOM: "make-room",
    Perm.WRITE: "write",
    Perm.MOVE: "move",
    Perm.MUTE_DEAFEN: "mute-deafen",
    Perm.KICK: "kick",
    Perm.BAN: "ban",
    Perm.MANAGE_ROLES: "manage-roles",
    Perm.ADMIN: "admin",
}
PERM_BY_NAME = {name: perm for perm, name in PERM_NAMES.items()}


def perm_names(bits: int) -> list[str]:
    """The names of the bits set in `bits`, in bit order."""
    return [name for perm, name in PERM_NAMES.items() if bits & perm]


def parse_perms(text: str) -> Perm:
    """`"enter,speak"` -> Perm; ValueError naming an unknown permission."""
    result = Perm.NONE
    for part in text.replace("+", ",").split(","):
        part = part.strip().lower()
        if not part:
            continue
        if part == "all":
            result |= ALL
            continue
        if part not in PERM_BY_NAME:
            known = ", ".join(PERM_BY_NAME)
            raise ValueError(f"unknown permission {part!r}; known: {known}, all")
        result |= PERM_BY_NAME[part]
    return result


@dataclass(frozen=True, slots=True)
class AclEntry:
    """One ACL line: for `user_id` (> 0) or, when it is 0, for members of `role`."""

    allow: int = 0
    deny: int = 0
    role: str = ""
    user_id: int = 0
    apply_here: bool = True
    apply_subs: bool = True

    def matches(self, who: Subject) -> bool:
        if self.user_id:
            return self.user_id == who.user_id
        return self.role == EVERYONE or self.role in who.roles

    def to_proto(self) -> voip_pb2.AclEntry:
        return voip_pb2.AclEntry(
            user_id=self.user_id,
            role=self.role,
            allow=self.allow,
            deny=self.deny,
            apply_here=self.apply_here,
            apply_subs=self.apply_subs,
        )

    @classmethod
    def from_proto(cls, m: voip_pb2.AclEntry) -> AclEntry:
        return cls(
            allow=m.allow,
            deny=m.deny,
            role=m.role,
            user_id=m.user_id,
            apply_here=m.apply_here,
            apply_subs=m.apply_subs,
        )


@dataclass(frozen=True, slots=True)
class RoomAcl:
    """A room's ACL. A room without one inherits with no entries of its own."""

    inherit: bool = True
    entries: tuple[AclEntry, ...] = ()

    def to_stored(self, room_id: int) -> voip_pb2.StoredAcl:
        return voip_pb2.StoredAcl(
            room_id=room_id, inherit=self.inherit, entries=[e.to_proto() for e in self.entries]
        )

    @classmethod
    def from_stored(cls, m: voip_pb2.StoredAcl | voip_pb2.SetAcl | voip_pb2.RoomAcl) -> RoomAcl:
        return cls(m.inherit, tuple(AclEntry.from_proto(e) for e in m.entries))


INHERIT_ONLY = RoomAcl()


@dataclass(frozen=True, slots=True)
class Subject:
    """Who is asking: a user id and the roles they hold ("everyone" is implicit)."""

    user_id: int
    roles: frozenset[str] = frozenset()

    @property
    def is_admin(self) -> bool:
        return ADMIN_ROLE in self.roles


def acl_problem(
    acl: RoomAcl, roles: Iterable[str], user_exists: Mapping[int, object]
) -> str | None:
    """Why an ACL cannot be stored, or None. `roles`: the roles that exist."""
    known = set(roles) | BUILTIN_ROLES
    if len(acl.entries) > MAX_ACL_ENTRIES:
        return f"it has {len(acl.entries)} entries; a room's ACL holds at most {MAX_ACL_ENTRIES}"
    for n, e in enumerate(acl.entries, 1):
        if e.user_id and e.role:
            return f"entry {n} names both user {e.user_id} and role {e.role!r}; give one"
        if not e.user_id and not e.role:
            return f"entry {n} names neither a user nor a role"
        if e.role and e.role not in known:
            return f"entry {n} names the role {e.role!r}, which does not exist"
        if e.user_id and e.user_id not in user_exists:
            return f"entry {n} names user {e.user_id}, who is not known to this server"
        if (e.allow | e.deny) & ~VALID_BITS:
            extra = (e.allow | e.deny) & ~VALID_BITS
            return f"entry {n} sets bits that are no permission ({extra:#x})"
        if not (e.apply_here or e.apply_subs):
            return f"entry {n} applies neither here nor to sub-rooms"
    return None


# --- evaluation --------------------------------------------------------------------


# The fold works on plain ints: IntFlag arithmetic costs ~1 µs per operation,
# and a tree pass does a few per room.
_ALL_BITS = int(ALL)
_ADMIN_BIT = int(Perm.ADMIN)
_NOT_SERVER_WIDE = ~int(SERVER_WIDE)


def _fold(granted: int, entries: Iterable[AclEntry], who: Subject, here: bool) -> int:
    for e in entries:
        if (e.apply_here if here else e.apply_subs) and e.matches(who):
            granted = (granted | e.allow) & ~e.deny
    return granted


def _finish(granted: int, is_root: bool, who: Subject) -> int:
    if who.is_admin or granted & _ADMIN_BIT:
        granted = _ALL_BITS
    if not is_root:
        granted &= _NOT_SERVER_WIDE
    return granted


def path_to(rooms: Mapping[int, Room], room_id: int) -> list[int]:
    """Room ids from the root down to `room_id` (KeyError if it does not exist)."""
    path = [room_id]
    seen = {room_id}
    parent = rooms[room_id].parent_id
    while parent != ROOT_PARENT:
        if parent in seen:
            raise ValueError(f"the room tree has a cycle through room {parent}")
        seen.add(parent)
        path.append(parent)
        parent = rooms[parent].parent_id
    path.reverse()
    return path


def _passed_down(
    rooms: Mapping[int, Room], acls: Mapping[int, RoomAcl], room_id: int, who: Subject
) -> int:
    """What the parent of `room_id` passes down to it (before its own ACL)."""
    passed = 0
    for rid in path_to(rooms, room_id)[:-1]:
        acl = acls.get(rid, INHERIT_ONLY)
        start = passed if acl.inherit else 0
        passed = _fold(start, acl.entries, who, here=False)
    return passed


def effective(
    rooms: Mapping[int, Room], acls: Mapping[int, RoomAcl], room_id: int, who: Subject
) -> Perm:
    """`who`'s permissions in one room (KeyError if the room does not exist)."""
    acl = acls.get(room_id, INHERIT_ONLY)
    start = _passed_down(rooms, acls, room_id, who) if acl.inherit else 0
    granted = _fold(start, acl.entries, who, here=True)
    return Perm(_finish(granted, rooms[room_id].parent_id == ROOT_PARENT, who))


def children_index(rooms: Mapping[int, Room]) -> dict[int, list[int]]:
    """Parent id -> child ids, for `evaluate_subtree` over many subjects."""
    index: dict[int, list[int]] = {}
    for room in rooms.values():
        index.setdefault(room.parent_id, []).append(room.id)
    return index


def evaluate_subtree(
    rooms: Mapping[int, Room],
    acls: Mapping[int, RoomAcl],
    room_id: int,
    who: Subject,
    children: Mapping[int, list[int]] | None = None,
) -> dict[int, int]:
    """`who`'s permissions (bits) in `room_id` and every room below it, in one pass.

    Equal to calling `effective` for each of those rooms (the tests check
    that), but each ACL is folded once per subject instead of once per room
    below it.
    """
    kids = children if children is not None else children_index(rooms)
    result: dict[int, int] = {}
    stack = [(room_id, _passed_down(rooms, acls, room_id, who))]
    while stack:
        rid, inherited = stack.pop()
        acl = acls.get(rid, INHERIT_ONLY)
        start = inherited if acl.inherit else 0
        result[rid] = _finish(
            _fold(start, acl.entries, who, here=True),
            rooms[rid].parent_id == ROOT_PARENT,
            who,
        )
        below = _fold(start, acl.entries, who, here=False)
        stack.extend((child, below) for child in kids.get(rid, ()))
    return result


def rooms_with_user_entries(acls: Mapping[int, RoomAcl]) -> dict[int, set[int]]:
    """User id -> the rooms whose ACL has an entry for that user."""
    index: dict[int, set[int]] = {}
    for room_id, acl in acls.items():
        for e in acl.entries:
            if e.user_id:
                index.setdefault(e.user_id, set()).add(room_id)
    return index


def evaluate_from_roles(
    rooms: Mapping[int, Room],
    acls: Mapping[int, RoomAcl],
    room_id: int,
    who: Subject,
    roles_result: Mapping[int, int],
    entry_rooms: set[int],
    children: Mapping[int, list[int]] | None = None,
) -> dict[int, int]:
    """`evaluate_subtree` for `who`, reusing `roles_result` (that subtree for their roles
    alone, e.g. ``Subject(0, who.roles)``) and walking again only below the rooms in
    `entry_rooms` (those with entries naming `who`).

    A room whose path from the root crosses none of those rooms gets exactly
    what the roles give; so users who share roles share one tree pass, and
    each pays only for the subtrees under their own entries (a creator's rooms).
    """
    if not entry_rooms:
        return dict(roles_result)
    above = set(path_to(rooms, room_id)[:-1])
    if above & entry_rooms:
        return evaluate_subtree(rooms, acls, room_id, who, children)
    tops: set[int] = set()
    for entry_room in entry_rooms:
        if entry_room not in rooms:
            continue
        path = path_to(rooms, entry_room)
        if room_id in path:
            below = path[path.index(room_id) :]
            tops.add(next(r for r in below if r in entry_rooms))
    result = dict(roles_result)
    for top in tops:
        result.update(evaluate_subtree(rooms, acls, top, who, children))
    return result


# --- the default policy ------------------------------------------------------------

#: What everyone may do on a fresh server, from the root down.
EVERYONE_DEFAULT = Perm.ENTER | Perm.SPEAK | Perm.TEXT | Perm.MAKE_ROOM
#: What a room's creator gets in that room and below it.
CREATOR_DEFAULT = Perm.WRITE | Perm.MAKE_ROOM


def default_root_acl() -> RoomAcl:
    return RoomAcl(
        inherit=True,
        entries=(AclEntry(allow=int(EVERYONE_DEFAULT), role=EVERYONE),),
    )


def creator_acl(user_id: int) -> RoomAcl:
    """The ACL a new room starts with: it inherits, and its creator may edit it."""
    return RoomAcl(inherit=True, entries=(AclEntry(allow=int(CREATOR_DEFAULT), user_id=user_id),))
