"""The client's Ed25519 identity on disk."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from voip.errors import IdentityError
from voip.identity import KEY_FILE, load_or_create_identity, verify_signature


def test_created_with_private_permissions(tmp_path: Path) -> None:
    ident = load_or_create_identity(tmp_path / "cfg")
    mode = stat.S_IMODE((tmp_path / "cfg" / KEY_FILE).stat().st_mode)
    assert mode == 0o600
    assert len(ident.public_key) == 32


def test_reloaded_identity_is_the_same(tmp_path: Path) -> None:
    first = load_or_create_identity(tmp_path)
    second = load_or_create_identity(tmp_path)
    assert first.public_key == second.public_key
    assert verify_signature(first.public_key, b"data", second.sign(b"data"))


def test_other_dirs_get_other_keys(tmp_path: Path) -> None:
    assert load_or_create_identity(tmp_path / "a").public_key != \
        load_or_create_identity(tmp_path / "b").public_key


def test_signature_fails_for_other_data_and_keys(tmp_path: Path) -> None:
    a = load_or_create_identity(tmp_path / "a")
    b = load_or_create_identity(tmp_path / "b")
    sig = a.sign(b"challenge")
    assert verify_signature(a.public_key, b"challenge", sig)
    assert not verify_signature(a.public_key, b"challengE", sig)
    assert not verify_signature(b.public_key, b"challenge", sig)
    assert not verify_signature(a.public_key, b"challenge", bytes(64))
    assert not verify_signature(b"short", b"challenge", sig)


def test_loose_permissions_are_tightened(tmp_path: Path) -> None:
    load_or_create_identity(tmp_path)
    path = tmp_path / KEY_FILE
    path.chmod(0o644)
    load_or_create_identity(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_corrupt_key_gives_clear_error(tmp_path: Path) -> None:
    (tmp_path / KEY_FILE).write_text("not a key")
    (tmp_path / KEY_FILE).chmod(0o600)
    with pytest.raises(IdentityError, match="corrupt"):
        load_or_create_identity(tmp_path)
