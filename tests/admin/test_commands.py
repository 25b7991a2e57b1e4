"""voip-admin's parsing and output, without a server (the commands run against one in
tests/server/test_voip_admin.py)."""

from __future__ import annotations

import pytest

from voip.admin.cli import build_parser, render, table
from voip.admin.commands import USAGE, CommandError, Result, entry_text, parse_duration, parse_entry
from voip.protocol.permissions import Perm


def test_acl_entries_parse_and_print_back() -> None:
    e = parse_entry("role=moderator allow=kick,ban deny=text subs")
    assert (e.role, e.allow, e.deny) == ("moderator", int(Perm.KICK | Perm.BAN), int(Perm.TEXT))
    assert not e.apply_here and e.apply_subs
    assert entry_text(e) == "role=moderator allow=kick,ban deny=text subs"
    both = parse_entry("user=12 allow=all")
    assert both.user_id == 12 and both.apply_here and both.apply_subs
    assert entry_text(both).startswith("user=12 allow=enter,speak,")


@pytest.mark.parametrize(
    ("text", "needle"),
    [("role=x allow=fly", "unknown permission 'fly'"), ("role=x colour=red", "unknown word")],
)
def test_bad_entries_are_usage_errors(text: str, needle: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_entry(text)
    assert caught.value.code == USAGE and needle in str(caught.value)


def test_durations() -> None:
    assert parse_duration("90") == 90
    assert parse_duration("30m") == 1800
    assert parse_duration("2h") == 7200
    assert parse_duration("7d") == 7 * 86400
    assert parse_duration("forever") == 0
    with pytest.raises(CommandError):
        parse_duration("soon")


def test_output_as_table_and_json() -> None:
    rows = [
        {"id": 1, "name": "alice", "roles": ["admin"], "online": True},
        {"id": 22, "name": "b", "roles": [], "online": False},
    ]
    text = table(rows)
    assert text.splitlines()[0].split() == ["id", "name", "roles", "online"]
    assert text.splitlines()[2].split() == ["22", "b", "-", "no"]
    assert render(Result(rows=rows), as_json=True).startswith('[{"id": 1')
    assert render(Result(text="done"), as_json=True) == '{"ok": true, "message": "done"}'


def test_usage_errors_exit_2() -> None:
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(["rooms"])  # --server is required
    assert caught.value.code == 2
    args = build_parser().parse_args(
        ["--server", "h", "ban", "--key", "ab" * 32, "--duration", "1h"]
    )
    assert args.command == "ban" and args.key == "ab" * 32
