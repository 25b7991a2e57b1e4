"""Trust decisions and the known servers file."""

from __future__ import annotations

from pathlib import Path

from voip.client.trust import (
    KnownServers,
    Mismatch,
    Pinned,
    Unknown,
    Verified,
    decide,
)
from voip.protocol.fingerprint import format_fingerprint

FP_A = bytes(range(32))
FP_B = bytes(range(1, 33))


def test_decisions() -> None:
    addr = "example.org:7731"
    assert decide(addr, FP_A, verifies=True, pinned=None) == Verified()
    assert decide(addr, FP_A, verifies=False, pinned=None) == Unknown(format_fingerprint(FP_A))
    assert decide(addr, FP_A, verifies=False, pinned=format_fingerprint(FP_A)) == Pinned()
    mismatch = decide(addr, FP_B, verifies=True, pinned=format_fingerprint(FP_A))
    assert isinstance(mismatch, Mismatch)
    text = str(mismatch.error)
    assert format_fingerprint(FP_A) in text and format_fingerprint(FP_B) in text and addr in text


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
