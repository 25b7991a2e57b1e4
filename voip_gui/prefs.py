"""The window's own settings (``gui.toml`` beside the client's config): servers and UI scale.

The backend's config holds what any front end needs (devices, modes, the
last server and name); this file holds what only the window shows: the
servers connected to recently, the ones marked as favourites, and the UI
scale when the user overrides the one from the screen's DPI. A missing or
unreadable file gives the defaults (and a log line), never an error: these
are conveniences.
"""

from __future__ import annotations

import logging
import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

import tomli_w

log = logging.getLogger(__name__)

FILE_NAME = "gui.toml"
MAX_RECENT = 8


@dataclass(frozen=True, slots=True)
class UserSound:
    """How one other user is played here."""

    volume: float = 1.0  # 0..2
    muted: bool = False


@dataclass(frozen=True, slots=True)
class GuiPrefs:
    recent: tuple[str, ...] = ()  # newest first
    favourites: tuple[str, ...] = ()
    ui_scale: float = 0.0  # 0: from the screen's DPI
    #: Push-to-talk also while the window is not focused (X11, pynput).
    global_ptt: bool = False
    #: "host:port#user_id" -> local volume and mute (only users not at the default).
    sounds: dict[str, UserSound] = field(default_factory=dict)

    def with_sound(self, key: str, sound: UserSound) -> GuiPrefs:
        sounds = dict(self.sounds)
        if sound == UserSound():
            sounds.pop(key, None)
        else:
            sounds[key] = sound
        return replace(self, sounds=sounds)

    def used(self, address: str) -> GuiPrefs:
        """`address` connected to: first in the recent list."""
        recent = (address, *(a for a in self.recent if a != address))
        return replace(self, recent=recent[:MAX_RECENT])

    def toggled_favourite(self, address: str) -> GuiPrefs:
        if address in self.favourites:
            return replace(self, favourites=tuple(a for a in self.favourites if a != address))
        return replace(self, favourites=(*self.favourites, address))

    def servers(self) -> list[str]:
        """Favourites first, then the recent ones (each once)."""
        out = list(self.favourites)
        out += [a for a in self.recent if a not in out]
        return out


@dataclass(slots=True)
class PrefsFile:
    """Loads and saves `GuiPrefs` at `path` (None: kept in memory only, for tests)."""

    path: Path | None
    prefs: GuiPrefs = field(default_factory=GuiPrefs)

    @classmethod
    def open(cls, config_dir: Path | None) -> PrefsFile:
        if config_dir is None:
            return cls(None)
        path = config_dir / FILE_NAME
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(path)
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            log.warning("ignoring %s (%s); using the defaults", path, exc)
            return cls(path)
        return cls(path, _parse(data))

    def update(self, prefs: GuiPrefs) -> None:
        if prefs == self.prefs:
            return
        self.prefs = prefs
        if self.path is None:
            return
        data = {
            "recent": list(prefs.recent),
            "favourites": list(prefs.favourites),
            "ui_scale": prefs.ui_scale,
            "global_ptt": prefs.global_ptt,
            "sounds": {
                key: {"volume": sound.volume, "muted": sound.muted}
                for key, sound in sorted(prefs.sounds.items())
            },
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(tomli_w.dumps(data), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            log.warning("cannot save %s: %s", self.path, exc)


def _strings(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(dict.fromkeys(v.strip() for v in value if isinstance(v, str) and v.strip()))


def _parse(data: dict[str, object]) -> GuiPrefs:
    scale = data.get("ui_scale", 0.0)
    if not isinstance(scale, int | float) or isinstance(scale, bool) or not 0 <= scale <= 4:
        scale = 0.0
    return GuiPrefs(
        recent=_strings(data.get("recent"))[:MAX_RECENT],
        favourites=_strings(data.get("favourites")),
        ui_scale=float(scale),
        global_ptt=data.get("global_ptt") is True,
        sounds=_sounds(data.get("sounds")),
    )


def _sounds(value: object) -> dict[str, UserSound]:
    out: dict[str, UserSound] = {}
    if not isinstance(value, dict):
        return out
    for key, entry in value.items():
        if not isinstance(key, str) or not isinstance(entry, dict):
            continue
        volume = entry.get("volume", 1.0)
        muted = entry.get("muted", False)
        if isinstance(volume, int | float) and not isinstance(volume, bool) and 0 <= volume <= 2:
            out[key] = UserSound(float(volume), bool(muted is True))
    return out
