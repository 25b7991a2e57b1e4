"""The access-control and moderation requests of `ServerCore` (a mixin).

ACLs (read, write), roles (list, create, delete, grant, revoke), kick, ban
(ban, lift, list), move, server mute/deafen, the first-admin token and the
list of known users. Each handler starts like the core's own: the state
guard has run in `ServerCore.receive`; the handler checks the target exists,
then the permission (`_refuse`), then acts. docs/PERMISSIONS.md says who may
do what.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Any

from voip.proto import voip_pb2
from voip.protocol.permissions import (
    ADMIN_ROLE,
    BUILTIN_ROLES,
    EVERYONE,
    Perm,
    RoomAcl,
    acl_problem,
    perm_names,
)
from voip.server.access import AccessRules, SessionView, ban_sentence
from voip.server.actions import Close, Persist, Send, error_envelope, goodbye_envelope
from voip.server.limits import log_text
from voip.server.records import AclRecord, BanRecord, StoreChange, UserRecord
from voip.server.session_state import SessionEvent, next_state

logger = logging.getLogger(__name__)

ROLE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
MAX_REASON_LENGTH = 500

def _err(s: SessionView, rid: int, code: int, message: str) -> Send:
    return Send(s.id, error_envelope(code, message, rid))


def _ack(s: SessionView, rid: int) -> Send:
    return Send(s.id, voip_pb2.Envelope(request_id=rid, ack=voip_pb2.Ack()))


def _reply(s: SessionView, rid: int, **payload: Any) -> Send:
    return Send(s.id, voip_pb2.Envelope(request_id=rid, **payload))


def _ms(now: float) -> int:
    return int(now * 1000)


class ModerationHandlers(AccessRules):
    # --- ACLs -------------------------------------------------------------------------

    def _on_get_acl(self, s: Any, env: voip_pb2.Envelope, now: float) -> list[Any]:
        rid, room_id = env.request_id, env.get_acl.room_id
        if room_id not in self.state.rooms:
            return [self._no_room(s, rid, room_id)]
        name = self.state.rooms[room_id].name
        if refused := self._refuse(s, rid, Perm.WRITE, room_id, f"read the ACL of {name!r}"):
            return [refused]
        acl = self._acls.get(room_id, RoomAcl())
        reply = voip_pb2.RoomAcl(
            room_id=room_id, inherit=acl.inherit, entries=[e.to_proto() for e in acl.entries]
        )
        return [_reply(s, rid, room_acl=reply)]

    def _on_set_acl(self, s: Any, env: voip_pb2.Envelope, now: float) -> list[Any]:
        rid, req = env.request_id, env.set_acl
        if req.room_id not in self.state.rooms:
            return [self._no_room(s, rid, req.room_id)]
        name = self.state.rooms[req.room_id].name
        if refused := self._refuse(s, rid, Perm.WRITE, req.room_id, f"edit the ACL of {name!r}"):
            return [refused]
        acl = RoomAcl.from_stored(req)
        problem = acl_problem(acl, self._roles, self._users)
        if problem:
            return [_err(s, rid, voip_pb2.INVALID_ACL, f"ACL refused: {problem}")]
        if not self._subject(s.user_id).is_admin:
            used = 0
            for e in acl.entries:
                used |= e.allow | e.deny
            lacking = used & ~int(s.perms.get(req.room_id, Perm.NONE))
            if lacking:
                missing = ", ".join(perm_names(lacking))
                denied = error_envelope(
                    voip_pb2.PERMISSION_DENIED,
                    f"permission denied: you may only allow or deny permissions you hold in "
                    f"{name!r} yourself, and you lack {missing} (ask an admin)",
                    rid,
                )
                denied.error.missing_permission = lacking
                return [Send(s.id, denied)]
        self._acls[req.room_id] = acl
        actions: list[Any] = [
            Persist(StoreChange(acls=(AclRecord(req.room_id, acl),), reason="ACL set"))
        ]
        actions += self._refresh_permissions(start=req.room_id)
        actions.append(_ack(s, rid))
        logger.info(
            "user %d set the ACL of room %d (%d entries)", s.user_id, req.room_id, len(acl.entries)
        )
        return actions

    # --- roles --------------------------------------------------------------------------

    def _on_list_roles(self, s: Any, env: voip_pb2.Envelope, now: float) -> list[Any]:
        holders: dict[str, list[int]] = {r: [] for r in (*self._roles, ADMIN_ROLE)}
        for record in sorted(self._users.values(), key=lambda r: r.id):
            for role in record.roles:
                holders.setdefault(role, []).append(record.id)
        roles = [voip_pb2.RoleInfo(name=EVERYONE, builtin=True)]
        roles += [
            voip_pb2.RoleInfo(name=name, builtin=name in BUILTIN_ROLES, user_ids=ids)
            for name, ids in holders.items()
            if name in self._roles or name in BUILTIN_ROLES
        ]
        roles.sort(key=lambda r: r.name)
        return [_reply(s, env.request_id, role_list=voip_pb2.RoleList(roles=roles))]

    def _on_create_role(self, s: Any, env: voip_pb2.Envelope, now: float) -> list[Any]:
        rid, name = env.request_id, env.create_role.name
        if refused := self._refuse(s, rid, Perm.MANAGE_ROLES, self.root_id, "create roles"):
            return [refused]
        if not ROLE_NAME.fullmatch(name):
            return [
                _err(
                    s,
                    rid,
                    voip_pb2.INVALID_NAME,
                    f"role name {name!r} refused: use 1 to 32 letters, digits, '_', '.' or '-', "
                    "starting with a letter or digit",
                )
            ]
        if name in self._roles or name in BUILTIN_ROLES:
            return [_err(s, rid, voip_pb2.ROLE_EXISTS, f"the role {name!r} already exists")]
        self._roles.add(name)
        return [Persist(StoreChange(roles=(name,), reason="role created")), _ack(s, rid)]

    def _on_delete_role(self, s: Any, env: voip_pb2.Envelope, now: float) -> list[Any]:
        rid, name = env.request_id, env.delete_role.name
        if refused := self._refuse(s, rid, Perm.MANAGE_ROLES, self.root_id, "delete roles"):
            return [refused]
        if name in BUILTIN_ROLES:
            return [
                _err(
                    s,
                    rid,
                    voip_pb2.INVALID_NAME,
                    f"the role {name!r} is built in; it cannot be deleted",
                )
            ]
        if name not in self._roles:
            return [self._no_role(s, rid, name)]
        self._roles.discard(name)
        users = tuple(
            replace(r, roles=tuple(x for x in r.roles if x != name))
            for r in self._users.values()
            if name in r.roles
        )
        acls = tuple(
            AclRecord(
                room_id, RoomAcl(acl.inherit, tuple(e for e in acl.entries if e.role != name))
            )
            for room_id, acl in self._acls.items()
            if any(e.role == name for e in acl.entries)
        )
        for record in users:
            self._remember(record)
        for a in acls:
            self._acls[a.room_id] = a.acl
        actions: list[Any] = [
            Persist(
                StoreChange(users=users, acls=acls, deleted_roles=(name,), reason="role deleted")
            )
        ]
        for record in users:
            actions += self._roles_changed(record)
        actions += self._refresh_permissions()
        actions.append(_ack(s, rid))
        return actions

    def _on_grant_role(self, s: Any, env: voip_pb2.Envelope, now: float) -> list[Any]:
        return self._set_role(s, env.request_id, env.grant_role.user_id, env.grant_role.role, True)

    def _on_revoke_role(self, s: Any, env: voip_pb2.Envelope, now: float) -> list[Any]:
        return self._set_role(
            s, env.request_id, env.revoke_role.user_id, env.revoke_role.role, False
        )

    def _set_role(self, s: Any, rid: int, user_id: int, role: str, grant: bool) -> list[Any]:
        verb = "grant" if grant else "revoke"
        if refused := self._refuse(s, rid, Perm.MANAGE_ROLES, self.root_id, f"{verb} roles"):
            return [refused]
        if role == EVERYONE:
            return [
                _err(
                    s,
                    rid,
                    voip_pb2.INVALID_NAME,
                    "everyone holds the role 'everyone'; it cannot be granted or revoked",
                )
            ]
        if role not in self._roles and role != ADMIN_ROLE:
            return [self._no_role(s, rid, role)]
        if role == ADMIN_ROLE and not self._subject(s.user_id).is_admin:
            denied = error_envelope(
                voip_pb2.PERMISSION_DENIED,
                f"permission denied: only an admin may {verb} the admin role",
                rid,
            )
            denied.error.missing_permission = int(Perm.ADMIN)
            return [Send(s.id, denied)]
        record = self._users.get(user_id)
        if record is None:
            return [self._no_user(s, rid, user_id, online=False)]
        roles = set(record.roles)
        roles = roles | {role} if grant else roles - {role}
        if roles == set(record.roles):
            return [_ack(s, rid)]
        record = replace(record, roles=tuple(sorted(roles)))
        self._remember(record)
        actions: list[Any] = [Persist(StoreChange(users=(record,), reason=f"role {verb}ed"))]
        actions += self._roles_changed(record)
        target = self._session_of_user.get(user_id)
        if target is not None:
            actions += self._refresh_permissions([self._sessions[target]])
        actions.append(_ack(s, rid))
        logger.info("user %d %sed role %r for user %d", s.user_id, verb, role, user_id)
        return actions

    def _roles_changed(self, record: UserRecord) -> list[Any]:
        if record.id not in self.state.users:
            return []
        update = voip_pb2.StateUpdate(
            user_roles_changed=voip_pb2.UserRolesChanged(
                user_id=record.id, roles=list(record.roles)
            )
        )
        return self._change(update)

    def _on_redeem_admin_token(self, s: Any, env: voip_pb2.Envelope, now: float) -> list[Any]:
        rid, token = env.request_id, env.redeem_admin_token.token
        if not self._redeem_token(token):
            return [
                _err(
                    s,
                    rid,
                    voip_pb2.BAD_TOKEN,
                    "that admin token is wrong or was already used; the server prints a "
                    "valid one in its log while nobody is admin",
                )
            ]
        record = self._users[s.user_id]
        record = replace(record, roles=tuple(sorted({*record.roles, ADMIN_ROLE})))
        self._remember(record)
        actions: list[Any] = [
            Persist(StoreChange(users=(record,), admin_token="", reason="admin token redeemed"))
        ]
        actions += self._roles_changed(record)
        actions += self._refresh_permissions([s])
        actions.append(_ack(s, rid))
        logger.warning(
            "user %d (%s) redeemed the admin token and is now an admin", record.id, record.name
        )
        return actions

    # --- users: kick, ban, move, mute ---------------------------------------------------

    def _on_kick_user(self, s: Any, env: voip_pb2.Envelope, now: float) -> list[Any]:
        rid, req = env.request_id, env.kick_user
        if refused := self._refuse(s, rid, Perm.KICK, self.root_id, "kick users"):
            return [refused]
        target = self._online_target(s, rid, req.user_id, "kick")
        if isinstance(target, Send):
            return [target]
        if len(req.reason) > MAX_REASON_LENGTH:
            return [self._long_reason(s, rid)]
        me = self.state.users[s.user_id].name
        reason = f": {req.reason}" if req.reason else ""
        actions = self._eject(target, voip_pb2.KICKED, f"you were kicked by {me}{reason}", now)
        actions.append(_ack(s, rid))
        logger.info(
            "user %d kicked user %d (%s)", s.user_id, target.user_id, log_text(req.reason)
        )
        return actions

    def _on_ban_user(self, s: Any, env: voip_pb2.Envelope, now: float) -> list[Any]:
        rid, req = env.request_id, env.ban_user
        if refused := self._refuse(s, rid, Perm.BAN, self.root_id, "ban users"):
            return [refused]
        if len(req.reason) > MAX_REASON_LENGTH:
            return [self._long_reason(s, rid)]
        if req.user_id:
            record = self._users.get(req.user_id)
            if record is None:
                return [self._no_user(s, rid, req.user_id, online=False)]
            key = record.public_key
        elif len(req.public_key) == 32:
            key = bytes(req.public_key)
            known = self._user_id_by_key.get(key)
            record = self._users.get(known) if known is not None else None
        else:
            return [
                _err(
                    s,
                    rid,
                    voip_pb2.MALFORMED_MESSAGE,
                    "name the user to ban by user_id or a 32-byte public_key",
                )
            ]
        if record is not None:
            if record.id == s.user_id:
                return [_err(s, rid, voip_pb2.PERMISSION_DENIED, "you cannot ban yourself")]
            if ADMIN_ROLE in record.roles and not self._subject(s.user_id).is_admin:
                return [self._protected(s, rid, "ban")]
        ban = BanRecord(
            public_key=key,
            reason=req.reason,
            until_ms=_ms(now) + req.duration_s * 1000 if req.duration_s else 0,
            created_ms=_ms(now),
            by_user_id=s.user_id,
            name=record.name if record else "",
            user_id=record.id if record else 0,
        )
        self._bans[key] = ban
        actions: list[Any] = [Persist(StoreChange(bans=(ban,), reason="ban"))]
        online = self._session_of_user.get(record.id) if record else None
        if online is not None:
            actions += self._eject(self._sessions[online], voip_pb2.BANNED, ban_sentence(ban), now)
        actions.append(_ack(s, rid))
        logger.info(
            "user %d banned key %s (%s)", s.user_id, key.hex()[:16], log_text(req.reason)
        )
        return actions

    def _on_unban(self, s: Any, env: voip_pb2.Envelope, now: float) -> list[Any]:
        rid, key = env.request_id, bytes(env.unban.public_key)
        if refused := self._refuse(s, rid, Perm.BAN, self.root_id, "lift bans"):
            return [refused]
        if self._ban_in_force(key, _ms(now)) is None:
            self._bans.pop(key, None)
            return [
                _err(
                    s,
                    rid,
                    voip_pb2.NOT_BANNED,
                    "that key is not banned; list the bans to see which are",
                )
            ]
        del self._bans[key]
        return [Persist(StoreChange(lifted_bans=(key,), reason="ban lifted")), _ack(s, rid)]

    def _on_list_bans(self, s: Any, env: voip_pb2.Envelope, now: float) -> list[Any]:
        rid = env.request_id
        if refused := self._refuse(s, rid, Perm.BAN, self.root_id, "list bans"):
            return [refused]
        bans = sorted(
            (b for b in self._bans.values() if b.in_force(_ms(now))), key=lambda b: b.created_ms
        )
        infos = [
            voip_pb2.BanInfo(
                public_key=b.public_key,
                user_id=b.user_id,
                name=b.name,
                reason=b.reason,
                until_ms=b.until_ms,
                created_ms=b.created_ms,
                by_user_id=b.by_user_id,
            )
            for b in bans
        ]
        return [_reply(s, rid, ban_list=voip_pb2.BanList(bans=infos))]

    def _on_move_user(self, s: Any, env: voip_pb2.Envelope, now: float) -> list[Any]:
        rid, req = env.request_id, env.move_user
        target = self._online_target(s, rid, req.user_id, "move", allow_self=True)
        if isinstance(target, Send):
            return [target]
        if req.room_id not in self.state.rooms:
            return [self._no_room(s, rid, req.room_id)]
        here = self.state.users[target.user_id].room_id
        if here == req.room_id:
            return [_err(s, rid, voip_pb2.ALREADY_IN_ROOM, "that user is already in that room")]
        src, dst = self.state.rooms[here].name, self.state.rooms[req.room_id].name
        if refused := self._refuse(s, rid, Perm.MOVE, here, f"move users out of {src!r}"):
            return [refused]
        if refused := self._refuse(s, rid, Perm.MOVE, req.room_id, f"move users into {dst!r}"):
            return [refused]
        update = voip_pb2.StateUpdate(
            user_moved=voip_pb2.UserMoved(user_id=target.user_id, room_id=req.room_id)
        )
        actions = self._change(update)
        actions += self._sync_route(target)
        actions += self._entered(target, req.room_id, now)
        actions.append(_ack(s, rid))
        return actions

    def _on_set_server_mute(self, s: Any, env: voip_pb2.Envelope, now: float) -> list[Any]:
        rid, req = env.request_id, env.set_server_mute
        target = self._online_target(s, rid, req.user_id, "mute", allow_self=True)
        if isinstance(target, Send):
            return [target]
        user = self.state.users[target.user_id]
        room = self.state.rooms[user.room_id].name
        if refused := self._refuse(
            s, rid, Perm.MUTE_DEAFEN, user.room_id, f"mute or deafen users in {room!r}"
        ):
            return [refused]
        if (user.server_mute, user.server_deaf) == (req.server_mute, req.server_deaf):
            return [_ack(s, rid)]
        update = voip_pb2.StateUpdate(
            user_server_muted=voip_pb2.UserServerMuted(
                user_id=user.id, server_mute=req.server_mute, server_deaf=req.server_deaf
            )
        )
        actions = self._change(update)
        actions += self._sync_route(target)
        actions.append(_ack(s, rid))
        return actions

    def _on_list_users(self, s: Any, env: voip_pb2.Envelope, now: float) -> list[Any]:
        rid = env.request_id
        if not (
            self._may(s, Perm.BAN, self.root_id) or self._may(s, Perm.MANAGE_ROLES, self.root_id)
        ):
            refused = self._refuse(s, rid, Perm.MANAGE_ROLES, self.root_id, "list the known users")
            return [refused]
        users = [
            voip_pb2.KnownUser(
                id=r.id,
                name=r.name,
                public_key=r.public_key,
                roles=list(r.roles),
                online=r.id in self._session_of_user,
                last_seen_ms=r.last_seen_ms,
            )
            for r in sorted(self._users.values(), key=lambda r: r.id)
        ]
        return [_reply(s, rid, user_list=voip_pb2.UserList(users=users))]

    # --- helpers ------------------------------------------------------------------------

    def _eject(self, target: Any, code: int, message: str, now: float) -> list[Any]:
        """Goodbye, close, and take the user out of the state (kick and ban)."""
        actions: list[Any] = [
            Send(target.id, goodbye_envelope(code, message)),
            Close(target.id, code, message),
        ]
        actions += self._remove_user(target, now)
        target.state = next_state(target.state, SessionEvent.KICKED)
        return actions

    def _online_target(
        self, s: Any, rid: int, user_id: int, verb: str, allow_self: bool = False
    ) -> Any:
        """The target's session, or the error to send."""
        sid = self._session_of_user.get(user_id)
        if sid is None:
            return self._no_user(s, rid, user_id, online=True)
        if user_id == s.user_id and not allow_self:
            return _err(s, rid, voip_pb2.PERMISSION_DENIED, f"you cannot {verb} yourself")
        if (
            user_id != s.user_id
            and self._subject(user_id).is_admin
            and not self._subject(s.user_id).is_admin
        ):
            return self._protected(s, rid, verb)
        return self._sessions[sid]

    @staticmethod
    def _protected(s: SessionView, rid: int, verb: str) -> Send:
        env = error_envelope(
            voip_pb2.PERMISSION_DENIED, f"permission denied: only an admin may {verb} an admin", rid
        )
        env.error.missing_permission = int(Perm.ADMIN)
        return Send(s.id, env)

    @staticmethod
    def _long_reason(s: SessionView, rid: int) -> Send:
        return _err(
            s,
            rid,
            voip_pb2.MALFORMED_MESSAGE,
            f"the reason is longer than {MAX_REASON_LENGTH} characters",
        )

    def _no_room(self, s: SessionView, rid: int, room_id: int) -> Send:
        return _err(
            s, rid, voip_pb2.UNKNOWN_ROOM, f"room {room_id} does not exist; resync your room list"
        )

    @staticmethod
    def _no_role(s: SessionView, rid: int, role: str) -> Send:
        return _err(
            s,
            rid,
            voip_pb2.UNKNOWN_ROLE,
            f"there is no role {role!r}; list the roles to see which exist",
        )

    @staticmethod
    def _no_user(s: SessionView, rid: int, user_id: int, online: bool) -> Send:
        if online:
            return _err(s, rid, voip_pb2.UNKNOWN_USER, f"user {user_id} is not connected")
        return _err(s, rid, voip_pb2.UNKNOWN_USER, f"user {user_id} is not known to this server")
