"""Access control inside `ServerCore`: the per-session permission cache and its rules.

Every handler begins with its state guard and then one permission check
(`_refuse`), as Murmur's handlers do. The check reads a cache: each session
holds its effective permissions for every room, computed with one pass of
`evaluate_subtree` and refreshed only for the rooms a change can affect (an
ACL written, a room created or deleted, roles granted or revoked). The voice
path is cheaper still: the relay only sees the result, a "may speak here"
flag in the session's `Route`, recomputed when the room, the ACLs, the roles
or the server mute change; it never evaluates anything per datagram.

The same place keeps the name rules (display names unique among connected
users, case-insensitively; a name last used by a role holder reserved to
that key) and the ban check at the hello.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from voip.proto import voip_pb2
from voip.protocol.permissions import (
    PERM_NAMES,
    SERVER_WIDE,
    Perm,
    RoomAcl,
    Subject,
    children_index,
    effective,
    evaluate_from_roles,
    evaluate_subtree,
    rooms_with_user_entries,
)
from voip.protocol.state import StateModel
from voip.server.actions import Route, Send, error_envelope
from voip.server.records import BanRecord, UserRecord


class SessionView(Protocol):
    id: int
    user_id: int
    perms: dict[int, int]  # room -> Permission bits
    route: tuple[int, bool, bool] | None


class CoreView(Protocol):
    """What the access and moderation mixins use of `ServerCore`."""

    state: StateModel
    root_id: int
    _sessions: dict[int, Any]
    _session_of_user: dict[int, int]
    _users: dict[int, UserRecord]
    _user_id_by_key: dict[bytes, int]
    _acls: dict[int, RoomAcl]
    _roles: set[str]
    _bans: dict[bytes, BanRecord]
    _admin_token: str

    def _change(self, update: voip_pb2.StateUpdate) -> list[Any]: ...

    def _remember(self, record: UserRecord) -> None: ...

    def _redeem_token(self, token: str) -> bool: ...

    def _remove_user(self, s: Any, now: float, *, persist: bool = True) -> list[Any]: ...

    def _entered(self, s: Any, room_id: int, now: float) -> list[Any]: ...


def permission_name(perm: Perm) -> str:
    return PERM_NAMES.get(perm, str(int(perm)))


class AccessRules(CoreView):
    """Permission cache, voice routes and name rules (a mixin of `ServerCore`)."""

    # --- who is asking ------------------------------------------------------------

    def _subject(self, user_id: int) -> Subject:
        user = self.state.users.get(user_id)
        if user is not None:
            return Subject(user_id, frozenset(user.roles))
        record = self._users.get(user_id)
        return Subject(user_id, frozenset(record.roles if record else ()))

    def _may(self, s: SessionView, perm: Perm, room_id: int) -> bool:
        return bool(s.perms.get(room_id, 0) & perm.value)

    def _refuse(
        self, s: SessionView, request_id: int, perm: Perm, room_id: int, doing: str
    ) -> Any | None:
        """None if `s` holds `perm` in `room_id`, else the PERMISSION_DENIED error to send."""
        if self._may(s, perm, room_id):
            return None
        name = permission_name(perm)
        if perm & SERVER_WIDE:
            where = "on this server"
        else:
            room = self.state.rooms.get(room_id)
            where = f"in room {room.name!r}" if room else f"in room {room_id}"
        message = (
            f"permission denied: you may not {doing}; that needs the {name} permission "
            f"{where}, which you do not have (ask an admin)"
        )
        env = error_envelope(voip_pb2.PERMISSION_DENIED, message, request_id)
        env.error.missing_permission = int(perm)
        return Send(s.id, env)

    # --- the cache ---------------------------------------------------------------------

    def _refresh_permissions(
        self, sessions: Iterable[SessionView] | None = None, start: int | None = None
    ) -> list[Any]:
        """Recompute `start`'s subtree (default: everything) for `sessions` (default: all).

        Returns the `Permissions` envelopes for the rooms whose sets changed
        and the `Route`s whose speak flag changed.
        """
        targets = list(sessions) if sessions is not None else self._online_sessions()
        root = self.root_id if start is None else start
        rooms = self.state.rooms
        kids = children_index(rooms)
        by_roles: dict[frozenset[str], dict[int, int]] = {}  # one tree pass per role set
        entry_rooms = rooms_with_user_entries(self._acls)
        actions: list[Any] = []
        for s in targets:
            who = self._subject(s.user_id)
            base = by_roles.get(who.roles)
            if base is None:
                base = by_roles[who.roles] = evaluate_subtree(
                    rooms, self._acls, root, Subject(0, who.roles), kids
                )
            fresh = evaluate_from_roles(
                rooms, self._acls, root, who, base, entry_rooms.get(who.user_id, set()), kids
            )
            changed = [
                voip_pb2.RoomPermissions(room_id=rid, allowed=int(p))
                for rid, p in fresh.items()
                if s.perms.get(rid) != p
            ]
            s.perms.update(fresh)
            if changed:
                actions.append(
                    Send(s.id, voip_pb2.Envelope(permissions=voip_pb2.Permissions(rooms=changed)))
                )
            actions += self._sync_route(s)
        return actions

    def _add_room_permissions(self, room_id: int) -> list[Any]:
        """A new leaf room: one walk per distinct subject, not a tree pass."""
        memo: dict[tuple[frozenset[str], int], int] = {}
        with_entries = self._users_with_entries()
        actions: list[Any] = []
        for s in self._online_sessions():
            who = self._subject(s.user_id)
            key = (who.roles, who.user_id if who.user_id in with_entries else 0)
            p = memo.get(key)
            if p is None:
                p = memo[key] = int(effective(self.state.rooms, self._acls, room_id, who))
            s.perms[room_id] = p
            rp = voip_pb2.RoomPermissions(room_id=room_id, allowed=int(p))
            actions.append(
                Send(s.id, voip_pb2.Envelope(permissions=voip_pb2.Permissions(rooms=[rp])))
            )
        return actions

    def _drop_room_permissions(self, room_id: int) -> None:
        for s in self._online_sessions():
            s.perms.pop(room_id, None)

    def _users_with_entries(self) -> set[int]:
        return {e.user_id for acl in self._acls.values() for e in acl.entries if e.user_id}

    def _online_sessions(self) -> list[SessionView]:
        return [self._sessions[sid] for sid in self._session_of_user.values()]

    # --- voice routes ---------------------------------------------------------------

    def _sync_route(self, s: SessionView) -> list[Any]:
        """The session's Route if its room, speak or hear flag changed (else nothing)."""
        user = self.state.users.get(s.user_id)
        if user is None:
            return []
        hears = not user.server_deaf and not user.self_deaf
        speaks = (
            hears
            and not user.server_mute
            and not user.self_mute
            and self._may(s, Perm.SPEAK, user.room_id)
        )
        route = (user.room_id, speaks, hears)
        if route == s.route:
            return []
        s.route = route
        return [Route(s.id, s.user_id, user.room_id, speak=speaks, hear=hears)]

    # --- names and bans ----------------------------------------------------------------

    def _name_refusal(self, name: str, user_id: int, public_key: bytes) -> tuple[int, str] | None:
        """(code, sentence) if `name` may not be used by this user, else None."""
        folded = name.casefold()
        for other in self.state.users.values():
            if other.id != user_id and other.name.casefold() == folded:
                return (
                    voip_pb2.NAME_TAKEN,
                    f"the name {name!r} is in use by another connected user; choose another",
                )
        for record in self._users.values():
            if (
                record.roles
                and record.public_key != public_key
                and record.name.casefold() == folded
            ):
                return (
                    voip_pb2.NAME_RESERVED,
                    f"the name {name!r} is reserved for a user who holds a role on this "
                    "server; choose another",
                )
        return None

    def _ban_in_force(self, public_key: bytes, now_ms: int) -> BanRecord | None:
        ban = self._bans.get(public_key)
        if ban is None or not ban.in_force(now_ms):
            return None
        return ban


def ban_sentence(ban: BanRecord) -> str:
    """What a banned user is told at the hello."""
    import datetime

    reason = f": {ban.reason}" if ban.reason else ""
    if ban.until_ms:
        until = datetime.datetime.fromtimestamp(ban.until_ms / 1000, datetime.UTC)
        when = f"until {until.strftime('%Y-%m-%d %H:%M')} UTC"
    else:
        when = "permanently"
    return f"you are banned from this server {when}{reason}"
