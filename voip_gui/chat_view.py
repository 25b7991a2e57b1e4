"""The chat of the current room: who said what and when, and the line to type in.

Times are the server's timestamps shown in local time, so everyone's lines
are ordered the way the server relayed them. Your own name has a colour of
its own. Lines made by this window (someone joined, left or moved) are
drawn dimmed, without a sender; the lines of a room from before you came
in (the server's room history) take their place by time. The backend's
own local lines repeat what the status bar and the notices already say, so
they are not drawn here.

Reading history: new lines scroll the log down only when it was already at
the bottom; otherwise a "new messages" button appears and takes you down.
Enter sends and keeps the keyboard in the line, so the next words go there
(not to push-to-talk). Links get a button that opens them in the browser;
right-click a line to copy it; "Select text" shows the log as one read-only
text field to select and copy from.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dearpygui.dearpygui as dpg

from voip.client.commands import SendChat
from voip.client.state import ChatLine, Connected, State, UserView
from voip_gui import theme
from voip_gui.ports import RedrawFn, SendFn

log = logging.getLogger(__name__)

URL = re.compile(r"\bhttps?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]", re.IGNORECASE)
AT_BOTTOM_SLACK = 6.0  # pixels: "at the bottom" despite rounding


def format_time(server_time_ms: int) -> str:
    """``HH:MM`` in local time (the date is not shown: the log is of one session)."""
    return dt.datetime.fromtimestamp(server_time_ms / 1000).strftime("%H:%M")


def format_line(line: ChatLine) -> str:
    """The whole line as plain text (what tests and copy/paste see)."""
    if line.local:
        return f"[{format_time(line.server_time_ms)}] {line.text}"
    return f"[{format_time(line.server_time_ms)}] {line.sender_name}: {line.text}"


def links_in(text: str) -> list[str]:
    return URL.findall(text)


def presence_notes(
    before: tuple[UserView, ...], after: tuple[UserView, ...], room_id: int, state: State
) -> list[str]:
    """"bob joined", "bob left", "bob moved to Gaming": what changed in `room_id`'s users."""
    was = {u.id: u for u in before}
    now = {u.id: u for u in after}
    notes = []
    for user_id, user in now.items():
        old = was.get(user_id)
        if user.room_id == room_id and (old is None or old.room_id != room_id) and not user.is_me:
            if old is None:
                notes.append(f"{user.name} joined the server here")
            else:
                source = state.room(old.room_id)
                notes.append(f"{user.name} came in from {source.name if source else 'elsewhere'}")
    for user_id, old in was.items():
        if old.room_id != room_id or old.is_me:
            continue
        new = now.get(user_id)
        if new is None:
            notes.append(f"{old.name} left the server")
        elif new.room_id != room_id:
            target = state.room(new.room_id)
            notes.append(f"{old.name} moved to {target.name if target else 'another room'}")
    return notes


@dataclass(frozen=True, slots=True)
class _Entry:
    """One drawn row: a server line, or a note made here (sender_id 0)."""

    line: ChatLine
    note: bool = False


class ChatView:
    def __init__(
        self,
        send: SendFn,
        themes: theme.Themes | None = None,
        redraw: RedrawFn = lambda frames: None,
        readable: Callable[[str], str] = lambda text: text,
    ) -> None:
        self._send = send
        self._themes = themes
        self._redraw = redraw
        self._readable = readable
        self._room_id: int | None = None
        self._lines: tuple[ChatLine, ...] = ()
        self._users: tuple[UserView, ...] = ()
        self._my_user_id: int | None = None
        #: Notes made here, per room: entries kept across room switches.
        self._notes: dict[int, list[ChatLine]] = {}
        self._scroll_frames = 0
        self._last_y = 0.0
        #: Whether the log sticks to its end (it was at the bottom; not reading history).
        self.following = True
        self._refocus = False
        self.unseen = 0
        self.selecting = False
        self.max_length = 0
        self.title: int | str = 0
        self.log: int | str = 0
        self.select_box: int | str = 0
        self.select_button: int | str = 0
        self.new_button: int | str = 0
        self.input: int | str = 0
        self.counter: int | str = 0
        self.menu: int | str = 0
        self._menu_line = ""
        self._handlers: int | str = 0
        #: plain text of each drawn row, oldest first (tests, Select text).
        self.drawn_text: list[str] = []
        #: item of each drawn row's sender name (tests check the colour).
        self.name_items: list[int | str] = []
        self.link_buttons: list[int | str] = []

    # --- building ------------------------------------------------------------------

    def build(self, parent: int | str) -> None:
        with dpg.item_handler_registry() as self._handlers:
            dpg.add_item_clicked_handler(
                button=dpg.mvMouseButton_Right, callback=self._on_line_right_click
            )
        with dpg.group(parent=parent):
            with dpg.group(horizontal=True):
                self.title = dpg.add_text("Chat", tag="chat_title", color=theme.TEXT_DIM)
                self.select_button = dpg.add_button(
                    label="Select text", tag="chat_select", small=True, callback=self.toggle_select
                )
            below = -round(44 * (self._themes.scale if self._themes is not None else 1.0))
            self.log = dpg.add_child_window(tag="chat_log", height=below, border=False)
            self.select_box = dpg.add_input_text(
                tag="chat_select_box", multiline=True, readonly=True, width=-1, height=below,
                show=False,
            )
            self.new_button = dpg.add_button(
                label="", tag="chat_new_messages", width=-1, show=False,
                callback=self.scroll_to_end,
            )
            with dpg.group(horizontal=True):
                self.input = dpg.add_input_text(
                    tag="chat_input",
                    hint="Type a message, Enter sends",
                    width=-round(90 * (self._themes.scale if self._themes is not None else 1.0)),
                    on_enter=True,
                    callback=self.send_input,
                )
                self.counter = dpg.add_text("", tag="chat_counter", color=theme.TEXT_DIM)
        with dpg.window(
            tag="chat_menu", popup=True, show=False, no_title_bar=True, autosize=True,
            min_size=(150, 20),
        ) as self.menu:
            dpg.add_selectable(label="Copy line", tag="chat_menu_copy", callback=self._copy_line)
            dpg.add_selectable(label="Copy all", tag="chat_menu_copy_all", callback=self._copy_all)

    # --- user actions -------------------------------------------------------------------

    def send_input(self) -> None:
        """Send what is typed (Enter in the input line), clear it, keep typing there."""
        text = str(dpg.get_value(self.input)).strip()
        # Dear ImGui lets go of the line on Enter; take it back at once so the next
        # keys go on typing (and a space does not key the microphone).
        self._refocus = True
        self._redraw(3)
        if not text:
            return
        if self.max_length and len(text) > self.max_length:
            dpg.configure_item(self.counter, color=theme.ERROR)
            return
        self._send(SendChat(text))
        dpg.set_value(self.input, "")
        self.scroll_to_end()

    @property
    def keeps_focus(self) -> bool:
        """True between Enter and the line having the keyboard again (keys are typing)."""
        return self._refocus

    def toggle_select(self) -> None:
        self.selecting = not self.selecting
        dpg.set_value(self.select_box, "\n".join(self.drawn_text))
        dpg.configure_item(self.select_box, show=self.selecting)
        dpg.configure_item(self.log, show=not self.selecting)
        dpg.configure_item(self.select_button, label="Done" if self.selecting else "Select text")
        self._redraw(2)

    def scroll_to_end(self) -> None:
        self.following = True
        self.unseen = 0
        dpg.configure_item(self.new_button, show=False)
        self._scroll_frames = 2
        self._redraw(3)

    @staticmethod
    def open_link(url: str) -> None:
        log.info("opening %s in the browser", url)
        webbrowser.open(url, new=2)

    def _on_line_right_click(self, sender: Any, app_data: Any) -> None:
        item = app_data[1] if isinstance(app_data, list | tuple) and len(app_data) > 1 else None
        text = dpg.get_item_user_data(item) if item is not None else None
        if not isinstance(text, str):
            return
        self._menu_line = text
        dpg.configure_item(self.menu, show=True)
        dpg.set_item_pos(self.menu, dpg.get_mouse_pos(local=False))
        self._redraw(2)

    def _copy_line(self) -> None:
        dpg.set_clipboard_text(self._menu_line)
        self._close_menu()

    def _copy_all(self) -> None:
        dpg.set_clipboard_text("\n".join(self.drawn_text))
        self._close_menu()

    def _close_menu(self) -> None:
        dpg.configure_item(self.menu, show=False)
        for tag in ("chat_menu_copy", "chat_menu_copy_all"):
            dpg.set_value(tag, False)

    # --- per frame ------------------------------------------------------------------------

    def tick(self) -> None:
        """Every frame: the length limit, taking the keyboard back, scrolling down."""
        value = str(dpg.get_value(self.input))
        if self.max_length:
            if len(value) > self.max_length:
                value = value[: self.max_length]
                dpg.set_value(self.input, value)
            near_full = len(value) > self.max_length * 0.9
            dpg.set_value(self.counter, f"{len(value)}/{self.max_length}")
            dpg.configure_item(self.counter, color=theme.WARNING if near_full else theme.TEXT_DIM)
        if self._refocus:
            if dpg.is_item_active(self.input) or not dpg.is_item_enabled(self.input):
                self._refocus = False
            else:
                dpg.focus_item(self.input)
                self._redraw(2)
        y, bottom = dpg.get_y_scroll(self.log), dpg.get_y_scroll_max(self.log)
        if y < self._last_y - AT_BOTTOM_SLACK and not self._scroll_frames:
            self.following = False  # the user scrolled up to read
        elif y >= bottom - AT_BOTTOM_SLACK:
            self.following = True
            if self.unseen:
                self.unseen = 0
                dpg.configure_item(self.new_button, show=False)
        if self._scroll_frames or (self.following and y < bottom - 0.5):
            self._scroll_frames = max(0, self._scroll_frames - 1)
            dpg.set_y_scroll(self.log, bottom)
            self._redraw(2)  # the content's height is known a frame later
        self._last_y = dpg.get_y_scroll(self.log)

    # --- drawing --------------------------------------------------------------------------

    def render(self, state: State) -> None:
        connection = state.connection
        self.max_length = connection.max_chat_length if isinstance(connection, Connected) else 0
        if not self.max_length:
            dpg.set_value(self.counter, "")
        dpg.configure_item(self.input, enabled=state.is_connected)
        room = state.room(state.my_room_id) if state.my_room_id is not None else None
        name = self._readable(room.name) if room else ""
        dpg.set_value(self.title, f"Chat in {name}" if room else "Chat")
        hint = f"Message {name} (Enter sends)" if room else "Not connected"
        dpg.configure_item(self.input, hint=hint)
        self._my_user_id = state.my_user_id
        now_ms = int(time.time() * 1000)

        room_id = state.my_room_id
        if room_id is not None and room_id == self._room_id:
            for text in presence_notes(self._users, state.users, room_id, state):
                self._note(room_id, text, now_ms)
        self._users = state.users

        lines = state.chat_in(room_id) if room_id is not None else ()
        lines = tuple(line for line in lines if not line.local)  # the bar and notices say them
        entries = self._entries(room_id, lines)
        old = self._lines
        if room_id == self._room_id and entries[: len(old)] == old:
            new = entries[len(old) :]
        else:
            dpg.delete_item(self.log, children_only=True)
            self.drawn_text.clear()
            self.name_items.clear()
            self.link_buttons.clear()
            self.unseen = 0
            dpg.configure_item(self.new_button, show=False)
            new = entries
            self._scroll_frames = 2
        at_bottom = self.following or self._scroll_frames > 0
        self._room_id = room_id
        self._lines = entries
        for entry in new:
            self._add_line(entry)
        if self.selecting:
            dpg.set_value(self.select_box, "\n".join(self.drawn_text))
        if not new:
            return
        if at_bottom:
            self._scroll_frames = 2
            self._redraw(3)
        else:
            self.unseen += sum(1 for e in new if not e.local)
            if self.unseen:
                plural = "s" if self.unseen != 1 else ""
                dpg.configure_item(
                    self.new_button, label=f"{self.unseen} new message{plural} below", show=True
                )

    def _note(self, room_id: int, text: str, now_ms: int) -> None:
        self._notes.setdefault(room_id, []).append(
            ChatLine(0, "", room_id, text, now_ms, local=True)
        )

    def _entries(self, room_id: int | None, lines: tuple[ChatLine, ...]) -> tuple[ChatLine, ...]:
        """Server lines and this window's notes, in time order (notes after equal times)."""
        notes = self._notes.get(room_id, []) if room_id is not None else []
        if not notes:
            return lines
        merged = sorted(
            [(line.server_time_ms, 0, i, line) for i, line in enumerate(lines)]
            + [(note.server_time_ms, 1, i, note) for i, note in enumerate(notes)]
        )
        return tuple(item[3] for item in merged)

    def _add_line(self, line: ChatLine) -> None:
        plain = format_line(line)
        self.drawn_text.append(plain)
        readable = self._readable
        with dpg.group(parent=self.log):
            with dpg.group(horizontal=True, horizontal_spacing=6):
                dpg.add_text(format_time(line.server_time_ms), color=theme.TEXT_DIM)
                if line.local:
                    text = dpg.add_text(
                        readable(line.text), color=theme.TEXT_DIM, wrap=0, user_data=plain
                    )
                    dpg.bind_item_handler_registry(text, self._handlers)
                    return
                mine = line.sender_id == self._my_user_id
                name = dpg.add_text(
                    f"{readable(line.sender_name)}:",
                    color=theme.MY_NAME if mine else theme.OTHER_NAME,
                    user_data=plain,
                )
                self.name_items.append(name)
                text = dpg.add_text(readable(line.text), wrap=0, user_data=plain)
                dpg.bind_item_handler_registry(name, self._handlers)
                dpg.bind_item_handler_registry(text, self._handlers)
            links = links_in(line.text)
            if links:
                with dpg.group(horizontal=True, indent=48):
                    for url in links[:3]:
                        label = url if len(url) <= 60 else url[:57] + "..."
                        button = dpg.add_button(
                            label=f"open {label}", small=True, user_data=url,
                            callback=lambda s, a, u: self.open_link(u),
                        )
                        if self._themes is not None:
                            dpg.bind_item_theme(button, self._themes.link_button)
                        self.link_buttons.append(button)
