"""The ACME account key and the certificate stored under ``<data dir>/acme/`` (keys 0600).

Layout::

    account.key   the ACME account key (EC P-256, JWS ES256)
    cert.pem      the certificate chain, leaf first
    cert.key      the certificate's private key
    cert.json     which domain and CA directory the certificate came from
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import josepy as jose
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from voip.errors import AcmeError, CertificateError
from voip.server.certs.acme_settings import AcmeSettings
from voip.server.certs.bundle import (
    CertificateBundle,
    load_bundle,
    write_private_file,
    write_public_file,
)

logger = logging.getLogger(__name__)


class AcmeStore:
    """The files under ``<data dir>/acme``."""

    def __init__(self, data_dir: Path) -> None:
        self.directory = Path(data_dir) / "acme"
        self.account_key = self.directory / "account.key"
        self.cert = self.directory / "cert.pem"
        self.cert_key = self.directory / "cert.key"
        self.meta = self.directory / "cert.json"

    def load_or_create_account_key(self) -> jose.JWKEC:
        if self.account_key.exists():
            try:
                key = serialization.load_pem_private_key(
                    self.account_key.read_bytes(), password=None
                )
            except (OSError, ValueError) as exc:
                raise AcmeError(
                    f"the ACME account key {self.account_key} is unreadable: {exc}; "
                    "move it away to register a new account"
                ) from exc
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise AcmeError(f"the ACME account key {self.account_key} is not an EC key")
            return jose.JWKEC(key=key)
        key = ec.generate_private_key(ec.SECP256R1())
        write_private_file(
            self.account_key,
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        logger.info("created a new ACME account key in %s", self.account_key)
        return jose.JWKEC(key=key)

    def load(self, settings: AcmeSettings) -> CertificateBundle | None:
        """The stored certificate if it is for these settings and not expired."""
        if not self.cert.exists() or not self.cert_key.exists():
            return None
        try:
            bundle = load_bundle(self.cert, self.cert_key, source="acme")
            meta = json.loads(self.meta.read_text()) if self.meta.exists() else {}
        except (CertificateError, OSError, ValueError) as exc:
            logger.warning("ignoring the stored ACME certificate in %s: %s", self.directory, exc)
            return None
        if meta.get("directory_url") != settings.directory_url:
            logger.info(
                "the stored ACME certificate came from %s, not %s: ordering a new one",
                meta.get("directory_url"),
                settings.directory_url,
            )
            return None
        if settings.domain not in dns_names(bundle):
            logger.info(
                "the stored ACME certificate is for %s, not %s: ordering a new one",
                ", ".join(dns_names(bundle)),
                settings.domain,
            )
            return None
        if bundle.remaining() <= dt.timedelta(0):
            logger.info("the stored ACME certificate expired on %s", bundle.not_after)
            return None
        return bundle

    def save(self, bundle: CertificateBundle, settings: AcmeSettings) -> None:
        # Key first: a crash between the writes leaves a pair that load() rejects
        # (key does not match), which only costs one new order.
        write_private_file(self.cert_key, bundle.key_pem)
        write_public_file(self.cert, bundle.cert_chain_pem)
        write_public_file(
            self.meta,
            json.dumps(
                {
                    "domain": settings.domain,
                    "directory_url": settings.directory_url,
                    "not_after": bundle.not_after.isoformat(),
                    "fingerprint": bundle.fingerprint_text,
                },
                indent=2,
            ).encode(),
        )


def dns_names(bundle: CertificateBundle) -> list[str]:
    """The DNS names the leaf certificate is for (lower case)."""
    try:
        san = bundle.leaf().extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return [name.lower() for name in san.value.get_values_for_type(x509.DNSName)]
