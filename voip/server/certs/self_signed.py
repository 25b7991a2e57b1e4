"""The server's own self-signed certificate, generated once into the data dir.

Without operator files or ACME the server serves a self-signed certificate,
generated on first start and reused forever after, because clients pin its
fingerprint on first use (like SSH's known_hosts) and a new one would look
like an attack to them.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from voip.server.certs.bundle import (
    CertificateBundle,
    bundle_from_pem,
    load_bundle,
    write_private_file,
    write_public_file,
)

logger = logging.getLogger(__name__)

#: Long, because clients pin the self-signed certificate: replacing it makes every
#: client that knows the server refuse to connect until its user un-pins it.
SELF_SIGNED_VALIDITY = dt.timedelta(days=3650)

SELF_SIGNED_DIR = "tls"
SELF_SIGNED_CERT = "cert.pem"
SELF_SIGNED_KEY = "key.pem"


def generate_self_signed(
    hostnames: Sequence[str], validity: dt.timedelta = SELF_SIGNED_VALIDITY
) -> tuple[bytes, bytes]:
    """A fresh ECDSA P-256 key and self-signed certificate, as PEM (cert, key).

    P-256 rather than Ed25519: aioquic offers both, but ECDSA P-256 is the one
    signature algorithm every TLS 1.3 client must support.
    """
    names = list(hostnames) or ["localhost"]
    now = dt.datetime.now(dt.UTC)
    alt_names: list[x509.GeneralName] = []
    for host in names:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alt_names.append(x509.DNSName(host))
    for ip in ("127.0.0.1", "::1"):
        entry = x509.IPAddress(ipaddress.ip_address(ip))
        if entry not in alt_names:
            alt_names.append(entry)
    return self_signed_pem(
        names[0],
        alt_names,
        now - dt.timedelta(minutes=5),
        now + validity,
        [
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), False),
        ],
    )


def self_signed_pem(
    common_name: str,
    alt_names: Sequence[x509.GeneralName],
    not_before: dt.datetime,
    not_after: dt.datetime,
    extensions: Sequence[tuple[x509.ExtensionType, bool]] = (),
) -> tuple[bytes, bytes]:
    """A fresh ECDSA P-256 key and a certificate it signs itself, as PEM (cert, key).

    ``extensions``: (extension, critical) pairs added after the subject
    alternative names.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    cert = builder.sign(key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def load_or_create_self_signed(
    data_dir: Path, hostnames: Sequence[str] = ("localhost",)
) -> CertificateBundle:
    """The server's own self-signed certificate: generated on first run, then reused."""
    tls_dir = Path(data_dir) / SELF_SIGNED_DIR
    cert_path = tls_dir / SELF_SIGNED_CERT
    key_path = tls_dir / SELF_SIGNED_KEY
    if cert_path.exists() or key_path.exists():
        bundle = load_bundle(cert_path, key_path, source="self-signed")
        if bundle.remaining() <= dt.timedelta(0):
            logger.warning(
                "the self-signed certificate in %s expired on %s; clients that check dates "
                "will refuse it. Delete %s and %s to generate a new one (clients will then "
                "have to re-pin the new fingerprint)",
                tls_dir,
                bundle.not_after.isoformat(),
                cert_path,
                key_path,
            )
        return bundle
    cert_pem, key_pem = generate_self_signed(hostnames)
    tls_dir.mkdir(parents=True, exist_ok=True)
    # Key first: a crash in between leaves a key without cert, which the next start
    # reports clearly instead of silently regenerating and breaking every pin.
    write_private_file(key_path, key_pem)
    write_public_file(cert_path, cert_pem)
    bundle = bundle_from_pem(cert_pem, key_pem, "self-signed")
    logger.info(
        "generated a self-signed certificate in %s for %s, fingerprint %s",
        tls_dir,
        ", ".join(hostnames),
        bundle.fingerprint_text,
    )
    return bundle
