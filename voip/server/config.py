"""Server settings: defaults, the TOML config file, and command-line overrides.

Precedence: built-in defaults < config file (``--config``) < flags. The
result is one frozen `ServerConfig`; the CLI turns it into `ServerOptions`,
whose `CertificateSettings` the server resolves when it starts.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import platformdirs

from voip.errors import ConfigError
from voip.server.certs.acme_settings import AcmeSettings
from voip.server.certs.source import CertificateSettings
from voip.server.limits import Limits

logger = logging.getLogger(__name__)

DEFAULT_HOST = "0.0.0.0"
DEFAULT_PORT = 7731
DEFAULT_NAME = "Lobby"


def default_data_dir() -> Path:
    """``~/.local/share/voip/server`` on Linux (platformdirs user data dir)."""
    return platformdirs.user_data_path("voip") / "server"


@dataclass(frozen=True)
class ServerConfig:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    data_dir: Path | None = None  # None: default_data_dir()
    password: str | None = None  # None: no password; anyone may join
    cert: Path | None = None
    key: Path | None = None
    name: str = DEFAULT_NAME
    motd: str = ""
    # Room chat history (docs/SERVER.md, "Room history"): kept per room.
    history_lines: int = 500  # 0: no history
    history_bytes: int = 512 * 1024
    history_days: float = 30.0  # 0: no age limit
    history_on_entry: int = 50  # lines sent to a member entering a room
    # File sharing (docs/SHARING.md).
    share_max_bytes: int = 1 << 30  # largest file; 0: sharing off
    share_days: float = 7.0  # shares are forgotten after this; 0: kept
    seed: bool = True  # the server keeps and seeds a copy of each shared file
    seed_store_bytes: int = 8 << 30  # what the seed store may hold in all
    announce_interval_s: int = 10
    log_level: str = "INFO"
    hostnames: tuple[str, ...] = ("localhost",)  # names in a generated self-signed cert
    # Longest batching window under load (adaptive); 0: per loop iteration.
    flush_interval_ms: float = 20.0
    ack_delay_ms: float | None = 20.0  # None: aioquic's default
    # ACME (docs/ACME.md); None: not given. Domain and email go together.
    acme_domain: str | None = None
    acme_email: str | None = None
    acme_directory: str | None = None  # None: Let's Encrypt production
    acme_challenge: str | None = None  # None: http-01
    acme_http_port: int | None = None  # None: 80
    acme_tls_port: int | None = None  # None: 443
    acme_ca_bundle: Path | None = None  # PEM roots for the CA's HTTPS; None: system
    acme_renew_before: str | float | None = None  # "30d", "12h", seconds; None: 30 days
    acme_check_interval: str | float | None = None  # longest sleep; None: 12 h
    # Browsers (docs/WEB.md): WebTransport on the QUIC port, the page's listener
    # ("HOST:PORT", None: no page), the host:port written in join links.
    web: bool = True
    web_listen: str | None = None
    public_address: str | None = None
    # Abuse limits: the ``[limits]`` table, keys as in voip.server.limits.Limits.
    limits: Limits = field(default_factory=Limits)
    # Prometheus metrics on http://127.0.0.1:PORT/metrics; None: off.
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"

    @property
    def resolved_data_dir(self) -> Path:
        return self.data_dir if self.data_dir is not None else default_data_dir()

    def acme_settings(self) -> AcmeSettings | None:
        """The ACME settings, or None without --acme-domain/--acme-email. ConfigError if bad."""
        return AcmeSettings.from_args(
            self.acme_domain,
            self.acme_email,
            self.acme_directory,
            self.acme_challenge,
            self.acme_http_port,
            self.acme_tls_port,
            self.acme_ca_bundle,
            self.acme_renew_before,
            self.acme_check_interval,
        )

    def certificate_settings(self) -> CertificateSettings:
        """Where the certificate comes from. ConfigError if the choice is contradictory."""
        return CertificateSettings(
            cert_file=self.cert,
            key_file=self.key,
            acme=self.acme_settings(),
            hostnames=self.hostnames,
        )

    def check(self) -> ServerConfig:
        self.certificate_settings()
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port {self.port} is out of range 0-65535")
        if self.metrics_port is not None and not 0 <= self.metrics_port <= 65535:
            raise ConfigError(f"metrics_port {self.metrics_port} is out of range 0-65535")
        if self.flush_interval_ms < 0 or self.flush_interval_ms > 100:
            raise ConfigError("flush_interval_ms must be between 0 and 100")
        if self.ack_delay_ms is not None and not 0 < self.ack_delay_ms <= 25:
            raise ConfigError(
                "ack_delay_ms must be above 0 and at most 25 (the max_ack_delay we advertise)"
            )
        if self.web_listen is not None:
            parse_listen(self.web_listen)
        if self.public_address is not None:
            parse_listen(self.public_address)
        if min(self.history_lines, self.history_bytes, self.history_on_entry) < 0 or (
            self.history_days < 0
        ):
            raise ConfigError("the history_* settings must not be negative")
        if min(self.share_max_bytes, self.seed_store_bytes) < 0 or self.share_days < 0:
            raise ConfigError(
                "share_max_bytes, share_days and seed_store_bytes must not be negative"
            )
        if not 1 <= self.announce_interval_s <= 3600:
            raise ConfigError("announce_interval_s must be between 1 and 3600 seconds")
        if self.log_level.upper() not in logging.getLevelNamesMapping():
            raise ConfigError(f"unknown log level {self.log_level!r}; use DEBUG, INFO, WARNING")
        return self


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[IPv6]:PORT``; port 0 picks a free port."""
    text = text.strip()
    if text.startswith("["):
        host, sep, port = text[1:].partition("]:")
    else:
        host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigError(
            f"listen address {text!r} is not HOST:PORT (e.g. 0.0.0.0:{DEFAULT_PORT} "
            f"or [::]:{DEFAULT_PORT})"
        )
    return host, int(port)


_PATH_KEYS = {"data_dir", "cert", "key", "acme_ca_bundle"}


def load_config_file(path: Path) -> dict[str, Any]:
    """Read a TOML file into ServerConfig field values (``listen`` is split)."""
    try:
        with Path(path).open("rb") as fh:
            raw = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"the config file {path} is not valid TOML: {exc}") from exc
    known = {f.name for f in fields(ServerConfig)} - {"host", "port"}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "listen":
            values["host"], values["port"] = parse_listen(str(value))
        elif key in known:
            if key in _PATH_KEYS:
                value = (Path(path).parent / Path(str(value)).expanduser()).resolve()
            elif key == "hostnames":
                value = tuple(str(v) for v in value)
            elif key == "limits":
                if not isinstance(value, dict):
                    raise ConfigError(f"limits in {path} must be a table ([limits])")
                value = Limits.from_mapping(value)
            values[key] = value
        else:
            raise ConfigError(
                f"unknown setting {key!r} in {path}; known: listen, {', '.join(sorted(known))}"
            )
    return values


def build_config(file_values: dict[str, Any], overrides: dict[str, Any]) -> ServerConfig:
    """Defaults, then the file, then flags (flags given as None are left out)."""
    config = ServerConfig()
    try:
        config = replace(config, **file_values)
        config = replace(config, **{k: v for k, v in overrides.items() if v is not None})
    except TypeError as exc:
        raise ConfigError(f"invalid setting: {exc}") from exc
    return config.check()
