"""The actor that owns ``config.toml``: the only writer of the settings file.

Other actors tell it what changed (the last server on Connect, audio
settings from the audio actor); it saves at once, so a crash or a kill
loses nothing, and tells the state owner what the connect dialog shows.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pykka

from voip.client.config import ClientConfig, save_config
from voip.client.listeners import StateListener
from voip.client.state import ConfigView, LocalErrorCode
from voip.errors import ConfigError

log = logging.getLogger(__name__)


def config_view(config: ClientConfig) -> ConfigView:
    return ConfigView(last_server=config.last_server, display_name=config.display_name)


class ConfigActor(pykka.ThreadingActor):
    def __init__(self, config_dir: Path, config: ClientConfig, state: StateListener) -> None:
        super().__init__()
        self._dir = config_dir
        self._config = config
        self._state = state

    def ready(self) -> bool:
        return True

    def update(self, **changes: Any) -> None:
        new = self._config.updated(**changes)
        if new == self._config:
            return
        self._config = new
        try:
            save_config(self._dir, new)
        except ConfigError as exc:
            log.warning("%s", exc)
            self._state.report_error(LocalErrorCode.CONFIG.value, str(exc), "")
        self._state.config_changed(config_view(new))
