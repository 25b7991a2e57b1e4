"""Error notices: every failure the backend reports, shown until the user dismisses it.

The backend keeps undismissed notices in `state.errors`; this bar draws the
newest few, each with a Dismiss button that sends DismissError, so each
notice is seen once and then goes away for good.
"""

from __future__ import annotations

import dearpygui.dearpygui as dpg

from voip.client.commands import DismissError
from voip.client.state import ErrorNotice, State
from voip_gui import theme
from voip_gui.ports import SendFn

SHOWN = 3


def notice_text(notice: ErrorNotice) -> str:
    what = f"{notice.command}: " if notice.command else ""
    return f"{what}{notice.message}"


class NoticeBar:
    def __init__(self, send: SendFn) -> None:
        self._send = send
        self._drawn: tuple[ErrorNotice, ...] | None = None
        self.group: int | str = 0
        #: error id -> its text item (for tests).
        self.items: dict[int, int | str] = {}

    def build(self, parent: int | str) -> None:
        self.group = dpg.add_group(parent=parent, tag="notices")

    def dismiss(self, error_id: int) -> None:
        self._send(DismissError(error_id))

    def dismiss_all(self) -> None:
        for notice in self._drawn or ():
            self._send(DismissError(notice.id))

    def render(self, state: State) -> None:
        if state.errors == self._drawn:
            return
        self._drawn = state.errors
        dpg.delete_item(self.group, children_only=True)
        self.items.clear()
        for notice in state.errors[-SHOWN:]:
            with dpg.group(horizontal=True, parent=self.group):
                dpg.add_button(
                    label="Dismiss",
                    small=True,
                    user_data=notice.id,
                    callback=lambda s, a, u: self.dismiss(u),
                )
                self.items[notice.id] = dpg.add_text(
                    notice_text(notice), color=theme.ERROR, wrap=0, user_data=notice.id
                )
        hidden = len(state.errors) - SHOWN
        if hidden > 0:
            with dpg.group(horizontal=True, parent=self.group):
                dpg.add_text(f"and {hidden} older", color=theme.TEXT_DIM)
                dpg.add_button(label="Dismiss all", small=True, callback=self.dismiss_all)
