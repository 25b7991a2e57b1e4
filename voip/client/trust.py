"""Which server certificates the client trusts: the CA store, or a pin per address.

A certificate that chains to a trusted CA (the system store, or a `ca_file`
given for the connection) is trusted as HTTPS would. Anything else, typically
a server's self-signed certificate, is trusted on first use: the user sees its
fingerprint and accepts it, and it is pinned for that address in
``known_servers.toml``, like SSH's known_hosts. A pinned address that later
presents another certificate is refused, naming both fingerprints.

The decision is a pure function (`decide`) so it is tested without sockets.
"""

from __future__ import annotations

import logging
import os
import ssl
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

import tomli_w
from cryptography import x509

from voip.errors import CertificateError, FingerprintMismatch
from voip.protocol.fingerprint import format_fingerprint

log = logging.getLogger(__name__)

KNOWN_SERVERS_FILE = "known_servers.toml"


# --- decisions -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verified:
    """The certificate chains to a trusted CA; no pin needed."""


@dataclass(frozen=True, slots=True)
class Pinned:
    """The certificate is the one pinned for this address."""


@dataclass(frozen=True, slots=True)
class Unknown:
    """Not verifiable and nothing pinned: ask the user."""

    fingerprint_text: str


@dataclass(frozen=True, slots=True)
class Mismatch:
    """Another certificate is pinned for this address: refuse."""

    error: FingerprintMismatch


TrustDecision = Verified | Pinned | Unknown | Mismatch


def decide(address: str, presented: bytes, verifies: bool, pinned: str | None) -> TrustDecision:
    """Trust decision for a certificate with fingerprint `presented` at `address`.

    A pin wins over the CA store: once the user pinned a certificate, a
    different one is refused even if some CA vouches for it.
    """
    text = format_fingerprint(presented)
    if pinned is not None:
        if pinned == text:
            return Pinned()
        return Mismatch(FingerprintMismatch(address, pinned, text))
    if verifies:
        return Verified()
    return Unknown(text)


def certificate_verifies(
    certificate: x509.Certificate,
    chain: list[x509.Certificate],
    server_name: str,
    ca_file: str | None = None,
) -> bool:
    """True if the certificate chains to a trusted CA and names `server_name`.

    With `ca_file` only that bundle is used; otherwise the system store and,
    failing that, certifi's bundle (what aioquic uses by default).
    """
    from aioquic.tls import verify_certificate

    attempts: list[dict[str, str | None]] = []
    if ca_file is not None:
        attempts.append({"cafile": ca_file, "capath": None})
    else:
        paths = ssl.get_default_verify_paths()
        cafile = paths.cafile if paths.cafile and os.path.exists(paths.cafile) else None
        capath = paths.capath if paths.capath and os.path.isdir(paths.capath) else None
        if cafile or capath:
            attempts.append({"cafile": cafile, "capath": capath})
        attempts.append({"cafile": None, "capath": None})  # certifi
    for where in attempts:
        try:
            verify_certificate(
                certificate=certificate,
                chain=chain,
                server_name=server_name,
                cafile=where["cafile"],
                capath=where["capath"],
            )
        except Exception as exc:  # aioquic Alerts, OpenSSL errors, unreadable ca files
            log.debug("certificate does not verify against %s: %s", where, exc)
            continue
        return True
    return False


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
