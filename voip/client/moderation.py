"""Moderation and access-control commands a front end sends (docs/PERMISSIONS.md).

Like `voip.client.commands`: frozen dataclasses, checked with `problem`
for what the client alone can know, and turned into one request each
(`request_of`). What the server answers to the queries (an ACL, the bans,
the roles, the known users) lands in `State` (`acl`, `bans`, `roles`,
`known_users`); refusals arrive as `ErrorNotice`s naming the command.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voip.client.access_state import AclEntryView
from voip.protocol.permissions import VALID_BITS


@dataclass(frozen=True, slots=True)
class FetchAcl:
    room_id: int


@dataclass(frozen=True, slots=True)
class SetAcl:
    room_id: int
    inherit: bool
    entries: tuple[AclEntryView, ...]


@dataclass(frozen=True, slots=True)
class FetchRoles:
    pass


@dataclass(frozen=True, slots=True)
class CreateRole:
    name: str


@dataclass(frozen=True, slots=True)
class DeleteRole:
    name: str


@dataclass(frozen=True, slots=True)
class GrantRole:
    user_id: int
    role: str


@dataclass(frozen=True, slots=True)
class RevokeRole:
    user_id: int
    role: str


@dataclass(frozen=True, slots=True)
class KickUser:
    user_id: int
    reason: str = ""


@dataclass(frozen=True, slots=True)
class BanUser:
    user_id: int
    duration_s: int = 0  # 0: for good
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Unban:
    public_key: bytes


@dataclass(frozen=True, slots=True)
class FetchBans:
    pass


@dataclass(frozen=True, slots=True)
class MoveUser:
    user_id: int
    room_id: int


@dataclass(frozen=True, slots=True)
class SetServerMute:
    user_id: int
    mute: bool
    deaf: bool = False


@dataclass(frozen=True, slots=True)
class RedeemAdminToken:
    token: str


@dataclass(frozen=True, slots=True)
class FetchKnownUsers:
    pass


ModerationCommand = (
    FetchAcl
    | SetAcl
    | FetchRoles
    | CreateRole
    | DeleteRole
    | GrantRole
    | RevokeRole
    | KickUser
    | BanUser
    | Unban
    | FetchBans
    | MoveUser
    | SetServerMute
    | RedeemAdminToken
    | FetchKnownUsers
)
MODERATION_COMMANDS = ModerationCommand.__args__


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def moderation_problem(command: ModerationCommand) -> str | None:
    """Why the command cannot be sent as given, or None (the server has the last word)."""
    match command:
        case FetchAcl(room_id=rid) | SetAcl(room_id=rid):
            if not _is_id(rid):
                return f"{rid!r} is not a room id"
            if isinstance(command, SetAcl):
                for n, e in enumerate(command.entries, 1):
                    if bool(e.user_id) == bool(e.role):
                        return f"ACL entry {n} must name exactly one user or one role"
                    if (e.allow | e.deny) & ~VALID_BITS:
                        return f"ACL entry {n} has bits that are no permission"
            return None
        case KickUser(user_id=uid) | BanUser(user_id=uid) | SetServerMute(user_id=uid):
            return None if _is_id(uid) else f"{uid!r} is not a user id"
        case GrantRole(user_id=uid, role=role) | RevokeRole(user_id=uid, role=role):
            if not _is_id(uid):
                return f"{uid!r} is not a user id"
            return None if role else "no role given"
        case MoveUser(user_id=uid, room_id=rid):
            return None if _is_id(uid) and _is_id(rid) else "give a user id and a room id"
        case Unban(public_key=key):
            return None if len(key) == 32 else "a public key has 32 bytes"
        case RedeemAdminToken(token=token):
            return None if token.strip() else "paste the token from the server's log"
        case CreateRole(name=name) | DeleteRole(name=name):
            return None if name.strip() else "no role name given"
    return None


def request_of(command: ModerationCommand) -> tuple[str, dict[str, Any]]:
    """The request (Envelope payload field, its message's fields) for a command."""
    match command:
        case FetchAcl(room_id=rid):
            return "get_acl", {"room_id": rid}
        case SetAcl(room_id=rid, inherit=inherit, entries=entries):
            from voip.proto import voip_pb2

            messages = [
                voip_pb2.AclEntry(
                    role=e.role,
                    user_id=e.user_id,
                    allow=e.allow,
                    deny=e.deny,
                    apply_here=e.apply_here,
                    apply_subs=e.apply_subs,
                )
                for e in entries
            ]
            return "set_acl", {"room_id": rid, "inherit": inherit, "entries": messages}
        case FetchRoles():
            return "list_roles", {}
        case CreateRole(name=name):
            return "create_role", {"name": name}
        case DeleteRole(name=name):
            return "delete_role", {"name": name}
        case GrantRole(user_id=uid, role=role):
            return "grant_role", {"user_id": uid, "role": role}
        case RevokeRole(user_id=uid, role=role):
            return "revoke_role", {"user_id": uid, "role": role}
        case KickUser(user_id=uid, reason=reason):
            return "kick_user", {"user_id": uid, "reason": reason}
        case BanUser(user_id=uid, duration_s=seconds, reason=reason):
            return "ban_user", {"user_id": uid, "duration_s": seconds, "reason": reason}
        case Unban(public_key=key):
            return "unban", {"public_key": key}
        case FetchBans():
            return "list_bans", {}
        case MoveUser(user_id=uid, room_id=rid):
            return "move_user", {"user_id": uid, "room_id": rid}
        case SetServerMute(user_id=uid, mute=mute, deaf=deaf):
            return "set_server_mute", {"user_id": uid, "server_mute": mute, "server_deaf": deaf}
        case RedeemAdminToken(token=token):
            return "redeem_admin_token", {"token": token.strip()}
        case FetchKnownUsers():
            return "list_users", {}
    raise TypeError(f"not a moderation command: {command!r}")
