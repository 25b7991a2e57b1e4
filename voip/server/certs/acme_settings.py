"""What to ask which ACME CA for (``AcmeSettings``), when to renew, how to back off."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voip.errors import ConfigError
from voip.server.certs.renewal import DEFAULT_CHECK_INTERVAL, DEFAULT_MARGIN, RenewalPolicy

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
    #: Renew at the latest this long before expiry (earlier at two thirds of the lifetime).
    renew_before: dt.timedelta = DEFAULT_MARGIN
    #: Longest sleep while the certificate is not due.
    check_interval: dt.timedelta = DEFAULT_CHECK_INTERVAL
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
            raise ConfigError(
                "--acme-renew-before must be positive (e.g. 30d, the default, or 12h)"
            )
        if self.check_interval <= dt.timedelta(0):
            raise ConfigError(
                "--acme-check-interval must be positive (e.g. 12h, the default, or 30m)"
            )

    @property
    def renewal(self) -> RenewalPolicy:
        return RenewalPolicy(margin=self.renew_before, check_interval=self.check_interval)

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
        renew_before: str | float | dt.timedelta | None = None,
        check_interval: str | float | dt.timedelta | None = None,
    ) -> AcmeSettings | None:
        """Settings from CLI flags / config; None when ACME was not asked for at all."""
        if not domain and not email:
            for flag, value in (
                ("--acme-directory", directory),
                ("--acme-challenge", challenge),
                ("--acme-http-port", http_port),
                ("--acme-tls-port", tls_port),
                ("--acme-ca-bundle", ca_bundle),
                ("--acme-renew-before", renew_before),
                ("--acme-check-interval", check_interval),
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
        if renew_before is not None:
            kwargs["renew_before"] = parse_duration(renew_before, "--acme-renew-before")
        if check_interval is not None:
            kwargs["check_interval"] = parse_duration(check_interval, "--acme-check-interval")
        return cls(domain=domain.strip().lower().rstrip("."), email=email.strip(), **kwargs)


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.IGNORECASE)


def parse_duration(value: str | float | dt.timedelta, flag: str) -> dt.timedelta:
    """``90s``, ``5m``, ``12h``, ``30d``, or a plain number of seconds."""
    if isinstance(value, dt.timedelta):
        return value
    if isinstance(value, bool):
        raise ConfigError(f"{flag} {value!r} is not a duration")
    if isinstance(value, int | float):
        return dt.timedelta(seconds=value)
    match = _DURATION_RE.match(str(value))
    if match is None:
        raise ConfigError(
            f"{flag} {value!r} is not a duration; write e.g. 90s, 5m, 12h or 30d"
        )
    number, unit = match.groups()
    return dt.timedelta(seconds=float(number) * _UNITS[(unit or "s").lower()])


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
