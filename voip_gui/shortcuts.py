"""Keyboard shortcuts: Esc and Enter in dialogs, the room tree's keys, mute and the chat line.

One key-press handler for the whole window decides where a key goes, in
this order:

1. an open dialog: Esc cancels it; Enter confirms the room dialogs (the
   certificate prompt is never accepted by Enter: trusting a server has
   to be a deliberate click);
2. a text field with the keyboard: the key is typing, nothing else;
3. the window: Up/Down select a room, Enter joins it, F2 renames it,
   Delete asks to delete it; Ctrl+M mutes or unmutes you, Ctrl+D deafens;
   Ctrl+L (or Tab) puts the keyboard in the chat line.

Push-to-talk is the transmit bar's own handler, which also steps aside
while a text field has the keyboard.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import dearpygui.dearpygui as dpg

from voip.client.commands import Disconnect
from voip.client.state import State
from voip_gui import keys
from voip_gui.ports import RedrawFn, SendFn

MODALS = ("room_delete_dialog", "room_name_dialog", "trust_dialog", "room_menu", "chat_menu")


class _Views(Protocol):
    """What the shortcuts reach in the window (the `ClientApp`)."""

    rooms: Any
    chat: Any
    transmit: Any
    trust: Any
    connect_dialog: Any
    state: State | None

    def _typing(self) -> bool: ...


class Shortcuts:
    def __init__(self, app: _Views, send: SendFn, redraw: RedrawFn) -> None:
        self._app = app
        self._send = send
        self._redraw = redraw
        self.handled: list[str] = []  # what the last keys did (tests)

    def build(self) -> None:
        with dpg.handler_registry(tag="shortcut_keys"):
            dpg.add_key_press_handler(callback=self._on_key)

    def _on_key(self, sender: Any, app_data: Any) -> None:
        self.key(keys.key_name(int(app_data)))

    def _ctrl(self) -> bool:
        return bool(dpg.is_key_down(dpg.mvKey_LControl) or dpg.is_key_down(dpg.mvKey_RControl))

    def key(self, name: str, ctrl: bool | None = None) -> str | None:
        """Act on one key press; returns what was done (None: the key was not a shortcut)."""
        done = self._dialog_key(name)
        if done is None and not self._app._typing():
            done = self._window_key(name, self._ctrl() if ctrl is None else ctrl)
        if done is not None:
            self.handled.append(done)
            self._redraw(3)
        return done

    def _dialog_key(self, name: str) -> str | None:
        rooms = self._app.rooms
        if name not in ("escape", "enter", "numpad_enter"):
            return None
        enter = name != "escape"
        if dpg.is_item_shown("room_delete_dialog"):
            if enter:
                rooms._confirm_delete()
                return "delete confirmed"
            dpg.configure_item("room_delete_dialog", show=False)
            return "delete cancelled"
        if dpg.is_item_shown("room_name_dialog"):
            if enter:
                return None  # the name field's own Enter confirms
            rooms.name_dialog.close()
            return "name dialog closed"
        if dpg.is_item_shown("trust_dialog"):
            if enter:
                return None
            self._app.trust.reject()
            return "certificate refused"
        for menu in ("room_menu", "chat_menu"):
            if dpg.is_item_shown(menu) and not enter:
                dpg.configure_item(menu, show=False)
                return "menu closed"
        if not enter and dpg.is_item_shown("connect_dialog") and self._app.connect_dialog.busy:
            self._send(Disconnect())
            return "connecting cancelled"
        return None

    def _window_key(self, name: str, ctrl: bool) -> str | None:
        rooms = self._app.rooms
        state = self._app.state
        if any(dpg.is_item_shown(d) for d in MODALS):
            return None
        if ctrl and name == "m":
            self._app.transmit.toggle_mute()
            return "mute toggled"
        if ctrl and name == "d":
            self._app.transmit.toggle_deafen()
            return "deafen toggled"
        if dpg.is_item_shown("connect_dialog"):
            return None
        if (ctrl and name == "l") or name == "tab":
            dpg.focus_item("chat_input")
            return "chat focused"
        if ctrl or state is None or not state.is_connected:
            return None
        actions: dict[str, tuple[Callable[[], None], str]] = {
            "up": (lambda: rooms.select_next(-1), "room above"),
            "down": (lambda: rooms.select_next(1), "room below"),
            "enter": (rooms.join_selected, "join"),
            "numpad_enter": (rooms.join_selected, "join"),
            "f2": (rooms.ask_rename, "rename"),
            "delete": (rooms.ask_delete, "delete asked"),
        }
        if name not in actions:
            return None
        action, done = actions[name]
        action()
        return done
