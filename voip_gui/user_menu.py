"""Right-click on a user: how loud they are here, then move, kick, ban, server mute, roles.

On top, for anyone but yourself: **Volume here** (0-200 %) and **Mute for
me**, which change only what this client plays (`local_sound.py`). Below,
the moderation items: every one is shown to everyone, and disabled with a
tooltip saying why when the user lacks the permission (`State.access`,
from the server's effective permissions). The server checks again; a
refusal appears in the notice bar like any other.
"""

from __future__ import annotations

from typing import Any

import dearpygui.dearpygui as dpg

from voip.client.moderation import (
    BanUser,
    FetchRoles,
    GrantRole,
    KickUser,
    MoveUser,
    RevokeRole,
    SetServerMute,
)
from voip.client.state import State, UserView
from voip.protocol.permissions import ADMIN_ROLE, EVERYONE, Perm
from voip_gui import theme
from voip_gui.local_sound import LocalSounds
from voip_gui.ports import SendFn
from voip_gui.prefs import UserSound

#: Ban durations offered, label -> seconds (0: for good).
BAN_DURATIONS = {"1 hour": 3600, "1 day": 86400, "7 days": 7 * 86400, "for good": 0}
ITEMS = ("move", "kick", "ban", "mute", "deafen", "roles")


def _center(window: int | str, width: int, height: int = 200) -> None:
    vw = dpg.get_viewport_client_width() or 1280
    vh = dpg.get_viewport_client_height() or 800
    dpg.set_item_pos(window, [(vw - width) // 2, (vh - height) // 2])


class UserMenu:
    def __init__(self, send: SendFn, sounds: LocalSounds | None = None) -> None:
        self._send = send
        self._sounds = sounds
        self._state: State | None = None
        self.user_id: int | None = None
        self.target_room_id: int | None = None
        self.menu: int | str = 0
        self.items: dict[str, int | str] = {}
        self.why: dict[str, int | str] = {}
        self.tips: dict[str, int | str] = {}
        self._pending: str | None = None  # "kick" or "ban" while the reason dialog is open
        self._after: list[Any] = []
        self._frames = 0

    # --- building --------------------------------------------------------------------

    def build(self) -> None:
        labels = {
            "move": "Move to the selected room",
            "kick": "Kick...",
            "ban": "Ban...",
            "mute": "Server mute",
            "deafen": "Server deafen",
            "roles": "Roles...",
        }
        with dpg.window(
            tag="user_menu",
            popup=True,
            show=False,
            no_title_bar=True,
            autosize=True,
            min_size=(200, 20),
        ) as self.menu:
            self.title = dpg.add_text("", tag="user_menu_title", color=theme.TEXT_DIM)
            with dpg.group(tag="user_menu_sound"):
                dpg.add_slider_int(
                    tag="user_menu_local_volume", min_value=0, max_value=200, default_value=100,
                    format="Volume here %d%%", width=200, callback=self._on_volume,
                )
                dpg.add_checkbox(
                    label="Mute for me", tag="user_menu_local_mute", callback=self._on_mute
                )
                dpg.add_selectable(
                    label="Reset to 100 %", tag="user_menu_local_reset", callback=self._on_reset
                )
            dpg.add_separator()
            for key in ITEMS:
                self.items[key] = dpg.add_selectable(
                    label=labels[key], tag=f"user_menu_{key}", callback=self._clicked, user_data=key
                )
                with dpg.tooltip(self.items[key]) as self.tips[key]:
                    self.why[key] = dpg.add_text("", tag=f"user_menu_{key}_why", wrap=320)
        with dpg.window(
            label="Moderate",
            tag="reason_dialog",
            modal=True,
            show=False,
            width=420,
            autosize=True,
            no_resize=True,
            no_collapse=True,
            no_saved_settings=True,
        ):
            dpg.add_text("", tag="reason_prompt", wrap=390)
            dpg.add_input_text(tag="reason_input", hint="reason (shown to them)", width=-1)
            dpg.add_combo(list(BAN_DURATIONS), tag="ban_duration", default_value="1 day", width=-1)
            with dpg.group(horizontal=True):
                dpg.add_button(label="OK", tag="reason_ok", width=90, callback=self._confirm)
                dpg.add_button(
                    label="Cancel",
                    width=90,
                    callback=lambda: dpg.configure_item("reason_dialog", show=False),
                )
        with dpg.window(
            label="Roles",
            tag="roles_dialog",
            show=False,
            width=320,
            autosize=True,
            no_collapse=True,
            no_saved_settings=True,
        ):
            dpg.add_text("", tag="roles_prompt", wrap=290)
            dpg.add_group(tag="roles_list")
            dpg.add_button(
                label="Close", callback=lambda: dpg.configure_item("roles_dialog", show=False)
            )

    # --- opening --------------------------------------------------------------------

    def open(self, user_id: int, target_room_id: int | None) -> None:
        """Show the menu for `user_id`; "move" moves them to `target_room_id`."""
        self.user_id = user_id
        self.target_room_id = target_room_id
        self._refresh()
        user = self._user()
        local = self._sounds is not None and user is not None and not user.is_me
        dpg.configure_item("user_menu_sound", show=local)
        if local and self._sounds is not None:
            sound = self._sounds.sound_of(user_id)
            dpg.set_value("user_menu_local_volume", round(sound.volume * 100))
            dpg.set_value("user_menu_local_mute", sound.muted)
        dpg.configure_item(self.menu, show=True)
        dpg.set_item_pos(self.menu, dpg.get_mouse_pos(local=False))

    def _user(self) -> UserView | None:
        if self._state is None or self.user_id is None:
            return None
        return self._state.user(self.user_id)

    def refusals(self) -> dict[str, str | None]:
        """Per item: None if it may be used, else why not (the tooltip)."""
        state, user = self._state, self._user()
        if state is None or user is None or not state.is_connected:
            return dict.fromkeys(ITEMS, "Not connected.")
        access = state.access
        me = state.me
        me_admin = me is not None and ADMIN_ROLE in me.roles
        protected = ADMIN_ROLE in user.roles and not me_admin and not user.is_me
        out: dict[str, str | None] = {}
        target = self.target_room_id
        if target is None or target == user.room_id:
            out["move"] = "Select another room first; the user is moved there."
        else:
            out["move"] = access.refusal(
                Perm.MOVE, user.room_id, "move users out of this room"
            ) or (access.refusal(Perm.MOVE, target, "move users into the selected room"))
        for key, perm, doing in (
            ("kick", Perm.KICK, "kick users"),
            ("ban", Perm.BAN, "ban users"),
        ):
            if user.is_me:
                out[key] = f"You cannot {key} yourself."
            elif protected:
                out[key] = f"Only an admin may {key} an admin."
            else:
                out[key] = access.refusal(perm, None, doing)
        mute = access.refusal(Perm.MUTE_DEAFEN, user.room_id, "mute or deafen users here")
        out["mute"] = out["deafen"] = "Only an admin may mute an admin." if protected else mute
        out["roles"] = access.refusal(Perm.MANAGE_ROLES, None, "manage roles")
        return out

    def _refresh(self) -> None:
        user = self._user()
        if user is None:
            return
        dpg.set_value(self.title, user.name)
        dpg.configure_item(
            self.items["mute"], label="Lift server mute" if user.server_mute else "Server mute"
        )
        dpg.configure_item(
            self.items["deafen"],
            label="Lift server deafen" if user.server_deaf else "Server deafen",
        )
        for key, why in self.refusals().items():
            dpg.configure_item(self.items[key], enabled=why is None)
            dpg.set_value(self.why[key], why or "")
            dpg.configure_item(self.tips[key], show=why is not None)

    def close(self) -> None:
        dpg.configure_item(self.menu, show=False)

    # --- local volume -----------------------------------------------------------------

    def _set_sound(self, volume: float | None = None, muted: bool | None = None) -> None:
        if self._sounds is None or self.user_id is None:
            return
        old = self._sounds.sound_of(self.user_id)
        new_volume = old.volume if volume is None else volume
        new_muted = old.muted if muted is None else muted
        self._sounds.set_sound(self.user_id, UserSound(new_volume, new_muted))

    def _on_volume(self, sender: Any, value: Any) -> None:
        self._set_sound(volume=int(value) / 100.0)

    def _on_mute(self, sender: Any, value: Any) -> None:
        self._set_sound(muted=bool(value))

    def _on_reset(self) -> None:
        self._set_sound(volume=1.0, muted=False)
        dpg.set_value("user_menu_local_volume", 100)
        dpg.set_value("user_menu_local_mute", False)
        dpg.set_value("user_menu_local_reset", False)

    # --- acting ---------------------------------------------------------------------

    def _clicked(self, sender: int | str, app_data: Any, user_data: str) -> None:
        dpg.set_value(sender, False)
        self.act(user_data)

    def act(self, key: str) -> None:
        """What clicking item `key` does (also called by tests)."""
        user = self._user()
        if user is None or self.refusals().get(key) is not None:
            return
        dpg.configure_item(self.menu, show=False)
        if key == "move" and self.target_room_id is not None:
            self._send(MoveUser(user.id, self.target_room_id))
        elif key == "mute":
            self._send(SetServerMute(user.id, mute=not user.server_mute, deaf=user.server_deaf))
        elif key == "deafen":
            deaf = not user.server_deaf
            self._send(SetServerMute(user.id, mute=deaf or user.server_mute, deaf=deaf))
        elif key in ("kick", "ban"):
            self._later(lambda: self._ask_reason(key, user))
        elif key == "roles":
            self._send(FetchRoles())
            self._later(lambda: self._open_roles(user))

    def _later(self, action: Any) -> None:
        """Open a modal two frames after the popup closed (it would close with it)."""
        self._after.append(action)
        self._frames = 2

    def tick(self) -> None:
        if not self._after:
            return
        if self._frames > 0:
            self._frames -= 1
            return
        actions, self._after = self._after, []
        for action in actions:
            action()

    def _ask_reason(self, key: str, user: UserView) -> None:
        self._pending = key
        verb = "Kick" if key == "kick" else "Ban"
        dpg.configure_item("reason_dialog", label=f"{verb} {user.name}", show=True)
        dpg.set_value("reason_prompt", f"{verb} {user.name}? They see the reason.")
        dpg.set_value("reason_input", "")
        dpg.configure_item("ban_duration", show=key == "ban")
        _center("reason_dialog", 420)

    def _confirm(self) -> None:
        dpg.configure_item("reason_dialog", show=False)
        user = self._user()
        if user is None or self._pending is None:
            return
        reason = str(dpg.get_value("reason_input")).strip()
        if self._pending == "kick":
            self._send(KickUser(user.id, reason))
        else:
            seconds = BAN_DURATIONS.get(str(dpg.get_value("ban_duration")), 0)
            self._send(BanUser(user.id, seconds, reason))
        self._pending = None

    def _open_roles(self, user: UserView) -> None:
        dpg.set_value("roles_prompt", f"Roles of {user.name} (changes apply at once):")
        dpg.configure_item("roles_dialog", show=True)
        _center("roles_dialog", 320)
        self._draw_roles()

    def _draw_roles(self) -> None:
        state, user = self._state, self._user()
        dpg.delete_item("roles_list", children_only=True)
        if state is None or user is None:
            return
        names = sorted({r.name for r in state.access.roles or ()} | {ADMIN_ROLE} | set(user.roles))
        for name in names:
            if name == EVERYONE:
                continue
            dpg.add_checkbox(
                label=name,
                parent="roles_list",
                tag=f"role_box_{name}",
                default_value=name in user.roles,
                callback=self._toggle_role,
                user_data=name,
            )

    def _toggle_role(self, sender: int | str, app_data: bool, user_data: str) -> None:
        user = self._user()
        if user is None:
            return
        command = GrantRole(user.id, user_data) if app_data else RevokeRole(user.id, user_data)
        self._send(command)

    # --- drawing --------------------------------------------------------------------

    def render(self, state: State) -> None:
        before = self._state
        self._state = state
        if dpg.is_item_shown(self.menu):
            self._refresh()
        if dpg.is_item_shown("roles_dialog") and (
            before is None
            or before.access.roles != state.access.roles
            or before.users != state.users
        ):
            self._draw_roles()
