"""The short-lived certificate browsers pin by hash, and the join link.

A browser opens a WebTransport session only to a server whose certificate it
can verify: one that chains to its trust store (ACME, a CA's), or one named
in ``serverCertificateHashes`` by its SHA-256, which browsers accept only for
an ECDSA certificate valid for at most 14 days. A self-signed server
therefore keeps two such certificates in its data dir, the current one and
the next: each is valid `VALIDITY` days from its creation, the next is made
at once, and when the current one has less than `RENEW_BEFORE` left the
next takes its place and a new next is made. A join link carries both
hashes, so a link keeps working across one renewal (at least
`VALIDITY - RENEW_BEFORE` days after it was made).

The native certificate is not touched: native clients pin it for years.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from voip.protocol.fingerprint import certificate_fingerprint
from voip.server.certs.bundle import write_private_file, write_public_file
from voip.server.certs.self_signed import SELF_SIGNED_DIR, self_signed_pem

logger = logging.getLogger(__name__)

#: Browsers refuse ``serverCertificateHashes`` certificates valid longer than 14 days.
VALIDITY = dt.timedelta(days=13)
#: The current certificate is replaced by the next this long before it expires.
RENEW_BEFORE = dt.timedelta(days=6)
#: How often the server checks whether it is time to renew.
CHECK_INTERVAL = dt.timedelta(hours=1)
SLOTS = ("web-current", "web-next")
#: A certificate starts this long before it is needed (clock skew, the check interval).
START_MARGIN = dt.timedelta(hours=2)


@dataclass(frozen=True)
class WebIdentity:
    """The certificate served to ``h3`` connections instead of the server's own."""

    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class WebCertificate:
    cert_pem: bytes
    key_pem: bytes

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem)

    @property
    def sha256(self) -> bytes:
        return certificate_fingerprint(self.certificate.public_bytes(serialization.Encoding.DER))

    @property
    def not_after(self) -> dt.datetime:
        return self.certificate.not_valid_after_utc

    @property
    def not_before(self) -> dt.datetime:
        return self.certificate.not_valid_before_utc

    def identity(self) -> WebIdentity:
        key = serialization.load_pem_private_key(self.key_pem, password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return WebIdentity(self.certificate, key)


def new_web_certificate(hostnames: tuple[str, ...], not_before: dt.datetime) -> WebCertificate:
    """A P-256 certificate valid from ``not_before`` for `VALIDITY` (may start in the future)."""
    names = list(hostnames) or ["localhost"]
    alt_names: list[x509.GeneralName] = []
    for host in [*names, "127.0.0.1", "::1"]:
        try:
            entry: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
        except ValueError:
            entry = x509.DNSName(host)
        if entry not in alt_names:
            alt_names.append(entry)
    cert_pem, key_pem = self_signed_pem(
        names[0],
        alt_names,
        not_before,
        not_before + VALIDITY,
        [
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), False),
        ],
    )
    return WebCertificate(cert_pem, key_pem)


def _successor_start(cert: WebCertificate) -> dt.datetime:
    """When the certificate after ``cert`` takes over (and so becomes valid)."""
    return cert.not_after - RENEW_BEFORE - START_MARGIN


class WebCertificates:
    """The current and next web certificate of one data dir. Not thread-safe."""

    def __init__(
        self,
        data_dir: Path,
        hostnames: tuple[str, ...] = ("localhost",),
        now: dt.datetime | None = None,
    ) -> None:
        self._dir = Path(data_dir) / SELF_SIGNED_DIR
        self._hostnames = hostnames
        now = now or dt.datetime.now(dt.UTC)
        current, following = (self._read(slot) for slot in SLOTS)
        if current is None or current.not_after - now <= dt.timedelta(0):
            if following is not None and following.not_before <= now < following.not_after:
                current, following = following, None
            else:
                current, following = new_web_certificate(hostnames, now - START_MARGIN), None
            self._store(SLOTS[0], current)
        if following is None or following.not_before > _successor_start(current) + START_MARGIN:
            following = new_web_certificate(hostnames, _successor_start(current))
            self._store(SLOTS[1], following)
        self.current: WebCertificate = current
        self.next: WebCertificate = following

    def _read(self, slot: str) -> WebCertificate | None:
        cert_path, key_path = self._paths(slot)
        try:
            found = WebCertificate(cert_path.read_bytes(), key_path.read_bytes())
            found.identity()
        except (OSError, ValueError, AssertionError) as exc:
            if cert_path.exists():
                logger.warning("ignoring the WebTransport certificate %s: %s", cert_path, exc)
            return None
        return found

    def _paths(self, slot: str) -> tuple[Path, Path]:
        return self._dir / f"{slot}.pem", self._dir / f"{slot}.key"

    def _store(self, slot: str, cert: WebCertificate) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        cert_path, key_path = self._paths(slot)
        write_private_file(key_path, cert.key_pem)
        write_public_file(cert_path, cert.cert_pem)

    def renew_if_due(self, now: dt.datetime | None = None) -> bool:
        """Rotate when the current certificate is within `RENEW_BEFORE` of expiry."""
        now = now or dt.datetime.now(dt.UTC)
        if self.current.not_after - now > RENEW_BEFORE:
            return False
        self.current = self.next
        self.next = new_web_certificate(self._hostnames, _successor_start(self.current))
        self._store(SLOTS[0], self.current)
        self._store(SLOTS[1], self.next)
        logger.info(
            "renewed the WebTransport certificate (valid until %s); links made before "
            "the previous renewal stop working",
            self.current.not_after.isoformat(),
        )
        return True

    def hashes(self) -> tuple[bytes, bytes]:
        return self.current.sha256, self.next.sha256


def stored_hashes(data_dir: Path, now: dt.datetime | None = None) -> tuple[bytes, ...]:
    """SHA-256 of the web certificates in a data dir still valid (read only, for links)."""
    now = now or dt.datetime.now(dt.UTC)
    folder = Path(data_dir) / SELF_SIGNED_DIR
    found = []
    for slot in SLOTS:
        try:
            cert = WebCertificate((folder / f"{slot}.pem").read_bytes(), b"")
            if now < cert.not_after:
                found.append(cert.sha256)
        except (OSError, ValueError):
            continue
    return tuple(found)
