"""The known servers file (the decisions are in test_trust_policy.py)."""

from __future__ import annotations

from pathlib import Path

from voip.client.trust import KnownServers
from voip.protocol.fingerprint import format_fingerprint

FP_A = bytes(range(32))


def test_pins_persist(tmp_path: Path) -> None:
    known = KnownServers(tmp_path)
    assert known.pinned("a:1") is None
    known.pin("a:1", format_fingerprint(FP_A))
    again = KnownServers(tmp_path)
    assert again.pinned("a:1") == format_fingerprint(FP_A)
    assert again.load_problem is None


def test_unreadable_file_is_reported_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "known_servers.toml").write_text("[[[")
    known = KnownServers(tmp_path)
    assert known.pinned("a:1") is None
    assert known.load_problem is not None and "known_servers.toml" in known.load_problem
