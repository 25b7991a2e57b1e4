"""Which certificate the server starts with (no CA needed)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from voip.errors import ConfigError
from voip.server.certs import generate_self_signed
from voip.server.certs.acme_settings import AcmeSettings
from voip.server.certs.source import CertificateSettings, resolve_certificate

SETTINGS = AcmeSettings(domain="voice.example.org", email="ops@example.org")


def test_without_anything_the_self_signed_certificate_is_used(tmp_path: Path) -> None:
    bundle, manager = resolve_certificate(tmp_path, CertificateSettings())
    assert manager is None
    assert bundle.source == "self-signed"
    again, _ = resolve_certificate(tmp_path, CertificateSettings())
    assert again == bundle


def test_files_win(tmp_path: Path) -> None:
    cert_pem, key_pem = generate_self_signed(["files.example"])
    (tmp_path / "c.pem").write_bytes(cert_pem)
    (tmp_path / "k.pem").write_bytes(key_pem)
    bundle, manager = resolve_certificate(
        tmp_path, CertificateSettings(cert_file=tmp_path / "c.pem", key_file=tmp_path / "k.pem")
    )
    assert manager is None
    assert bundle.source == "files"


def test_cert_without_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="give both --cert and --key"):
        CertificateSettings(cert_file=tmp_path / "c.pem")


def test_files_and_acme_together_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="give only one"):
        CertificateSettings(
            cert_file=tmp_path / "c.pem", key_file=tmp_path / "k.pem", acme=SETTINGS
        )


def test_acme_without_stored_certificate_warns_loudly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="voip.server.certs"):
        bundle, manager = resolve_certificate(tmp_path, CertificateSettings(acme=SETTINGS))
    assert manager is not None
    assert not manager.running  # the caller starts it
    assert bundle.is_self_signed
    warning = next(r for r in caplog.records if r.levelno == logging.WARNING)
    assert "SELF-SIGNED" in warning.getMessage()
    assert "voice.example.org" in warning.getMessage()


def test_expired_operator_files_are_served_with_a_loud_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import datetime as dt

    cert_pem, key_pem = generate_self_signed(["files.example"], validity=-dt.timedelta(minutes=1))
    (tmp_path / "c.pem").write_bytes(cert_pem)
    (tmp_path / "k.pem").write_bytes(key_pem)
    files = CertificateSettings(cert_file=tmp_path / "c.pem", key_file=tmp_path / "k.pem")
    with caplog.at_level(logging.ERROR, logger="voip.server.certs"):
        bundle, _ = resolve_certificate(tmp_path, files)
    assert bundle.remaining() < dt.timedelta(0)
    assert any("EXPIRED" in r.getMessage() for r in caplog.records)
