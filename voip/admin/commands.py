"""What each `voip-admin` command asks the server, and how its answer is shown.

A command is a function from parsed arguments and a connected `Link` to a
`Result` (rows for the table or JSON, a line of text, an exit code). The
link is only "send this request, give me its answer, and the shared state
you hold", so the commands know nothing of QUIC.
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from google.protobuf.message import Message

from voip.admin.link import Refused
from voip.client.address import ServerAddress
from voip.proto import voip_pb2
from voip.protocol.join_link import join_link as make_link
from voip.protocol.permissions import PERM_BY_NAME, parse_perms, perm_names
from voip.protocol.state import StateModel

#: Exit codes (docs/ADMIN.md).
OK = 0
USAGE = 2
CONNECT_FAILED = 3
DENIED = 4
REFUSED = 5


class Link(Protocol):
    """A connected, authenticated session with the server."""

    user_id: int
    welcome: voip_pb2.Welcome
    address: ServerAddress

    @property
    def state(self) -> StateModel: ...

    async def request(self, kind: str, message: Message) -> Message | None:
        """The reply (None for an ack); raises `Refused` (code name, sentence)."""
        ...


class CommandError(Exception):
    """The command cannot be carried out; `code` is the exit code."""

    def __init__(self, message: str, code: int = REFUSED, error_code: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.error_code = error_code


@dataclass
class Result:
    text: str = ""
    rows: list[dict[str, Any]] = field(default_factory=list)
    data: dict[str, Any] | None = None  # JSON object (instead of rows)


async def ask(link: Link, kind: str, message: Message) -> Any:
    """Send a request: its reply message (None for an ack), or CommandError with the
    server's sentence."""
    try:
        return await link.request(kind, message)
    except Refused as exc:
        exit_code = DENIED if exc.code == "PERMISSION_DENIED" else REFUSED
        raise CommandError(str(exc), exit_code, exc.code) from None


# --- naming users and rooms --------------------------------------------------------


def room_id(link: Link, spec: str) -> int:
    """A room by id or by name (case-insensitive; must be unique)."""
    rooms = link.state.rooms
    if spec.isdigit() and int(spec) in rooms:
        return int(spec)
    matches = [r.id for r in rooms.values() if r.name.casefold() == spec.casefold()]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise CommandError(f"{len(matches)} rooms are called {spec!r}; give its id", USAGE)
    raise CommandError(f"no room is called {spec!r}; 'voip-admin rooms' lists them", USAGE)


async def user_id(link: Link, spec: str) -> int:
    """A user by id, by name (online first, then known users) or by public key (hex)."""
    if spec.isdigit():
        return int(spec)
    folded = spec.casefold()
    online = [u.id for u in link.state.users.values() if u.name.casefold() == folded]
    if len(online) == 1:
        return online[0]
    known = (await ask(link, "list_users", voip_pb2.ListUsers())).users
    by_key = [u.id for u in known if u.public_key.hex() == spec.lower()]
    by_name = [u.id for u in known if u.name.casefold() == folded]
    found = by_key or by_name
    if len(found) == 1:
        return found[0]
    if found:
        raise CommandError(f"{len(found)} known users are called {spec!r}; give an id", USAGE)
    raise CommandError(f"no user is called {spec!r}; 'voip-admin users' lists them", USAGE)


def parse_duration(text: str) -> int:
    """`"90"`, `"30m"`, `"2h"`, `"7d"` -> seconds; `"0"`/`"forever"` -> 0."""
    if text in ("0", "forever", "permanent"):
        return 0
    match = re.fullmatch(r"(\d+)([smhd]?)", text.strip())
    if not match:
        raise CommandError(f"duration {text!r}: use seconds or 30m, 2h, 7d", USAGE)
    scale = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    return int(match.group(1)) * scale


def parse_entry(text: str) -> voip_pb2.AclEntry:
    """`role=mod allow=kick,ban deny=text [here] [subs]` -> AclEntry.

    Without `here`/`subs` the entry applies to both; `user=ID` instead of
    `role=NAME` names a user.
    """
    entry = voip_pb2.AclEntry()
    scope: set[str] = set()
    for word in text.split():
        key, _, value = word.partition("=")
        try:
            if key == "role":
                entry.role = value
            elif key == "user":
                entry.user_id = int(value)
            elif key == "allow":
                entry.allow = int(parse_perms(value))
            elif key == "deny":
                entry.deny = int(parse_perms(value))
            elif key in ("here", "subs") and not value:
                scope.add(key)
            else:
                raise ValueError(f"unknown word {word!r}")
        except ValueError as exc:
            raise CommandError(f"ACL entry {text!r}: {exc}", USAGE) from None
    entry.apply_here = not scope or "here" in scope
    entry.apply_subs = not scope or "subs" in scope
    return entry


def entry_text(e: voip_pb2.AclEntry) -> str:
    who = f"user={e.user_id}" if e.user_id else f"role={e.role}"
    parts = [who]
    if e.allow:
        parts.append("allow=" + ",".join(perm_names(e.allow)))
    if e.deny:
        parts.append("deny=" + ",".join(perm_names(e.deny)))
    if not (e.apply_here and e.apply_subs):
        parts.append("here" if e.apply_here else "subs")
    return " ".join(parts)


def _ms_text(ms: int) -> str:
    if not ms:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(ms / 1000))


# --- the commands -------------------------------------------------------------------


async def users(link: Link, args: argparse.Namespace) -> Result:
    known = (await ask(link, "list_users", voip_pb2.ListUsers())).users
    state = link.state.users
    rows = []
    for u in known:
        here = state.get(u.id)
        rows.append(
            {
                "id": u.id,
                "name": u.name,
                "online": u.online,
                "room": here.room_id if here else None,
                "roles": list(u.roles),
                "server_mute": bool(here and here.server_mute),
                "server_deaf": bool(here and here.server_deaf),
                "last_seen": _ms_text(u.last_seen_ms),
                "key": u.public_key.hex(),
            }
        )
    if args.online:
        rows = [r for r in rows if r["online"]]
    return Result(rows=rows)


async def rooms(link: Link, args: argparse.Namespace) -> Result:
    state = link.state
    rows = []
    for depth, room in state.walk():
        names = [u.name for u in state.users_in(room.id)]
        rows.append(
            {
                "id": room.id,
                "room": "  " * depth + room.name,
                "parent": room.parent_id,
                "users": ", ".join(sorted(names)),
            }
        )
    return Result(rows=rows)


async def roles(link: Link, args: argparse.Namespace) -> Result:
    if args.action == "list":
        listed = (await ask(link, "list_roles", voip_pb2.ListRoles())).roles
        rows = [{"role": r.name, "builtin": r.builtin, "users": list(r.user_ids)} for r in listed]
        return Result(rows=rows)
    if args.action in ("create", "delete"):
        if args.action == "create":
            await ask(link, "create_role", voip_pb2.CreateRole(name=args.name))
        else:
            await ask(link, "delete_role", voip_pb2.DeleteRole(name=args.name))
        return Result(text=f"role {args.name!r} {args.action}d")
    target = await user_id(link, args.user)
    if args.action == "grant":
        await ask(link, "grant_role", voip_pb2.GrantRole(user_id=target, role=args.name))
        return Result(text=f"user {target} holds role {args.name!r}")
    await ask(link, "revoke_role", voip_pb2.RevokeRole(user_id=target, role=args.name))
    return Result(text=f"user {target} no longer holds role {args.name!r}")


async def acl(link: Link, args: argparse.Namespace) -> Result:
    rid = room_id(link, args.room)
    if args.action == "show":
        got = await ask(link, "get_acl", voip_pb2.GetAcl(room_id=rid))
        data = {
            "room_id": rid,
            "inherit": got.inherit,
            "entries": [
                {
                    "user_id": e.user_id,
                    "role": e.role,
                    "allow": perm_names(e.allow),
                    "deny": perm_names(e.deny),
                    "apply_here": e.apply_here,
                    "apply_subs": e.apply_subs,
                }
                for e in got.entries
            ],
        }
        lines = [f"room {rid}: {'inherits' if got.inherit else 'does not inherit'}"]
        lines += [f"  {n}. {entry_text(e)}" for n, e in enumerate(got.entries, 1)]
        return Result(text="\n".join(lines), data=data)
    entries = [parse_entry(text) for text in args.entry]
    request = voip_pb2.SetAcl(room_id=rid, inherit=not args.no_inherit, entries=entries)
    await ask(link, "set_acl", request)
    return Result(text=f"room {rid}: ACL set ({len(entries)} entries)")


async def kick(link: Link, args: argparse.Namespace) -> Result:
    target = await user_id(link, args.user)
    await ask(link, "kick_user", voip_pb2.KickUser(user_id=target, reason=args.reason))
    return Result(text=f"user {target} kicked")


async def ban(link: Link, args: argparse.Namespace) -> Result:
    seconds = parse_duration(args.duration)
    request = voip_pb2.BanUser(duration_s=seconds, reason=args.reason)
    if args.key:
        request.public_key = _key(args.key)
    elif args.user:
        request.user_id = await user_id(link, args.user)
    else:
        raise CommandError("name the user to ban, or give --key", USAGE)
    await ask(link, "ban_user", request)
    what = f"user {request.user_id}" if request.user_id else f"key {args.key}"
    return Result(text=f"{what} banned " + (f"for {seconds} s" if seconds else "permanently"))


async def unban(link: Link, args: argparse.Namespace) -> Result:
    await ask(link, "unban", voip_pb2.Unban(public_key=_key(args.key)))
    return Result(text="ban lifted")


async def bans(link: Link, args: argparse.Namespace) -> Result:
    listed = (await ask(link, "list_bans", voip_pb2.ListBans())).bans
    rows = [
        {
            "key": b.public_key.hex(),
            "user_id": b.user_id,
            "name": b.name,
            "reason": b.reason,
            "until": _ms_text(b.until_ms) if b.until_ms else "forever",
            "since": _ms_text(b.created_ms),
            "by": b.by_user_id,
        }
        for b in listed
    ]
    return Result(rows=rows)


async def move(link: Link, args: argparse.Namespace) -> Result:
    target = await user_id(link, args.user)
    rid = room_id(link, args.room)
    await ask(link, "move_user", voip_pb2.MoveUser(user_id=target, room_id=rid))
    return Result(text=f"user {target} moved to room {rid}")


async def mute(link: Link, args: argparse.Namespace) -> Result:
    target = await user_id(link, args.user)
    muted = args.command == "mute"
    request = voip_pb2.SetServerMute(
        user_id=target, server_mute=muted, server_deaf=muted and args.deaf
    )
    await ask(link, "set_server_mute", request)
    state = "deafened" if request.server_deaf else ("muted" if muted else "unmuted")
    return Result(text=f"user {target} {state}")


async def redeem(link: Link, args: argparse.Namespace) -> Result:
    await ask(link, "redeem_admin_token", voip_pb2.RedeemAdminToken(token=args.token))
    return Result(text=f"user {link.user_id} is now an admin")


def _key(text: str) -> bytes:
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise CommandError(f"key {text!r}: give the 64 hex digits of a public key", USAGE)
    return key


async def join_link(link: Link, args: argparse.Namespace) -> Result:
    """A browser join link: the server's address and what its Welcome says (docs/WEB.md)."""
    welcome = link.welcome
    page = args.page or welcome.web_page
    if not page:
        raise CommandError(
            "this server serves no page for browsers (voip-server --web-listen); give --page "
            "with the URL where the page is hosted",
            USAGE,
        )
    room = link.state.rooms[room_id(link, args.room)].name if args.room else ""
    hashes = tuple(welcome.web_certificate_hashes)
    text = make_link(page, link.address.host, link.address.port, hashes=hashes, room=room)
    return Result(text=text, data={"link": text, "room": room, "pinned_certificates": len(hashes)})


COMMANDS: dict[str, Callable[[Link, argparse.Namespace], Awaitable[Result]]] = {
    "users": users,
    "rooms": rooms,
    "roles": roles,
    "acl": acl,
    "kick": kick,
    "ban": ban,
    "unban": unban,
    "bans": bans,
    "move": move,
    "mute": mute,
    "unmute": mute,
    "redeem": redeem,
    "link": join_link,
}

#: Permission names for the help text.
PERMISSION_HELP = ", ".join(PERM_BY_NAME)
