"""The browsers' short-lived certificate, its renewal, the join link and the name checks."""

from __future__ import annotations

import base64
import datetime as dt
import urllib.parse
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from voip.protocol.join_link import join_link
from voip.server.certs.self_signed import generate_self_signed
from voip.server.certs.web_cert import RENEW_BEFORE, VALIDITY, WebCertificates
from voip.server.webtransport import authority_host, hello_bindings

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


def test_certificates_are_p256_valid_at_most_14_days_and_the_next_follows(tmp_path: Path) -> None:
    certs = WebCertificates(tmp_path, ("voice.example.org",), now=NOW)
    for cert in (certs.current, certs.next):
        c = cert.certificate
        assert c.not_valid_after_utc - c.not_valid_before_utc <= dt.timedelta(days=14)
        key = c.public_key()
        assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"
    assert certs.current.not_before <= NOW < certs.current.not_after
    # The next one is valid from before it takes over until after.
    takeover = certs.current.not_after - RENEW_BEFORE
    assert certs.next.not_before <= takeover < certs.next.not_after - RENEW_BEFORE
    assert certs.current.sha256 != certs.next.sha256


def test_a_restart_keeps_both_and_renewal_rotates_them(tmp_path: Path) -> None:
    certs = WebCertificates(tmp_path, now=NOW)
    again = WebCertificates(tmp_path, now=NOW + dt.timedelta(days=1))
    assert again.hashes() == certs.hashes()
    due = again.current.not_after - RENEW_BEFORE
    assert due - NOW > VALIDITY - RENEW_BEFORE - dt.timedelta(hours=3)
    assert not again.renew_if_due(due - dt.timedelta(hours=1))
    later = due + dt.timedelta(minutes=30)
    old_next = again.next.sha256
    assert again.renew_if_due(later)
    assert again.current.sha256 == old_next
    assert again.current.not_before <= later < again.current.not_after
    # A link made before the renewal still names the certificate now served.
    assert again.current.sha256 in certs.hashes()
    assert WebCertificates(tmp_path, now=later).hashes() == again.hashes()


def test_expired_certificates_are_replaced_at_start(tmp_path: Path) -> None:
    certs = WebCertificates(tmp_path, now=NOW)
    much_later = NOW + dt.timedelta(days=60)
    fresh = WebCertificates(tmp_path, now=much_later)
    assert not set(fresh.hashes()) & set(certs.hashes())
    assert fresh.current.not_before <= much_later < fresh.current.not_after


def test_the_join_link_carries_address_hashes_and_room_in_its_fragment() -> None:
    link = join_link("https://page.example/", "::1", 7731, hashes=(b"\x01" * 32,), room="Café")
    page, _, fragment = link.partition("#")
    assert page == "https://page.example/"
    fields = urllib.parse.parse_qs(fragment)
    assert fields["server"] == ["[::1]:7731"]
    assert fields["room"] == ["Café"]
    (cert,) = fields["cert"]
    assert base64.urlsafe_b64decode(cert + "=") == b"\x01" * 32


def test_authority_hosts_and_certificate_names() -> None:
    assert authority_host("Voice.Example.org:443") == "voice.example.org"
    assert authority_host("[::1]:7731") == "::1"
    assert authority_host("127.0.0.1") == "127.0.0.1"
    cert_pem, _ = generate_self_signed(["voice.example.org"])
    cert = x509.load_pem_x509_certificate(cert_pem)
    assert len(hello_bindings(cert, "voice.example.org:7731")) == 2
    assert len(hello_bindings(cert, "127.0.0.1:7731")) == 2  # generated certs name loopback
    assert len(hello_bindings(cert, "other.example.org:7731")) == 1


def test_voip_server_admin_link_prints_the_join_link_of_a_data_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from voip.server.admin_cli import main

    certs = WebCertificates(tmp_path)
    code = main(
        ["link", "--data-dir", str(tmp_path), "--server", "voice.example.org:7731",
         "--page", "https://page.example/", "--room", "Studio"]
    )
    assert code == 0
    link = capsys.readouterr().out.strip()
    fields = urllib.parse.parse_qs(link.partition("#")[2])
    assert fields["server"] == ["voice.example.org:7731"] and fields["room"] == ["Studio"]
    assert [base64.urlsafe_b64decode(h + "=") for h in fields["cert"]] == list(certs.hashes())
    # A data dir without web certificates: a link for a server browsers trust.
    empty = str(tmp_path / "none")
    assert main(["link", "--data-dir", empty, "--server", "h:1", "--page", "p"]) == 0
    out = capsys.readouterr()
    assert "cert=" not in out.out and "trust" in out.err
    assert main(["link", "--data-dir", str(tmp_path), "--server", "nonsense", "--page", "p"]) == 2
