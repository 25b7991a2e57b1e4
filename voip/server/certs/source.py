"""Which certificate the server serves: operator files, ACME, or its own self-signed one.

The one place that chooses. ``CertificateSettings`` is what the operator
asked for; ``resolve_certificate`` turns it into the certificate to serve at
once and, with ACME, the manager that replaces it later. The server starts
that manager only once it listens and stops it first (``voip.server.app``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from voip.errors import ConfigError
from voip.server.certs.acme import AcmeCertificateManager
from voip.server.certs.acme_settings import AcmeSettings, Backoff
from voip.server.certs.bundle import CertificateBundle, load_bundle
from voip.server.certs.self_signed import load_or_create_self_signed

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CertificateSettings:
    """Where the certificate comes from; all None: the self-signed one for ``hostnames``."""

    cert_file: Path | None = None
    key_file: Path | None = None
    acme: AcmeSettings | None = None
    #: Names in a generated self-signed certificate (loopback addresses are always added).
    hostnames: tuple[str, ...] = ("localhost",)

    def __post_init__(self) -> None:
        if (self.cert_file is None) != (self.key_file is None):
            raise ConfigError("give both --cert and --key, or neither (for a self-signed one)")
        if self.cert_file is not None and self.acme is not None:
            raise ConfigError(
                "--cert/--key and --acme-domain both choose the certificate; give only one"
            )


def resolve_certificate(
    data_dir: Path,
    settings: CertificateSettings,
    *,
    on_new_certificate: Callable[[CertificateBundle], None] | None = None,
    backoff: Backoff | None = None,
) -> tuple[CertificateBundle, AcmeCertificateManager | None]:
    """The certificate to serve now, and the ACME manager to start (not started yet).

    Order of preference: operator files; a stored valid ACME certificate; the
    self-signed one (with a loud warning when ACME is configured, since
    clients that do not pin will refuse it until the first order succeeds).
    """
    acme_settings, hostnames = settings.acme, settings.hostnames
    if settings.cert_file is not None and settings.key_file is not None:
        bundle = load_bundle(settings.cert_file, settings.key_file)
        logger.info(
            "serving the certificate from %s: %s", settings.cert_file, bundle.fingerprint_text
        )
        if bundle.remaining() <= dt.timedelta(0):
            logger.error(
                "the certificate in %s EXPIRED on %s: clients that verify certificates will "
                "refuse this server; renew it (or use --acme-domain) and restart",
                settings.cert_file,
                bundle.not_after.isoformat(),
            )
        return bundle, None
    if acme_settings is None:
        bundle = load_or_create_self_signed(data_dir, hostnames)
        return bundle, None

    def _not_wired(bundle: CertificateBundle) -> None:
        logger.warning(
            "a new ACME certificate %s was obtained but nothing installs it",
            bundle.fingerprint_text,
        )

    names = [acme_settings.domain, *(h for h in hostnames if h != acme_settings.domain)]
    manager = AcmeCertificateManager(
        acme_settings,
        data_dir,
        on_new_certificate or _not_wired,
        backoff=backoff,
        fallback=lambda: load_or_create_self_signed(data_dir, names),
    )
    stored = manager.current()
    if stored is not None:
        logger.info(
            "serving the stored ACME certificate for %s: %s, valid until %s",
            acme_settings.domain,
            stored.fingerprint_text,
            stored.not_after.isoformat(),
        )
        return stored, manager
    fallback = load_or_create_self_signed(data_dir, names)
    logger.warning(
        "NO ACME CERTIFICATE YET for %s: serving the SELF-SIGNED certificate %s until the first "
        "ACME order succeeds. Clients that verify certificates will refuse to connect until then; "
        "watch this log for the ACME result.",
        acme_settings.domain,
        fallback.fingerprint_text,
    )
    return fallback, manager
