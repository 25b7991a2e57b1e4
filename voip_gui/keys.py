"""Push-to-talk key names: the text kept in the config, and Dear PyGui's key codes.

The config stores a stable lower-case name (``space``, ``f1``, ``left_ctrl``)
rather than a Dear PyGui key code, because the codes changed between Dear
PyGui releases (1.x used Windows virtual-key codes, 2.x uses ImGuiKey values)
and a saved setting must survive an upgrade.
"""

from __future__ import annotations

import dearpygui.dearpygui as dpg

#: Dear PyGui constant suffix -> config name, where lower-casing the suffix is not enough.
_ALIASES = {
    "Spacebar": "space",
    "Return": "enter",
    "Back": "backspace",
    "LControl": "left_ctrl",
    "RControl": "right_ctrl",
    "LShift": "left_shift",
    "RShift": "right_shift",
    "LAlt": "left_alt",
    "RAlt": "right_alt",
    "LWin": "left_super",
    "RWin": "right_super",
    "NumPadEnter": "numpad_enter",
    "CapsLock": "caps_lock",
    "ScrollLock": "scroll_lock",
    "NumLock": "num_lock",
    "Open_Brace": "left_bracket",
    "Close_Brace": "right_bracket",
    "Tilde": "grave",
}
#: Constants that are not keys (modifier flags, "none") or map to wrong codes in
#: Dear PyGui 2.3.1 (mvKey_Prior/mvKey_Next, DearPyGui issue #2658).
_SKIPPED = {"None", "ModAlt", "ModCtrl", "ModShift", "ModSuper", "ModDisabled", "Prior", "Next"}

_LABELS = {
    "space": "Space",
    "enter": "Enter",
    "left_ctrl": "Left Ctrl",
    "right_ctrl": "Right Ctrl",
    "left_shift": "Left Shift",
    "right_shift": "Right Shift",
    "left_alt": "Left Alt",
    "right_alt": "Right Alt (AltGr)",
    "left_super": "Left Super",
    "right_super": "Right Super",
    "caps_lock": "Caps Lock",
    "mouse_middle": "Middle mouse button",
    "mouse_back": "Mouse back button",
    "mouse_forward": "Mouse forward button",
}


def _build_tables() -> tuple[dict[int, str], dict[str, int]]:
    by_code: dict[int, str] = {}
    for attr in dir(dpg):
        if not attr.startswith("mvKey_"):
            continue
        suffix = attr.removeprefix("mvKey_")
        if suffix in _SKIPPED:
            continue
        code = getattr(dpg, attr)
        if not isinstance(code, int) or code in by_code:
            continue
        by_code[code] = _ALIASES.get(suffix, suffix.lower())
    return by_code, {name: code for code, name in by_code.items()}


KEY_NAMES, KEY_CODES = _build_tables()

#: Keys that type something into a text field: they do not key the microphone while
#: the user is typing (a space in a chat message must not start transmitting).
TYPING_KEYS = frozenset(
    name
    for name in KEY_CODES
    if len(name) == 1
    or name
    in {
        "space",
        "enter",
        "backspace",
        "minus",
        "plus",
        "comma",
        "period",
        "slash",
        "backslash",
        "colon",
        "quote",
        "grave",
        "left_bracket",
        "right_bracket",
        "tab",
        "delete",
        "left",
        "right",
        "up",
        "down",
        "home",
        "end",
    }
)


def key_name(code: int) -> str:
    """The config name of a Dear PyGui key code (``key_627`` for codes without a constant)."""
    return KEY_NAMES.get(code, f"key_{code}")


def key_code(name: str) -> int | None:
    """The Dear PyGui key code for a config name, or None if this build has no such key."""
    if name in KEY_CODES:
        return KEY_CODES[name]
    if name.startswith("key_") and name[4:].isdigit():
        return int(name[4:])
    return None


def key_label(name: str) -> str:
    """How a key is shown to the user (``Space``, ``F1``, ``Left Ctrl``)."""
    if name in _LABELS:
        return _LABELS[name]
    if len(name) <= 3:
        return name.upper()
    return name.replace("_", " ").title()
