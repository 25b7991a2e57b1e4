"""``voip-server admin ...``: grant or revoke the admin role offline, list known users, links.

For a server that is stopped (the database is locked while it runs): the
way back in when nobody can redeem the first-admin token, or when the last
admin lost their key. A user is named by id, by public key (64 hex digits)
or by their last display name (case-insensitive, must match one user).
``link`` prints a browser join link (it reads only the web certificates, so
it works while the server runs). Exit codes: 0 done, 1 the database cannot
be opened or the user is not found or ambiguous, 2 usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from voip.errors import ConfigError, StorageError
from voip.protocol.permissions import ADMIN_ROLE
from voip.server.records import StoreChange, UserRecord
from voip.server.store import Store


class UserNotFound(LookupError):
    pass


def find_user(users: Sequence[UserRecord], spec: str) -> UserRecord:
    """The one user `spec` names (id, 64-hex key, or display name); UserNotFound if not."""
    spec = spec.strip()
    if spec.isdigit():
        for u in users:
            if u.id == int(spec):
                return u
        raise UserNotFound(f"no known user has id {spec}")
    if len(spec) == 64:
        try:
            key = bytes.fromhex(spec)
        except ValueError:
            key = b""
        for u in users:
            if key and u.public_key == key:
                return u
    matches = [u for u in users if u.name.casefold() == spec.casefold()]
    if len(matches) == 1:
        return matches[0]
    if matches:
        ids = ", ".join(str(u.id) for u in matches)
        raise UserNotFound(
            f"{len(matches)} known users are called {spec!r} (ids {ids}); give an id"
        )
    raise UserNotFound(
        f"no known user is called {spec!r} (a user is known once they connected); "
        "run 'voip-server admin list' to see them"
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="voip-server admin",
        description="Change admin roles in a stopped server's database (docs/PERMISSIONS.md).",
    )
    sub = p.add_subparsers(dest="command", required=True)
    for name, text in (("grant", "make a known user admin"), ("revoke", "take admin away")):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--data-dir", type=Path, required=True, help="the server's data dir")
        cmd.add_argument("--user", required=True, metavar="NAME|ID|KEY", help="who")
    listing = sub.add_parser("list", help="known users and their roles")
    listing.add_argument("--data-dir", type=Path, required=True, help="the server's data dir")
    listing.add_argument("--json", action="store_true", help="one JSON object per user")
    link = sub.add_parser(
        "link", help="print a join link for browsers (works while the server runs; docs/WEB.md)"
    )
    link.add_argument("--data-dir", type=Path, required=True, help="the server's data dir")
    link.add_argument(
        "--server", required=True, metavar="HOST:PORT", help="the QUIC address browsers reach"
    )
    link.add_argument(
        "--page",
        required=True,
        metavar="URL",
        help="where the page is served (voip-server --web-listen, or any static host)",
    )
    link.add_argument("--room", default="", metavar="NAME|ID", help="room to join after connecting")
    return p


def print_link(args: argparse.Namespace) -> int:
    """The join link from the web certificates in the data dir (none: a trusted certificate)."""
    from voip.protocol.join_link import join_link
    from voip.server.certs.web_cert import stored_hashes
    from voip.server.config import parse_listen

    try:
        host, port = parse_listen(args.server)
    except ConfigError as exc:
        print(f"voip-server admin: error: {exc}", file=sys.stderr)
        return 2
    hashes = stored_hashes(args.data_dir)
    if not hashes:
        print(
            "no WebTransport certificate in the data dir: the link assumes browsers trust the "
            "server's certificate (ACME or a CA's)",
            file=sys.stderr,
        )
    print(join_link(args.page, host, port, hashes=hashes, room=args.room))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "link":
        return print_link(args)
    try:
        store = Store.open(args.data_dir)
    except StorageError as exc:
        print(f"voip-server admin: error: {exc}", file=sys.stderr)
        return 1
    try:
        snapshot = store.load("Lobby")
        users = sorted(snapshot.users, key=lambda u: u.id)
        if args.command == "list":
            for u in users:
                if args.json:
                    row = {
                        "id": u.id,
                        "name": u.name,
                        "key": u.public_key.hex(),
                        "roles": list(u.roles),
                    }
                    print(json.dumps(row))
                else:
                    roles = ", ".join(u.roles) or "-"
                    print(f"{u.id:>6}  {u.name:<32}  {roles:<20}  {u.public_key.hex()}")
            return 0
        try:
            user = find_user(users, args.user)
        except UserNotFound as exc:
            print(f"voip-server admin: error: {exc}", file=sys.stderr)
            return 1
        held = set(user.roles)
        held = held | {ADMIN_ROLE} if args.command == "grant" else held - {ADMIN_ROLE}
        updated = replace(user, roles=tuple(sorted(held)))
        change = StoreChange(users=(updated,), reason=f"admin {args.command} (offline)")
        if args.command == "grant":  # someone is admin now: the token is not needed
            change = replace(change, admin_token="")
        store.write(change)
        verb = "is now an admin" if args.command == "grant" else "is no longer an admin"
        print(f"user {user.id} ({user.name}) {verb}")
        return 0
    except StorageError as exc:
        print(f"voip-server admin: error: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
