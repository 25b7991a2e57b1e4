"""Error notices: one line per problem, in plain words, gone when dismissed or resolved.

The backend keeps undismissed notices in `state.errors`. This bar draws
each distinct problem once (the same refusal three times is one line with
"(3 times)"), says which action failed in words ("Could not delete the
room") rather than the command's class name, and leaves connection
failures to the connect dialog, which already explains them. Once the
client is connected again, notices about connecting are dismissed: the
problem is resolved.
"""

from __future__ import annotations

from collections.abc import Callable

import dearpygui.dearpygui as dpg

from voip.client.commands import DismissError
from voip.client.state import ErrorNotice, State
from voip_gui import theme
from voip_gui.ports import SendFn

SHOWN = 3

#: What the user was doing, by the command that failed.
ACTIONS = {
    "Connect": "Could not connect",
    "AcceptCertificate": "Could not trust the certificate",
    "RejectCertificate": "Could not refuse the certificate",
    "JoinRoom": "Could not join the room",
    "CreateRoom": "Could not create the room",
    "DeleteRoom": "Could not delete the room",
    "RenameRoom": "Could not rename the room",
    "SendChat": "Message not sent",
    "SetDisplayName": "Could not change your name",
    "RequestResync": "Could not refresh the room list",
    "SetInputDevice": "Could not use that microphone",
    "SetOutputDevice": "Could not use those speakers",
    "StartTransmit": "Could not start sending",
    "StartLoopbackTest": "Could not start the loopback test",
}
#: Commands whose failures the connect dialog shows (and that a new connection resolves).
CONNECTING = frozenset({"Connect", "AcceptCertificate", "RejectCertificate"})


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] if text else text


def notice_text(notice: ErrorNotice) -> str:
    """``Could not delete the room: the root room cannot be deleted``."""
    message = notice.message.strip()
    if not notice.command:
        return _sentence(message)
    action = ACTIONS.get(notice.command, "That did not work")
    return f"{action}: {message}" if message else action


def grouped(errors: tuple[ErrorNotice, ...]) -> list[tuple[ErrorNotice, list[int]]]:
    """Each distinct problem once (newest last), with the ids of all its notices."""
    groups: dict[tuple[str, str, str], list[ErrorNotice]] = {}
    for notice in errors:
        groups.setdefault((notice.code, notice.message, notice.command), []).append(notice)
    ordered = sorted(groups.values(), key=lambda notices: notices[-1].id)
    return [(notices[-1], [n.id for n in notices]) for notices in ordered]


class NoticeBar:
    def __init__(self, send: SendFn, readable: Callable[[str], str] = lambda text: text) -> None:
        self._send = send
        self._readable = readable
        self._drawn: tuple[object, ...] | None = None
        self._shown: list[tuple[ErrorNotice, list[int]]] = []
        self._dismissed: set[int] = set()
        self.group: int | str = 0
        #: newest error id of each drawn problem -> its text item (for tests).
        self.items: dict[int, int | str] = {}

    def build(self, parent: int | str) -> None:
        self.group = dpg.add_group(parent=parent, tag="notices")

    def dismiss(self, error_ids: list[int]) -> None:
        for error_id in error_ids:
            self._send(DismissError(error_id))

    def dismiss_all(self) -> None:
        for _, ids in self._shown:
            self.dismiss(ids)

    def render(self, state: State) -> None:
        errors = state.errors
        if state.is_connected:
            resolved = [
                n.id for n in errors if n.command in CONNECTING and n.id not in self._dismissed
            ]
            if resolved:
                self._dismissed.update(resolved)
                self.dismiss(resolved)
        errors = tuple(n for n in errors if n.command not in CONNECTING)
        key = (errors,)
        if key == self._drawn:
            return
        self._drawn = key
        self._shown = groups = grouped(errors)
        dpg.delete_item(self.group, children_only=True)
        self.items.clear()
        for notice, ids in groups[-SHOWN:]:
            text = notice_text(notice)
            if len(ids) > 1:
                text += f" ({len(ids)} times)"
            with dpg.group(horizontal=True, parent=self.group):
                dpg.add_button(
                    label="Dismiss", small=True, user_data=ids,
                    callback=lambda s, a, u: self.dismiss(u),
                )
                self.items[notice.id] = dpg.add_text(
                    self._readable(text), color=theme.ERROR, wrap=0, user_data=notice.id
                )
        hidden = len(groups) - SHOWN
        if hidden > 0:
            with dpg.group(horizontal=True, parent=self.group):
                dpg.add_text(f"and {hidden} older", color=theme.TEXT_DIM)
                dpg.add_button(label="Dismiss all", small=True, callback=self.dismiss_all)
