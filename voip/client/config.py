"""The client's settings file, ``config.toml`` in the config dir.

Settings must survive a crash in the middle of a write, so the file is
written to a temporary name and renamed over the old one (atomic on POSIX).
A file that cannot be read does not stop the client: it is moved aside to
``config.toml.bak`` (so nothing the user wrote is lost) and the defaults are
used, with a notice saying so.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import tomli_w

from voip.client.state import (
    DEFAULT_PTT_KEY,
    DEFAULT_VAD_THRESHOLD_DB,
    MAX_VOLUME,
    MIN_VOLUME,
    TransmissionMode,
)
from voip.errors import ConfigError

log = logging.getLogger(__name__)

CONFIG_FILE = "config.toml"


@dataclass(frozen=True, slots=True)
class ClientConfig:
    last_server: str = ""
    display_name: str = ""
    input_device: str | None = None  # None: the system default
    output_device: str | None = None
    input_volume: float = 1.0
    output_volume: float = 1.0
    transmission_mode: TransmissionMode = TransmissionMode.PUSH_TO_TALK
    vad_threshold_db: float = DEFAULT_VAD_THRESHOLD_DB
    ptt_key: str = DEFAULT_PTT_KEY
    noise_suppression: str = "speex"
    gain_control: bool = True
    echo_cancellation: bool = False
    #: Fetch shared files from the server's seed only, never showing our
    #: address to other members (docs/SHARING.md).
    share_via_server_only: bool = False
    #: Where fetched files go; "" is the platform's download folder + /voip.
    downloads_dir: str = ""

    def updated(self, **changes: Any) -> ClientConfig:
        return replace(self, **changes)


def config_path(config_dir: Path) -> Path:
    return config_dir / CONFIG_FILE


def _to_toml(config: ClientConfig) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(ClientConfig):
        value = getattr(config, f.name)
        if value is None:
            continue  # TOML has no null: a missing key means "default"
        out[f.name] = value.value if isinstance(value, TransmissionMode) else value
    return out


def _field_value(name: str, raw: Any) -> Any:
    """Check one value from the file; ValueError names what is wrong."""
    if name == "share_via_server_only":
        if not isinstance(raw, bool):
            raise ValueError(f"{name} must be true or false, not {raw!r}")
        return raw
    if name in (
        "last_server",
        "display_name",
        "ptt_key",
        "input_device",
        "output_device",
        "downloads_dir",
    ):
        if not isinstance(raw, str):
            raise ValueError(f"{name} must be text, not {raw!r}")
        return raw
    if name in ("input_volume", "output_volume"):
        if isinstance(raw, bool) or not isinstance(raw, int | float) or math.isnan(raw):
            raise ValueError(f"{name} must be a number, not {raw!r}")
        return min(MAX_VOLUME, max(MIN_VOLUME, float(raw)))
    if name == "vad_threshold_db":
        if isinstance(raw, bool) or not isinstance(raw, int | float) or math.isnan(raw):
            raise ValueError(f"{name} must be a number, not {raw!r}")
        return float(raw)
    if name == "noise_suppression":
        if raw not in ("rnnoise", "speex", "deepfilter", "off"):
            raise ValueError(
                f"noise_suppression must be one of rnnoise, speex, deepfilter, off, not {raw!r}"
            )
        return raw
    if name in ("gain_control", "echo_cancellation"):
        if not isinstance(raw, bool):
            raise ValueError(f"{name} must be true or false, not {raw!r}")
        return raw
    if name == "transmission_mode":
        try:
            return TransmissionMode(raw)
        except ValueError:
            options = ", ".join(m.value for m in TransmissionMode)
            raise ValueError(f"transmission_mode must be one of {options}, not {raw!r}") from None
    raise ValueError(f"unknown setting {name!r}")


def parse_config(data: dict[str, Any]) -> tuple[ClientConfig, list[str]]:
    """Build a config from parsed TOML; bad or unknown keys are skipped and reported."""
    known = {f.name for f in fields(ClientConfig)}
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name, raw in data.items():
        if name not in known:
            problems.append(f"unknown setting {name!r} ignored")
            continue
        try:
            values[name] = _field_value(name, raw)
        except ValueError as exc:
            problems.append(str(exc))
    return ClientConfig(**values), problems


def load_config(config_dir: Path) -> tuple[ClientConfig, str | None]:
    """Read the config; return it and a sentence for the user if something was wrong.

    Never raises for a bad file: an unparsable one is renamed to ``.bak``
    and the defaults are returned.
    """
    path = config_path(config_dir)
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        return ClientConfig(), None
    except OSError as exc:
        return ClientConfig(), f"cannot read the settings file {path} ({exc}); using defaults"
    try:
        data = tomllib.loads(text.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        backup = path.with_name(CONFIG_FILE + ".bak")
        try:
            os.replace(path, backup)
        except OSError as move_exc:
            log.warning("could not move the corrupt config aside: %s", move_exc)
        log.warning("config %s is corrupt: %s", path, exc)
        return ClientConfig(), (
            f"the settings file {path} is corrupt ({exc}); it was kept as {backup} and "
            "the defaults are used"
        )
    config, problems = parse_config(data)
    if problems:
        return config, f"some settings in {path} were ignored: " + "; ".join(problems)
    return config, None


def save_config(config_dir: Path, config: ClientConfig) -> None:
    """Write the config atomically (temp file + rename); ConfigError says why it failed."""
    path = config_path(config_dir)
    try:
        config_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp_name = tempfile.mkstemp(prefix=".config-", suffix=".tmp", dir=config_dir)
        try:
            with os.fdopen(fd, "wb") as handle:
                tomli_w.dump(_to_toml(config), handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_name, path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ConfigError(
            f"cannot save the settings to {path} ({exc}); check the permissions of {config_dir}"
        ) from exc
