"""The chat of the current room: who said what and when, and the line to type in.

Times are the server's timestamps shown in local time, so everyone's lines
are ordered the way the server relayed them. Lines made by this client
(notices such as "you joined ...") are drawn dimmed, without a sender.
New lines are appended to what is drawn; the log is rebuilt only when the
room changes or old lines were dropped.
"""

from __future__ import annotations

import datetime as dt

import dearpygui.dearpygui as dpg

from voip.client.commands import SendChat
from voip.client.state import ChatLine, Connected, State
from voip_gui import theme
from voip_gui.ports import SendFn


def format_time(server_time_ms: int) -> str:
    """``HH:MM`` in local time (the date is not shown: the log is of one session)."""
    return dt.datetime.fromtimestamp(server_time_ms / 1000).strftime("%H:%M")


def format_line(line: ChatLine) -> str:
    """The whole line as plain text (what tests and copy/paste see)."""
    if line.local:
        return f"[{format_time(line.server_time_ms)}] {line.text}"
    return f"[{format_time(line.server_time_ms)}] {line.sender_name}: {line.text}"


class ChatView:
    def __init__(self, send: SendFn) -> None:
        self._send = send
        self._room_id: int | None = None
        self._lines: tuple[ChatLine, ...] = ()
        self._my_user_id: int | None = None
        self._scroll_frames = 0
        self.max_length = 0
        self.title: int | str = 0
        self.log: int | str = 0
        self.input: int | str = 0
        self.counter: int | str = 0
        #: plain text of each drawn line, oldest first (for tests).
        self.drawn_text: list[str] = []

    def build(self, parent: int | str) -> None:
        with dpg.group(parent=parent):
            self.title = dpg.add_text("Chat", tag="chat_title", color=theme.TEXT_DIM)
            self.log = dpg.add_child_window(tag="chat_log", height=-44, border=False)
            with dpg.group(horizontal=True):
                self.input = dpg.add_input_text(
                    tag="chat_input",
                    hint="Type a message, Enter sends",
                    width=-90,
                    on_enter=True,
                    callback=self.send_input,
                )
                self.counter = dpg.add_text("", tag="chat_counter", color=theme.TEXT_DIM)

    def send_input(self) -> None:
        """Send what is typed (Enter in the input line), then clear it for the next one."""
        text = str(dpg.get_value(self.input)).strip()
        if not text:
            return
        if self.max_length and len(text) > self.max_length:
            dpg.configure_item(self.counter, color=theme.ERROR)
            return
        self._send(SendChat(text))
        # Enter also leaves the line (Dear PyGui deactivates it), so the push-to-talk
        # key works again at once; click the line to type the next message.
        dpg.set_value(self.input, "")

    def tick(self) -> None:
        """Every frame: enforce the length limit while typing, keep the log scrolled down."""
        value = str(dpg.get_value(self.input))
        if self.max_length:
            if len(value) > self.max_length:
                value = value[: self.max_length]
                dpg.set_value(self.input, value)
            near_full = len(value) > self.max_length * 0.9
            dpg.set_value(self.counter, f"{len(value)}/{self.max_length}")
            dpg.configure_item(self.counter, color=theme.WARNING if near_full else theme.TEXT_DIM)
        if self._scroll_frames:
            self._scroll_frames -= 1
            dpg.set_y_scroll(self.log, dpg.get_y_scroll_max(self.log))

    def render(self, state: State) -> None:
        connection = state.connection
        self.max_length = connection.max_chat_length if isinstance(connection, Connected) else 0
        if not self.max_length:
            dpg.set_value(self.counter, "")
        dpg.configure_item(self.input, enabled=state.is_connected)
        room = state.room(state.my_room_id) if state.my_room_id is not None else None
        dpg.set_value(self.title, f"Chat in {room.name}" if room else "Chat")
        hint = f"Message {room.name} (Enter sends)" if room else "Not connected"
        dpg.configure_item(self.input, hint=hint)
        self._my_user_id = state.my_user_id

        lines = state.chat_in(state.my_room_id) if state.my_room_id is not None else ()
        old = self._lines
        if state.my_room_id == self._room_id and lines[: len(old)] == old:
            new = lines[len(old) :]
        else:
            dpg.delete_item(self.log, children_only=True)
            self.drawn_text.clear()
            new = lines
        self._room_id = state.my_room_id
        self._lines = lines
        for line in new:
            self._add_line(line)
        if new:
            self._scroll_frames = 3

    def _add_line(self, line: ChatLine) -> None:
        self.drawn_text.append(format_line(line))
        with dpg.group(horizontal=True, parent=self.log, horizontal_spacing=6):
            dpg.add_text(format_time(line.server_time_ms), color=theme.TEXT_DIM)
            if line.local:
                dpg.add_text(line.text, color=theme.WARNING, wrap=0)
                return
            mine = line.sender_id == self._my_user_id
            dpg.add_text(f"{line.sender_name}:", color=theme.ME if mine else theme.ACCENT_HOVER)
            dpg.add_text(line.text, wrap=0)
