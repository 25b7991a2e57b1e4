"""Self-signed generation and reuse, loading operator files, and hot swap into aioquic."""

from __future__ import annotations

import asyncio
import datetime as dt
import stat
from pathlib import Path
from types import ModuleType

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from voip.errors import CertificateError
from voip.protocol.fingerprint import certificate_fingerprint, format_fingerprint
from voip.server.certs import (
    CertificateBundle,
    apply_bundle,
    generate_self_signed,
    load_bundle,
    load_or_create_self_signed,
)


def test_self_signed_is_persisted_and_reused(tmp_path: Path) -> None:
    first = load_or_create_self_signed(tmp_path, ["voice.example"])
    again = load_or_create_self_signed(tmp_path, ["voice.example"])
    assert first == again
    assert first.source == "self-signed"
    assert first.is_self_signed
    assert first.remaining() > dt.timedelta(days=3000)
    key_mode = stat.S_IMODE((tmp_path / "tls" / "key.pem").stat().st_mode)
    assert key_mode == 0o600


def test_self_signed_names_and_loopback_ips(tmp_path: Path) -> None:
    bundle = load_or_create_self_signed(tmp_path, ["voice.example", "10.1.2.3"])
    san = bundle.leaf().extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["voice.example"]
    ips = {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    assert ips == {"10.1.2.3", "127.0.0.1", "::1"}


def test_fingerprint_is_sha256_of_leaf_der(tmp_path: Path) -> None:
    bundle = load_or_create_self_signed(tmp_path)
    der = bundle.leaf().public_bytes(serialization.Encoding.DER)
    assert bundle.fingerprint == certificate_fingerprint(der)
    assert len(bundle.fingerprint) == 32
    text = bundle.fingerprint_text
    assert text.startswith("SHA256:")
    assert text == format_fingerprint(bundle.fingerprint)
    assert len(text.split(":")) == 33
    assert format_fingerprint(bytes([0xAB, 0x01])) == "SHA256:AB:01"


def test_load_bundle_from_files(tmp_path: Path) -> None:
    cert_pem, key_pem = generate_self_signed(["files.example"])
    (tmp_path / "c.pem").write_bytes(cert_pem)
    (tmp_path / "k.pem").write_bytes(key_pem)
    bundle = load_bundle(tmp_path / "c.pem", tmp_path / "k.pem")
    assert bundle.source == "files"
    assert bundle.cert_chain_pem == cert_pem


def test_load_bundle_missing_file(tmp_path: Path) -> None:
    _cert_pem, key_pem = generate_self_signed(["x"])
    (tmp_path / "k.pem").write_bytes(key_pem)
    with pytest.raises(CertificateError, match="does not exist"):
        load_bundle(tmp_path / "nope.pem", tmp_path / "k.pem")


def test_load_bundle_not_pem(tmp_path: Path) -> None:
    cert_pem, key_pem = generate_self_signed(["x"])
    der = x509.load_pem_x509_certificate(cert_pem).public_bytes(serialization.Encoding.DER)
    (tmp_path / "c.der").write_bytes(der)
    (tmp_path / "k.pem").write_bytes(key_pem)
    with pytest.raises(CertificateError, match="not a PEM certificate"):
        load_bundle(tmp_path / "c.der", tmp_path / "k.pem")
    (tmp_path / "c.pem").write_bytes(cert_pem)
    (tmp_path / "garbage.pem").write_bytes(b"hello")
    with pytest.raises(CertificateError, match="not a PEM private key"):
        load_bundle(tmp_path / "c.pem", tmp_path / "garbage.pem")


def test_load_bundle_key_mismatch(tmp_path: Path) -> None:
    cert_pem, _ = generate_self_signed(["x"])
    _, other_key = generate_self_signed(["y"])
    (tmp_path / "c.pem").write_bytes(cert_pem)
    (tmp_path / "k.pem").write_bytes(other_key)
    with pytest.raises(CertificateError, match="does not match the certificate"):
        load_bundle(tmp_path / "c.pem", tmp_path / "k.pem")


def test_self_signed_with_lost_cert_is_reported(tmp_path: Path) -> None:
    load_or_create_self_signed(tmp_path)
    (tmp_path / "tls" / "cert.pem").unlink()
    with pytest.raises(CertificateError, match="does not exist"):
        load_or_create_self_signed(tmp_path)


def _bundle(tmp_path: Path, name: str) -> CertificateBundle:
    return load_or_create_self_signed(tmp_path / name, ["localhost"])


def test_apply_bundle_swaps_for_new_connections(tmp_path: Path, quic_probe: ModuleType) -> None:
    old = _bundle(tmp_path, "old")
    new = _bundle(tmp_path, "new")
    assert old.fingerprint != new.fingerprint

    async def scenario() -> None:
        configuration = quic_probe.server_configuration()
        apply_bundle(configuration, old)
        async with quic_probe.running_server(configuration) as port:
            client = quic_probe.client_configuration("localhost", cadata=old.cert_chain_pem)
            async with quic_probe.connect(
                "127.0.0.1", port, configuration=client, wait_connected=True
            ) as first:
                assert _fp(first._quic.tls._peer_certificate) == old.fingerprint
                apply_bundle(configuration, new)
                client = quic_probe.client_configuration("localhost", cadata=new.cert_chain_pem)
                second = await quic_probe.handshake_once(port, client)
                assert _fp(second) == new.fingerprint
                # The first connection keeps working on the old certificate.
                await asyncio.wait_for(first.ping(), 5)

    asyncio.run(asyncio.wait_for(scenario(), 30))


def _fp(certificate: x509.Certificate) -> bytes:
    return certificate_fingerprint(certificate.public_bytes(serialization.Encoding.DER))
