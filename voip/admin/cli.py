"""``voip-admin``: administer a running server over the normal protocol.

It connects like any client, with an admin's key (the client's own key by
default, or ``--key FILE``), runs one command, prints the result (a table,
or JSON with ``--json``) and exits with a code scripts can test:

    0  done
    2  usage: bad arguments, or a user or room that does not exist
    3  could not connect or was refused at the hello (ban, name, password)
    4  the server refused: permission denied
    5  the server refused for another reason (the message says which)

The requests are the ones in docs/PROTOCOL.md ("Access control and
moderation"), the same a web admin would use.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from voip.admin.commands import (
    COMMANDS,
    CONNECT_FAILED,
    OK,
    PERMISSION_HELP,
    USAGE,
    CommandError,
    Result,
)
from voip.admin.link import ConnectFailed, LinkSettings, open_link

DEFAULT_NAME = "voip-admin"  # then -<short id of the key>


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="voip-admin",
        description="Administer a running voip server (docs/ADMIN.md).",
        epilog="exit codes: 0 done, 2 usage, 3 cannot connect, 4 permission denied, "
        "5 refused otherwise",
    )
    p.add_argument("--server", required=True, metavar="HOST[:PORT]", help="the server")
    p.add_argument(
        "--config-dir",
        type=Path,
        help="client config dir with the key and known servers (default: the client's)",
    )
    p.add_argument(
        "--name",
        help=f"display name (default {DEFAULT_NAME}-<your key's short id>, unique per key: "
        "an admin's name is reserved to their key)",
    )
    p.add_argument("--password", default="", help="the server password, if it has one")
    p.add_argument(
        "--fingerprint",
        metavar="SHA256:..",
        help="accept a self-signed server with this certificate fingerprint (and pin it)",
    )
    p.add_argument("--json", action="store_true", help="print JSON for scripts")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    users = sub.add_parser("users", help="known users (online and offline)")
    users.add_argument("--online", action="store_true", help="only connected users")
    sub.add_parser("rooms", help="the room tree and who is where")

    roles = sub.add_parser("roles", help="list, create, delete, grant, revoke roles")
    rsub = roles.add_subparsers(dest="action", required=True)
    rsub.add_parser("list")
    for action in ("create", "delete"):
        r = rsub.add_parser(action)
        r.add_argument("name")
    for action in ("grant", "revoke"):
        r = rsub.add_parser(action)
        r.add_argument("user", help="user id, name or key")
        r.add_argument("name", help="role")

    acl = sub.add_parser("acl", help="show or set a room's ACL")
    asub = acl.add_subparsers(dest="action", required=True)
    show = asub.add_parser("show")
    show.add_argument("room", help="room id or name")
    setter = asub.add_parser(
        "set",
        help="replace a room's ACL",
        description="Each --entry: 'role=NAME|user=ID allow=P,P deny=P [here] [subs]' "
        f"(permissions: {PERMISSION_HELP}, all; without here/subs: both).",
    )
    setter.add_argument("room", help="room id or name")
    setter.add_argument("--entry", action="append", default=[], help="one ACL entry, in order")
    setter.add_argument("--no-inherit", action="store_true", help="do not inherit from above")

    kick = sub.add_parser("kick", help="disconnect a user, with a reason they see")
    kick.add_argument("user")
    kick.add_argument("--reason", default="")
    ban = sub.add_parser("ban", help="ban a user's key")
    ban.add_argument("user", nargs="?", help="user id, name or key")
    ban.add_argument("--key", help="ban this public key (64 hex digits) instead")
    ban.add_argument("--duration", default="0", help="90, 30m, 2h, 7d (default: for good)")
    ban.add_argument("--reason", default="")
    unban = sub.add_parser("unban", help="lift the ban on a key")
    unban.add_argument("key", help="public key, 64 hex digits ('voip-admin bans' shows them)")
    sub.add_parser("bans", help="bans in force")
    move = sub.add_parser("move", help="move a user to a room")
    move.add_argument("user")
    move.add_argument("room")
    mute = sub.add_parser("mute", help="server-mute (or with --deaf, deafen) a user")
    mute.add_argument("user")
    mute.add_argument("--deaf", action="store_true", help="deafen as well")
    unmute = sub.add_parser("unmute", help="lift server mute and deafen")
    unmute.add_argument("user")
    redeem = sub.add_parser("redeem", help="redeem the first-admin token from the server log")
    redeem.add_argument("token")
    link = sub.add_parser("link", help="a join link for browsers, optionally into a room")
    link.add_argument("--room", default="", metavar="NAME|ID", help="room to join on arrival")
    link.add_argument(
        "--page", metavar="URL", help="where the page is hosted (default: the server's own)"
    )
    return p


def render(result: Result, as_json: bool) -> str:
    if as_json:
        if result.data is not None:
            return json.dumps(result.data)
        if result.rows or not result.text:
            return json.dumps(result.rows)
        return json.dumps({"ok": True, "message": result.text})
    if result.rows:
        return table(result.rows)
    return result.text


def table(rows: list[dict[str, Any]]) -> str:
    columns = list(rows[0])
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "-"
    return str(value)


async def run(args: argparse.Namespace) -> tuple[int, str]:
    settings = LinkSettings(
        server=args.server,
        config_dir=args.config_dir,
        name=args.name,
        password=args.password,
        fingerprint=args.fingerprint,
    )
    try:
        async with open_link(settings) as link:
            result = await COMMANDS[args.command](link, args)
    except ConnectFailed as exc:
        if args.json:
            return CONNECT_FAILED, json.dumps(
                {"ok": False, "error": "CONNECT", "message": str(exc)}
            )
        return CONNECT_FAILED, f"voip-admin: {exc}"
    except CommandError as exc:
        return exc.code, _error_text(exc, args.json)
    return OK, render(result, args.json)


def _error_text(exc: CommandError, as_json: bool) -> str:
    if as_json:
        return json.dumps({"ok": False, "error": exc.error_code or "USAGE", "message": str(exc)})
    return f"voip-admin: {exc}"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code, text = asyncio.run(run(args))
    stream = sys.stdout if code == OK or args.json else sys.stderr
    if text:
        print(text, file=stream)
    return code if code != USAGE or not text else USAGE
