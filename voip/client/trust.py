"""What the client's trust decision reads: the pins it keeps and the CA stores it checks.

``known_servers.toml`` holds one pinned fingerprint per address, like SSH's
known_hosts. ``examine`` checks a presented certificate against the trusted
CAs (a `ca_file` given for the connection, the system store, certifi's
bundle) and the name connected to, each fact on its own, so that the
decision (``voip.client.trust_policy``, pure) can say exactly what is wrong.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
import ssl
import tempfile
import tomllib
from pathlib import Path

import tomli_w
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from voip.client.trust_policy import CertificateFacts
from voip.errors import CertificateError
from voip.protocol.fingerprint import certificate_fingerprint

log = logging.getLogger(__name__)

KNOWN_SERVERS_FILE = "known_servers.toml"


# --- the known servers file -------------------------------------------------------------


class KnownServers:
    """The pins in ``known_servers.toml``: normalized address -> fingerprint text.

    Owned by the connection actor (one thread); every change is written
    atomically at once.
    """

    def __init__(self, config_dir: Path) -> None:
        self.path = config_dir / KNOWN_SERVERS_FILE
        self._pins: dict[str, str] = {}
        self.load_problem: str | None = None
        self.reload()

    def reload(self) -> None:
        """Read the file again: the user may have removed a pin, as a mismatch advises."""
        self._pins = {}
        self.load_problem = None
        try:
            data = tomllib.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            self.load_problem = (
                f"the pinned certificates file {self.path} is unreadable ({exc}); no server "
                "is pinned until it is fixed, so every self-signed server will ask again"
            )
            log.warning("%s", self.load_problem)
            return
        servers = data.get("servers", {})
        if isinstance(servers, dict):
            self._pins = {str(k): str(v) for k, v in servers.items() if isinstance(v, str)}

    def pinned(self, address: str) -> str | None:
        return self._pins.get(address)

    def pin(self, address: str, fingerprint_text: str) -> None:
        """Pin and save; CertificateError if the file cannot be written."""
        self._pins[address] = fingerprint_text
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(prefix=".known-", suffix=".tmp", dir=self.path.parent)
            try:
                with os.fdopen(fd, "wb") as handle:
                    tomli_w.dump({"servers": dict(sorted(self._pins.items()))}, handle)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise CertificateError(
                f"cannot save the pinned certificate to {self.path} ({exc}); the server is "
                "trusted for this session only"
            ) from exc
        log.info("pinned %s for %s", fingerprint_text, address)

    def all(self) -> dict[str, str]:
        return dict(self._pins)


# --- what a certificate is, checked against the CA store ------------------------------------


def examine(
    certificate: x509.Certificate,
    chain: list[x509.Certificate],
    server_name: str,
    ca_file: str | None,
    now: dt.datetime,
) -> CertificateFacts:
    """The facts `trust_policy.decide` needs, each checked on its own.

    The chain is checked at a moment inside the leaf's own validity, so an
    expired certificate from a trusted CA is reported as expired, not as
    unknown; the names are checked as TLS clients do (service_identity).
    """
    names = _subject_names(certificate)
    return CertificateFacts(
        fingerprint=certificate_fingerprint(certificate.public_bytes(serialization.Encoding.DER)),
        names=names,
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        issuer_trusted=_chain_trusted(certificate, chain, ca_file, now),
        name_matches=_names_match(certificate, server_name),
        self_signed=certificate.issuer == certificate.subject,
        issuer=_common_name(certificate.issuer),
    )


def _subject_names(certificate: x509.Certificate) -> tuple[str, ...]:
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        return ()
    dns = [str(name) for name in san.get_values_for_type(x509.DNSName)]
    ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return tuple(dns + ips)


def _common_name(name: x509.Name) -> str:
    values = name.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)
    return str(values[0].value) if values else name.rfc4514_string()


def _names_match(certificate: x509.Certificate, server_name: str) -> bool:
    import service_identity
    from service_identity import cryptography as si

    try:
        ipaddress.ip_address(server_name)
    except ValueError:
        is_ip = False
    else:
        is_ip = True
    try:
        if is_ip:
            si.verify_certificate_ip_address(certificate, server_name)
        else:
            si.verify_certificate_hostname(certificate, server_name)
    except (service_identity.VerificationError, service_identity.CertificateError, ValueError):
        return False
    return True


def _chain_trusted(
    certificate: x509.Certificate,
    chain: list[x509.Certificate],
    ca_file: str | None,
    now: dt.datetime,
) -> bool:
    """True if the certificate chains to ``ca_file``, the system store or certifi's bundle.

    The system store is OpenSSL's default (``SSL_CERT_FILE``/``SSL_CERT_DIR``
    move it); certifi's bundle is what aioquic trusts by default.
    """
    import certifi
    from OpenSSL import crypto

    # Judge the chain, not the leaf's dates (those are reported on their own).
    at = min(max(now, certificate.not_valid_before_utc), certificate.not_valid_after_utc)
    attempts: list[tuple[str | None, str | None]] = []
    if ca_file is not None:
        attempts.append((ca_file, None))  # in addition to the system store, as Connect says
    paths = ssl.get_default_verify_paths()
    cafile = paths.cafile if paths.cafile and os.path.exists(paths.cafile) else None
    capath = paths.capath if paths.capath and os.path.isdir(paths.capath) else None
    if cafile or capath:
        attempts.append((cafile, capath))
    attempts.append((certifi.where(), None))
    for cafile, capath in attempts:
        try:
            store = crypto.X509Store()
            store.load_locations(cafile, capath)
            store.set_time(at)
            context = crypto.X509StoreContext(
                store,
                crypto.X509.from_cryptography(certificate),
                [crypto.X509.from_cryptography(c) for c in chain],
            )
            context.verify_certificate()
        except Exception as exc:  # OpenSSL verification errors, unreadable CA files
            log.debug("certificate does not chain to %s: %s", cafile or capath, exc)
            continue
        return True
    return False
