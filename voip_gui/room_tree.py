"""The room tree: rooms in tree order, the users in each, who is talking.

Click selects a room (the target of the buttons below the list), double-click
joins it, right-click opens a menu with the same actions. Creating, renaming
and deleting only send commands: if the server refuses, the refusal arrives
as an `ErrorNotice` and the notice bar shows it, and the tree keeps drawing
what the server says exists.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import dearpygui.dearpygui as dpg

from voip.client.commands import CreateRoom, DeleteRoom, JoinRoom, RenameRoom, problem
from voip.client.state import RoomView, State, UserView
from voip.protocol.permissions import Perm
from voip_gui import theme
from voip_gui.ports import RedrawFn, SendFn

INDENT = 18


def _item_of(app_data: Any) -> int | str | None:
    """The item an item handler fired for (app_data is ``(button, item)``)."""
    if isinstance(app_data, Sequence) and not isinstance(app_data, str) and len(app_data) >= 2:
        return app_data[1]
    return None


def user_marks(user: UserView, local: tuple[float, bool]) -> list[tuple[str, theme.Colour]]:
    """What is shown after a name: moderators' mute/deafen (red) apart from the
    user's own (dim), and how this client plays them (if not as sent)."""
    marks: list[tuple[str, theme.Colour]] = []
    if user.server_deaf:
        marks.append(("server-deafened", theme.ERROR))
    elif user.server_mute:
        marks.append(("server-muted", theme.ERROR))
    if user.self_deaf:
        marks.append(("deafened", theme.TEXT_DIM))
    elif user.self_mute:
        marks.append(("muted", theme.TEXT_DIM))
    volume, muted = local
    if muted:
        marks.append(("muted for you", theme.WARNING))
    elif abs(volume - 1.0) > 0.005:
        marks.append((f"{round(volume * 100)} %", theme.WARNING))
    return marks


class RoomNameDialog:
    """The small modal that asks for a room name (to create or to rename)."""

    def __init__(self) -> None:
        self.window: int | str = 0
        self.prompt: int | str = 0
        self.name: int | str = 0
        self.problem: int | str = 0
        self._on_ok: Any = None

    def build(self) -> None:
        with dpg.window(
            label="Room name",
            tag="room_name_dialog",
            modal=True,
            show=False,
            width=380,
            autosize=True,
            no_resize=True,
            no_collapse=True,
            no_saved_settings=True,
        ) as self.window:
            self.prompt = dpg.add_text("", tag="room_name_prompt", wrap=350)
            self.name = dpg.add_input_text(
                tag="room_name_input", width=-1, on_enter=True, callback=self.confirm
            )
            self.problem = dpg.add_text("", color=theme.ERROR, wrap=350, show=False)
            with dpg.group(horizontal=True):
                dpg.add_button(label="OK", tag="room_name_ok", width=90, callback=self.confirm)
                dpg.add_button(label="Cancel", width=90, callback=self.close)

    def open(self, title: str, prompt: str, initial: str, on_ok: Any) -> None:
        self._on_ok = on_ok
        dpg.configure_item(self.window, label=title, show=True)
        dpg.set_value(self.prompt, prompt)
        dpg.set_value(self.name, initial)
        dpg.configure_item(self.problem, show=False)
        width = dpg.get_viewport_client_width() or 1280
        height = dpg.get_viewport_client_height() or 800
        dpg.set_item_pos(self.window, [(width - 380) // 2, height // 2 - 100])
        dpg.focus_item(self.name)

    def confirm(self) -> None:
        if self._on_ok is None:
            return
        reason = self._on_ok(str(dpg.get_value(self.name)).strip())
        if reason:
            dpg.set_value(self.problem, reason)
            dpg.configure_item(self.problem, show=True)
            return
        self.close()

    def close(self) -> None:
        self._on_ok = None
        dpg.configure_item(self.window, show=False)


class RoomTree:
    def __init__(
        self,
        send: SendFn,
        themes: theme.Themes,
        redraw: RedrawFn = lambda frames: None,
        local_sound: Callable[[int], tuple[float, bool]] = lambda user_id: (1.0, False),
    ) -> None:
        self._local_sound = local_sound
        self._send = send
        self._themes = themes
        self._frames = redraw
        self._drawn: tuple[object, ...] | None = None
        self._state: State | None = None
        self.selected_room_id: int | None = None
        self.menu_room_id: int | None = None
        self._delete_id: int | None = None
        # Actions waiting for the context menu to be closed on screen: a modal opened
        # in the same frame as its popup closes would be closed with it.
        self._after_menu: list[Callable[[], None]] = []
        self._menu_frames = 0
        #: room id -> its selectable; user id -> its name text (for tests and focus).
        self.room_items: dict[int, int | str] = {}
        self.user_items: dict[int, int | str] = {}
        self.name_dialog = RoomNameDialog()
        self.list: int | str = 0
        self.menu: int | str = 0
        self.buttons: dict[str, int | str] = {}
        self._handlers: int | str = 0
        self._current_theme: int | str = 0
        self._talking_theme: int | str = 0
        self._user_handlers: int | str = 0
        #: Set by the window: right-click on a user, and "Edit ACL..." on a room.
        self.on_user_menu: Callable[[int, int | None], None] | None = None
        self.on_edit_acl: Callable[[int], None] | None = None
        #: button or menu key -> its tooltip text item (the reason it is disabled).
        self.why: dict[str, int | str] = {}
        self._tips: dict[str, int | str] = {}

    # --- building ------------------------------------------------------------------

    def build(self, parent: int | str) -> None:
        with dpg.theme() as self._current_theme, dpg.theme_component(dpg.mvAll):
            dpg.add_theme_color(dpg.mvThemeCol_Text, theme.CURRENT_ROOM)
        with dpg.item_handler_registry() as self._handlers:
            dpg.add_item_double_clicked_handler(
                button=dpg.mvMouseButton_Left, callback=self._on_double_click
            )
            dpg.add_item_clicked_handler(
                button=dpg.mvMouseButton_Right, callback=self._on_right_click
            )
        with dpg.item_handler_registry() as self._user_handlers:
            dpg.add_item_clicked_handler(
                button=dpg.mvMouseButton_Right, callback=self._on_user_right_click
            )
        with dpg.group(parent=parent):
            dpg.add_text("Rooms", color=theme.TEXT_DIM)
            self.list = dpg.add_child_window(
                tag="room_list", height=-self._themes.px(40), border=False
            )
            with dpg.theme() as tight, dpg.theme_component(dpg.mvAll):
                dpg.add_theme_style(dpg.mvStyleVar_ItemSpacing, 8, 4)
            dpg.bind_item_theme(self.list, tight)
            with dpg.group(horizontal=True):
                for key, label, callback in (
                    ("join", "Join", self.join_selected),
                    ("create", "New", self.ask_create),
                    ("rename", "Rename", self.ask_rename),
                    ("delete", "Delete", self.ask_delete),
                ):
                    self.buttons[key] = dpg.add_button(
                        label=label, tag=f"room_{key}_button", small=True, callback=callback
                    )
                    self._add_tip(key, self.buttons[key])
            dpg.bind_item_theme(self.buttons["delete"], self._themes.danger_button)
            with dpg.tooltip(self.list):
                dpg.add_text(
                    "Double-click or Enter joins; arrow keys select; F2 renames; Delete deletes; "
                    "right-click for more"
                )
        with dpg.window(
            tag="room_menu",
            popup=True,
            show=False,
            no_title_bar=True,
            autosize=True,
            min_size=(160, 20),
        ) as self.menu:
            dpg.add_selectable(label="Join", tag="room_menu_join", callback=self._menu_join)
            dpg.add_selectable(
                label="New room inside...", tag="room_menu_create", callback=self._menu_create
            )
            dpg.add_selectable(
                label="Rename...", tag="room_menu_rename", callback=self._menu_rename
            )
            dpg.add_selectable(
                label="Delete...", tag="room_menu_delete", callback=self._menu_delete
            )
            dpg.add_selectable(
                label="Edit ACL...", tag="room_menu_acl", callback=self._menu_acl
            )
            for key in ("join", "create", "rename", "delete", "acl"):
                self._add_tip(f"menu_{key}", f"room_menu_{key}")
        self.name_dialog.build()
        with dpg.window(
            label="Delete room",
            tag="room_delete_dialog",
            modal=True,
            show=False,
            width=380,
            autosize=True,
            no_resize=True,
            no_collapse=True,
            no_saved_settings=True,
        ):
            dpg.add_text("", tag="room_delete_prompt", wrap=350)
            with dpg.group(horizontal=True):
                ok = dpg.add_button(
                    label="Delete", tag="room_delete_ok", width=90, callback=self._confirm_delete
                )
                dpg.bind_item_theme(ok, self._themes.danger_button)
                dpg.add_button(
                    label="Cancel",
                    width=90,
                    callback=lambda: dpg.configure_item("room_delete_dialog", show=False),
                )

    def _add_tip(self, key: str, item: int | str) -> None:
        with dpg.tooltip(item) as self._tips[key]:
            self.why[key] = dpg.add_text("", wrap=300)

    # --- actions (called by widgets, handlers and tests) ----------------------------------

    def _target(self) -> RoomView | None:
        state = self._state
        if state is None:
            return None
        for room_id in (self.selected_room_id, state.my_room_id):
            room = state.room(room_id) if room_id is not None else None
            if room is not None:
                return room
        return state.root_room

    def select(self, room_id: int) -> None:
        self.selected_room_id = room_id
        for rid, item in self.room_items.items():
            dpg.set_value(item, rid == room_id)
        self._update_buttons()
        self._frames(1)

    def select_next(self, step: int) -> None:
        """Arrow keys: the room above (-1) or below (+1) the selected one, in tree order."""
        state = self._state
        if state is None or not state.rooms:
            return
        ids = [room.id for room in state.rooms]
        current = self._target()
        index = ids.index(current.id) if current is not None and current.id in ids else 0
        self.select(ids[max(0, min(len(ids) - 1, index + step))])

    def join(self, room_id: int) -> None:
        if self._state is not None and self._state.my_room_id == room_id:
            return
        self._send(JoinRoom(room_id))

    def join_selected(self) -> None:
        room = self._target()
        if room is not None:
            self.join(room.id)

    def ask_create(self) -> None:
        parent = self._target()
        if parent is None:
            return

        def create(name: str) -> str | None:
            command = CreateRoom(parent_id=parent.id, name=name)
            reason = problem(command)
            if reason is None:
                self._send(command)
            return reason.capitalize() if reason else None

        self.name_dialog.open("New room", f'A new room inside "{parent.name}":', "", create)

    def ask_rename(self) -> None:
        room = self._target()
        if room is None:
            return

        def rename(name: str) -> str | None:
            if name == room.name:
                return None
            command = RenameRoom(room_id=room.id, name=name)
            reason = problem(command)
            if reason is None:
                self._send(command)
            return reason.capitalize() if reason else None

        self.name_dialog.open("Rename room", f'New name for "{room.name}":', room.name, rename)

    def ask_delete(self) -> None:
        room = self._target()
        if room is None:
            return
        self._delete_id = room.id
        dpg.set_value(
            "room_delete_prompt",
            f'Delete the room "{room.name}"? Anyone in it moves to the room above, '
            "and rooms inside it move up one level.",
        )
        width = dpg.get_viewport_client_width() or 1280
        height = dpg.get_viewport_client_height() or 800
        dpg.configure_item("room_delete_dialog", show=True)
        dpg.set_item_pos("room_delete_dialog", [(width - 380) // 2, height // 2 - 80])

    def _confirm_delete(self) -> None:
        dpg.configure_item("room_delete_dialog", show=False)
        if self._delete_id is not None:
            self._send(DeleteRoom(self._delete_id))
            self._delete_id = None

    # --- widget callbacks -------------------------------------------------------------

    def _on_select(self, sender: int | str, app_data: Any, user_data: int) -> None:
        self.select(user_data)

    def _room_of(self, app_data: Any) -> int | None:
        item = _item_of(app_data)
        if item is None:
            return None
        room_id = dpg.get_item_user_data(item)
        return room_id if isinstance(room_id, int) else None

    def _on_double_click(self, sender: int | str, app_data: Any) -> None:
        room_id = self._room_of(app_data)
        if room_id is not None:
            self.select(room_id)
            self.join(room_id)

    def _on_right_click(self, sender: int | str, app_data: Any) -> None:
        room_id = self._room_of(app_data)
        if room_id is None:
            return
        self.select(room_id)
        self.open_menu(room_id)

    def open_menu(self, room_id: int) -> None:
        self.menu_room_id = room_id
        dpg.configure_item(self.menu, show=True)
        dpg.set_item_pos(self.menu, dpg.get_mouse_pos(local=False))
        self._frames(2)

    def _close_menu(self, then: Callable[[], None] | None = None) -> None:
        dpg.configure_item(self.menu, show=False)
        for key in ("join", "create", "rename", "delete", "acl"):
            dpg.set_value(f"room_menu_{key}", False)
        if then is not None:
            self._after_menu.append(then)
            self._menu_frames = 2
            self._frames(4)

    def tick(self) -> None:
        """Every frame: run what the context menu asked for once it is gone."""
        if not self._after_menu:
            return
        if self._menu_frames > 0:
            self._menu_frames -= 1
            return
        actions, self._after_menu = self._after_menu, []
        for action in actions:
            action()

    def _menu_join(self) -> None:
        self._close_menu()
        if self.menu_room_id is not None:
            self.join(self.menu_room_id)

    def _menu_create(self) -> None:
        self._close_menu(then=self.ask_create)

    def _menu_rename(self) -> None:
        self._close_menu(then=self.ask_rename)

    def _menu_delete(self) -> None:
        self._close_menu(then=self.ask_delete)

    def _menu_acl(self) -> None:
        room_id = self.menu_room_id
        if self.on_edit_acl is not None and room_id is not None:
            edit = self.on_edit_acl
            self._close_menu(then=lambda: edit(room_id))

    def _on_user_right_click(self, sender: int | str, app_data: Any) -> None:
        item = _item_of(app_data)
        user_id = next((uid for uid, it in self.user_items.items() if it == item), None)
        if user_id is not None and self.on_user_menu is not None:
            self.on_user_menu(user_id, self.selected_room_id)

    # --- drawing --------------------------------------------------------------------------

    def render(self, state: State) -> None:
        self._state = state
        if self.selected_room_id is not None and state.room(self.selected_room_id) is None:
            self.selected_room_id = None
        self._update_buttons()
        key = (
            state.rooms,
            state.users,
            state.access.permissions,
            tuple(self._local_sound(u.id) for u in state.users),
            state.my_room_id,
            state.audio.talking_users,
            state.audio.is_transmitting,
            self.selected_room_id,
        )
        if key == self._drawn:
            return
        self._drawn = key
        self._redraw(state)

    def refusals(self) -> dict[str, str | None]:
        """Per action: None if the user may, else why not (from the server's permissions)."""
        state = self._state
        room = self._target()
        if state is None or not state.is_connected or room is None:
            return dict.fromkeys(("join", "create", "rename", "delete", "acl"), "Not connected.")
        access = state.access
        delete = access.refusal(Perm.WRITE, room.id, "delete this room")
        if room.parent_id == 0:
            delete = "The root room cannot be deleted."
        join = access.refusal(Perm.ENTER, room.id, "enter this room")
        if room.id == state.my_room_id:
            join = "You are in this room."
        return {
            "join": join,
            "create": access.refusal(Perm.MAKE_ROOM, room.id, "create rooms in this room"),
            "rename": access.refusal(Perm.WRITE, room.id, "rename this room"),
            "delete": delete,
            "acl": access.refusal(Perm.WRITE, room.id, "edit this room's ACL"),
        }

    def _update_buttons(self) -> None:
        # Greyed out with the reason as a tooltip when the server's permissions say
        # no; the server still decides, and shows any refusal.
        for key, why in self.refusals().items():
            places = ((key, self.buttons.get(key)), (f"menu_{key}", f"room_menu_{key}"))
            for tip_key, item in places:
                if item is None or tip_key not in self._tips:
                    continue
                dpg.configure_item(item, enabled=why is None)
                dpg.set_value(self.why[tip_key], why or "")
                dpg.configure_item(self._tips[tip_key], show=why is not None)

    def _is_talking(self, state: State, user: UserView) -> bool:
        if user.is_me or user.id == state.my_user_id:
            return state.audio.is_transmitting or user.talking
        return user.talking or user.id in state.audio.talking_users

    def _redraw(self, state: State) -> None:
        dpg.delete_item(self.list, children_only=True)
        self.room_items.clear()
        self.user_items.clear()
        glyphs = self._themes.glyphs
        for room, users in state.room_tree():
            here = room.id == state.my_room_id
            name = self._themes.readable(room.name)
            label = name if not users else f"{name}  ({len(users)})"
            item = dpg.add_selectable(
                label=label,
                parent=self.list,
                indent=room.depth * INDENT if room.depth else -1,
                default_value=room.id == self.selected_room_id,
                user_data=room.id,
                callback=self._on_select,
            )
            dpg.bind_item_handler_registry(item, self._handlers)
            if here:
                dpg.bind_item_theme(item, self._current_theme)
            self.room_items[room.id] = item
            for user in users:
                talking = self._is_talking(state, user)
                me = user.is_me or user.id == state.my_user_id
                colour = theme.TALKING if talking else (theme.ME if me else theme.TEXT)
                with dpg.group(
                    horizontal=True,
                    parent=self.list,
                    indent=(room.depth + 1) * INDENT + 4,
                    horizontal_spacing=6,
                ):
                    dpg.add_text(
                        glyphs.talking if talking else glyphs.silent,
                        color=theme.TALKING if talking else theme.TEXT_DIM,
                    )
                    name = self._themes.readable(user.name)
                    self.user_items[user.id] = text = dpg.add_text(
                        f"{name} (you)" if me else name,
                        color=colour,
                        user_data={"talking": talking, "user_id": user.id},
                    )
                    dpg.bind_item_handler_registry(text, self._user_handlers)
                    for role in user.roles:
                        dpg.add_text(f"[{role}]", color=theme.ROLE_BADGE)
                    for mark, mark_colour in user_marks(user, self._local_sound(user.id)):
                        dpg.add_text(mark, color=mark_colour)
