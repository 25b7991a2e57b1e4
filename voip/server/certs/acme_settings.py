"""What to ask which ACME CA for (``AcmeSettings``) and how long to wait after a failure."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voip.errors import ConfigError

LETSENCRYPT_DIRECTORY = "https://acme-v02.api.letsencrypt.org/directory"
LETSENCRYPT_STAGING_DIRECTORY = "https://acme-staging-v02.api.letsencrypt.org/directory"
CHALLENGES = ("http-01", "tls-alpn-01")

_DOMAIN_RE = re.compile(
    r"^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$", re.IGNORECASE
)


@dataclass(frozen=True)
class AcmeSettings:
    """What to ask which CA for, and how to prove control of the domain."""

    domain: str
    email: str
    directory_url: str = LETSENCRYPT_DIRECTORY
    challenge: str = "http-01"
    http_port: int = 80
    tls_alpn_port: int = 443
    #: PEM file of CA roots to trust for the *directory's* HTTPS (e.g. pebble's); None: system.
    ca_bundle: Path | None = None
    renew_before: dt.timedelta = dt.timedelta(days=30)
    #: How often a certificate that is not yet due is looked at again.
    check_interval: dt.timedelta = dt.timedelta(hours=12)
    #: Address the challenge listeners bind to; "" means every IPv4 and IPv6 address.
    bind_host: str = ""

    def __post_init__(self) -> None:
        if not self.domain or not self.email:
            raise ConfigError(
                "--acme-domain needs --acme-email"
                if self.domain
                else "--acme-email needs --acme-domain"
            )
        if not _DOMAIN_RE.match(self.domain) and not self.domain.startswith("*."):
            raise ConfigError(
                f"--acme-domain {self.domain!r} is not a fully qualified domain name; "
                "give the public DNS name clients use, e.g. voice.example.org"
            )
        if "@" not in self.email or self.email.startswith("mailto:"):
            raise ConfigError(
                f"--acme-email {self.email!r} is not an email address (name@example.org); "
                "the CA uses it for expiry and account notices"
            )
        if self.challenge not in CHALLENGES:
            raise ConfigError(
                f"--acme-challenge {self.challenge!r} is not supported; "
                f"choose one of {', '.join(CHALLENGES)}"
            )
        for flag, port in (
            ("--acme-http-port", self.http_port),
            ("--acme-tls-port", self.tls_alpn_port),
        ):
            if not 1 <= port <= 65535:
                raise ConfigError(f"{flag} {port} is not a TCP port (1-65535)")
        if not self.directory_url.startswith(("https://", "http://")):
            raise ConfigError(
                f"--acme-directory {self.directory_url!r} is not a URL; give the CA's ACME "
                f"directory, e.g. {LETSENCRYPT_STAGING_DIRECTORY}"
            )
        if self.ca_bundle is not None and not Path(self.ca_bundle).is_file():
            raise ConfigError(f"the ACME CA bundle {self.ca_bundle} does not exist")
        if self.renew_before <= dt.timedelta(0):
            raise ConfigError("the ACME renewal margin must be positive")

    @classmethod
    def from_args(
        cls,
        domain: str | None,
        email: str | None,
        directory: str | None = None,
        challenge: str | None = None,
        http_port: int | None = None,
        tls_port: int | None = None,
        ca_bundle: Path | str | None = None,
    ) -> AcmeSettings | None:
        """Settings from CLI flags / config; None when ACME was not asked for at all."""
        if not domain and not email:
            for flag, value in (
                ("--acme-directory", directory),
                ("--acme-challenge", challenge),
                ("--acme-http-port", http_port),
                ("--acme-tls-port", tls_port),
                ("--acme-ca-bundle", ca_bundle),
            ):
                if value is not None:
                    raise ConfigError(
                        f"{flag} only makes sense with --acme-domain and --acme-email"
                    )
            return None
        if not domain:
            raise ConfigError(
                "--acme-email needs --acme-domain (the domain to get a certificate for)"
            )
        if not email:
            raise ConfigError("--acme-domain needs --acme-email (the CA's contact for the account)")
        kwargs: dict[str, Any] = {}
        if directory is not None:
            kwargs["directory_url"] = directory
        if challenge is not None:
            kwargs["challenge"] = challenge
        if http_port is not None:
            kwargs["http_port"] = int(http_port)
        if tls_port is not None:
            kwargs["tls_alpn_port"] = int(tls_port)
        if ca_bundle is not None:
            kwargs["ca_bundle"] = Path(ca_bundle)
        return cls(domain=domain.strip().lower().rstrip("."), email=email.strip(), **kwargs)


# --- back-off -----------------------------------------------------------------------


@dataclass(frozen=True)
class Backoff:
    """Delay before retry number ``failures`` (1-based): initial * factor**(n-1), capped."""

    initial: dt.timedelta = dt.timedelta(minutes=1)
    maximum: dt.timedelta = dt.timedelta(hours=6)
    factor: float = 2.0

    def delay(self, failures: int) -> dt.timedelta:
        seconds = self.initial.total_seconds() * self.factor ** max(0, failures - 1)
        return min(dt.timedelta(seconds=seconds), self.maximum)
