"""One certificate ready to serve (``CertificateBundle``) and how it reaches aioquic.

A server always has exactly one certificate in use, held as an immutable
``CertificateBundle``: from files the operator gave, from ACME, or
self-signed (``source.py`` chooses). This module parses and cross-checks PEM
chains and keys, writes key files safely, and installs a bundle into aioquic.

``apply_bundle`` swaps the certificate inside a live ``QuicConfiguration``:
aioquic's server shares one configuration object between all connections and
copies ``certificate``, ``certificate_chain`` and ``private_key`` into each
new connection's TLS context when that connection is created
(``QuicConnection._initialize``), so existing connections keep the old
certificate and every later one gets the new certificate, without a restart.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from voip.errors import CertificateError
from voip.protocol.fingerprint import certificate_fingerprint, format_fingerprint
from voip.server.certs.renewal import Validity

if TYPE_CHECKING:
    from aioquic.quic.configuration import QuicConfiguration

logger = logging.getLogger(__name__)

PrivateKey = (
    ec.EllipticCurvePrivateKey
    | rsa.RSAPrivateKey
    | ed25519.Ed25519PrivateKey
    | ed448.Ed448PrivateKey
)


@dataclass(frozen=True)
class CertificateBundle:
    """One certificate ready to serve: PEM chain (leaf first), PEM key and facts about it."""

    cert_chain_pem: bytes
    key_pem: bytes
    not_before: dt.datetime
    not_after: dt.datetime
    fingerprint: bytes
    is_self_signed: bool
    source: str  # "self-signed", "files" or "acme"

    @property
    def validity(self) -> Validity:
        return Validity(self.not_before, self.not_after)

    @property
    def fingerprint_text(self) -> str:
        return format_fingerprint(self.fingerprint)

    def leaf(self) -> x509.Certificate:
        return x509.load_pem_x509_certificates(self.cert_chain_pem)[0]

    def remaining(self, now: dt.datetime | None = None) -> dt.timedelta:
        """Time left before the certificate expires (negative once expired)."""
        if now is None:
            now = dt.datetime.now(dt.UTC)
        return self.not_after - now


# --- building bundles ---------------------------------------------------------------


def bundle_from_pem(cert_chain_pem: bytes, key_pem: bytes, source: str) -> CertificateBundle:
    """Parse and cross-check a PEM chain and key; ``CertificateError`` says what is wrong."""
    try:
        certificates = x509.load_pem_x509_certificates(cert_chain_pem)
    except ValueError as exc:
        raise CertificateError(
            f"the certificate ({source}) is not a PEM certificate: {exc}; "
            "give a file with '-----BEGIN CERTIFICATE-----' blocks, leaf first"
        ) from exc
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise CertificateError(
            f"the private key ({source}) is not an unencrypted PEM private key: {exc}; "
            "give a PEM key file without a passphrase"
        ) from exc
    if not isinstance(key, PrivateKey):
        raise CertificateError(
            f"the private key ({source}) is of type {type(key).__name__}, which TLS 1.3 "
            "cannot use; use an EC P-256/P-384, RSA or Ed25519 key"
        )
    leaf = certificates[0]
    if _public_bytes(key.public_key()) != _public_bytes(leaf.public_key()):
        raise CertificateError(
            f"the private key ({source}) does not match the certificate "
            f"(subject {leaf.subject.rfc4514_string()!r}); give the key that was used "
            "to request this certificate"
        )
    # Normalise: chain as clean PEM, leaf first; key as PKCS#8 (what aioquic's
    # load_cert_chain also understands if anyone writes it to one file).
    chain_pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates)
    normal_key = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return CertificateBundle(
        cert_chain_pem=chain_pem,
        key_pem=normal_key,
        not_after=leaf.not_valid_after_utc,
        not_before=leaf.not_valid_before_utc,
        fingerprint=certificate_fingerprint(leaf.public_bytes(serialization.Encoding.DER)),
        is_self_signed=leaf.issuer == leaf.subject,
        source=source,
    )


def _public_bytes(public_key: object) -> bytes:
    return public_key.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_bundle(cert_file: Path, key_file: Path, *, source: str = "files") -> CertificateBundle:
    """Load an operator-supplied certificate (``--cert``/``--key``)."""
    cert_file, key_file = Path(cert_file), Path(key_file)
    for what, path in (("certificate", cert_file), ("private key", key_file)):
        if not path.is_file():
            raise CertificateError(
                f"the {what} file {path} does not exist or is not a file; "
                "check the path given to --cert/--key"
            )
    try:
        cert_pem = cert_file.read_bytes()
        key_pem = key_file.read_bytes()
    except OSError as exc:
        raise CertificateError(f"cannot read the certificate or key: {exc}") from exc
    if b"-----BEGIN CERTIFICATE-----" not in cert_pem:
        raise CertificateError(
            f"{cert_file} is not a PEM certificate (no '-----BEGIN CERTIFICATE-----' line); "
            "convert it with 'openssl x509 -inform der -in FILE -out FILE.pem'"
        )
    if b"PRIVATE KEY-----" not in key_pem:
        raise CertificateError(
            f"{key_file} is not a PEM private key (no '-----BEGIN ... PRIVATE KEY-----' line)"
        )
    try:
        return bundle_from_pem(cert_pem, key_pem, source)
    except CertificateError as exc:
        raise CertificateError(f"{cert_file} / {key_file}: {exc}") from exc


def write_private_file(path: Path, data: bytes) -> None:
    """Write atomically with mode 0600 from the start, so a key is never readable by others."""
    _write_atomic(path, data, 0o600)


def write_public_file(path: Path, data: bytes) -> None:
    """Atomic write of a non-secret file (certificates)."""
    _write_atomic(path, data, 0o644)


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Write a temporary file with ``mode`` beside ``path``, sync it, then rename it over."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --- aioquic ----------------------------------------------------------------------


def apply_bundle(configuration: QuicConfiguration, bundle: CertificateBundle) -> None:
    """Install ``bundle`` into a live server configuration, for connections created from now on.

    Call it on the thread that runs the aioquic event loop (e.g. through
    ``loop.call_soon_threadsafe``): the three attributes are then replaced
    between two connection creations, never in the middle of one.
    """
    certificates = x509.load_pem_x509_certificates(bundle.cert_chain_pem)
    key = serialization.load_pem_private_key(bundle.key_pem, password=None)
    configuration.certificate = certificates[0]
    configuration.certificate_chain = certificates[1:]
    configuration.private_key = key
    logger.info(
        "serving certificate %s (%s, valid until %s) to new connections",
        bundle.fingerprint_text,
        bundle.source,
        bundle.not_after.isoformat(),
    )
