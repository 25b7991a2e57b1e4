"""Push-to-talk while the window is not focused (X11), and on a mouse button.

Dear PyGui only sees keys while its window has focus. With the option on,
a pynput listener (X11's RECORD extension; pynput was chosen over reading
/dev/input with evdev, which needs root or the input group, and over
python-xlib by hand, which pynput wraps) watches the PTT key or mouse
button everywhere and sends StartTransmit / StopTransmit while the window
is not focused; while it is, the window's own handler does it (so a press
is never counted twice, and typing in the window is still respected).

Keys that type (letters, Space...) are never taken globally: you would go
on the air while typing in another program. Bind a function key, a
modifier or a mouse button (middle, back, forward) for this.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from voip.client.commands import StartTransmit, StopTransmit
from voip_gui import keys
from voip_gui.ports import SendFn

log = logging.getLogger(__name__)

#: pynput key names that differ from ours.
_KEY_NAMES = {
    "alt": "left_alt",
    "alt_r": "right_alt",
    "alt_gr": "right_alt",
    "ctrl": "left_ctrl",
    "ctrl_r": "right_ctrl",
    "shift": "left_shift",
    "shift_r": "right_shift",
    "cmd": "left_super",
    "cmd_r": "right_super",
    "esc": "escape",
    "page_up": "page_up",
    "page_down": "page_down",
}
#: pynput mouse buttons -> our names (X11 buttons 8 and 9 are back and forward).
MOUSE_NAMES = {"middle": "mouse_middle", "button8": "mouse_back", "button9": "mouse_forward"}


def pynput_key_name(key: Any) -> str | None:
    """Our config name for a pynput key (``f8``, ``left_ctrl``, ``a``), None if unknown."""
    name = getattr(key, "name", None)
    if isinstance(name, str):
        return _KEY_NAMES.get(name, name)
    char = getattr(key, "char", None)
    return char.lower() if isinstance(char, str) and len(char) == 1 else None


def may_be_global(name: str) -> bool:
    """Whether a PTT key can be taken desktop-wide (never a key that types)."""
    return name.startswith("mouse_") or name not in keys.TYPING_KEYS


class GlobalPushToTalk:
    def __init__(self, send: SendFn, window_focused: Callable[[], bool]) -> None:
        self._send = send
        self._focused = window_focused
        self._lock = threading.Lock()
        self._listeners: list[Any] = []
        self._key = ""
        self._held = False
        self.enabled = False
        self.error = ""

    def configure(self, enabled: bool, key: str) -> None:
        """Start or stop listening (main thread); `key` is the PTT key's config name."""
        with self._lock:
            self._key = key
        wanted = enabled and may_be_global(key)
        if wanted == self.enabled:
            return
        self.stop()
        if not wanted:
            self.error = "" if not enabled else (
                f"{keys.key_label(key)} types text, so it only works in this window; bind a "
                "function key or a mouse button for push-to-talk everywhere"
            )
            return
        try:
            from pynput import keyboard, mouse
        except Exception as exc:  # no X display, or not X11 (pynput says which)
            self.error = f"push-to-talk outside this window is not available here ({exc})"
            log.warning("%s", self.error)
            return
        self._listeners = [
            keyboard.Listener(on_press=self._on_key_press, on_release=self._on_key_release),
            mouse.Listener(on_click=self._on_click),
        ]
        for listener in self._listeners:
            listener.daemon = True
            listener.start()
        self.enabled = True
        self.error = ""

    def stop(self) -> None:
        for listener in self._listeners:
            listener.stop()
        self._listeners = []
        self.enabled = False
        self._release()

    # --- listener threads --------------------------------------------------------------

    def _on_key_press(self, key: Any) -> None:
        self.pressed(pynput_key_name(key))

    def _on_key_release(self, key: Any) -> None:
        self.released(pynput_key_name(key))

    def _on_click(self, x: int, y: int, button: Any, pressed: bool) -> None:
        name = MOUSE_NAMES.get(getattr(button, "name", ""))
        if pressed:
            self.pressed(name)
        else:
            self.released(name)

    def pressed(self, name: str | None) -> None:
        with self._lock:
            if name != self._key or self._held or self._focused():
                return
            self._held = True
        self._send(StartTransmit())

    def released(self, name: str | None) -> None:
        with self._lock:
            if name != self._key:
                return
        self._release()

    def _release(self) -> None:
        with self._lock:
            if not self._held:
                return
            self._held = False
        self._send(StopTransmit())
