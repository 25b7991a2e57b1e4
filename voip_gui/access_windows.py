"""The server menu's windows: the room ACL editor, the ban list, redeeming the admin token.

The ACL editor shows a room's ACL as the server sent it (`State.access.acl`,
asked for with `FetchAcl` when the window opens) as one row per entry:
whom it is for (a role name, or ``#ID`` for one user), where it applies,
and a checkbox per permission for allow and for deny. Save sends the whole
ACL back (`SetAcl`); the server refuses what the user may not set and the
notice bar says why. docs/PERMISSIONS.md explains the rules.
"""

from __future__ import annotations

from typing import Any

import dearpygui.dearpygui as dpg

from voip.client.access_state import AclEntryView, AclView
from voip.client.moderation import FetchAcl, FetchBans, RedeemAdminToken, SetAcl, Unban
from voip.client.state import State
from voip.protocol.permissions import PERM_NAMES, Perm
from voip_gui import theme
from voip_gui.ports import SendFn

ACL_WIDTH = 1240


def _center(window: int | str, width: int, height: int = 300) -> None:
    vw = dpg.get_viewport_client_width() or 1280
    vh = dpg.get_viewport_client_height() or 800
    dpg.set_item_pos(window, [max(0, (vw - width) // 2), max(0, (vh - height) // 3)])


def subject_text(entry: AclEntryView) -> str:
    return f"#{entry.user_id}" if entry.user_id else entry.role


def parse_subject(text: str) -> tuple[str, int] | None:
    """`"#12"` -> ("", 12); `"mod"` -> ("mod", 0); None if empty or a bad id."""
    text = text.strip()
    if text.startswith("#"):
        return ("", int(text[1:])) if text[1:].isdigit() and int(text[1:]) > 0 else None
    return (text, 0) if text else None


class AclEditor:
    def __init__(self, send: SendFn) -> None:
        self._send = send
        self.room_id: int | None = None
        self._loaded: AclView | None = None
        self.rows: list[dict[str, Any]] = []  # per entry: item ids
        self.problem = ""

    def build(self) -> None:
        with dpg.window(
            label="Room ACL",
            tag="acl_editor",
            show=False,
            width=ACL_WIDTH,
            height=460,
            no_collapse=True,
            no_saved_settings=True,
        ):
            dpg.add_text("", tag="acl_title", wrap=ACL_WIDTH - 30)
            dpg.add_checkbox(label="Inherit from the room above", tag="acl_inherit")
            dpg.add_text(
                "Entries apply in order; later ones override earlier ones. For: a role "
                "(everyone, admin, ...) or #ID for one user.",
                color=theme.TEXT_DIM,
                wrap=ACL_WIDTH - 30,
            )
            dpg.add_child_window(tag="acl_rows", height=-64, border=True)
            dpg.add_text("", tag="acl_problem", color=theme.ERROR, wrap=ACL_WIDTH - 30)
            with dpg.group(horizontal=True):
                dpg.add_button(label="Add entry", tag="acl_add", callback=self._add_row)
                dpg.add_button(label="Save", tag="acl_save", callback=self.save)
                dpg.add_button(label="Reload", tag="acl_reload", callback=self._reload)
                dpg.add_button(
                    label="Close", callback=lambda: dpg.configure_item("acl_editor", show=False)
                )

    def open(self, room_id: int, room_name: str) -> None:
        self.room_id = room_id
        self._loaded = None
        dpg.set_value("acl_title", f'ACL of "{room_name}" (loading...)')
        dpg.set_value("acl_problem", "")
        dpg.delete_item("acl_rows", children_only=True)
        self.rows = []
        dpg.configure_item("acl_editor", show=True)
        _center("acl_editor", ACL_WIDTH, 460)
        self._send(FetchAcl(room_id))

    def typing(self) -> bool:
        """Whether one of the editor's "for" fields has the keyboard (not push-to-talk)."""
        return dpg.is_item_shown("acl_editor") and any(
            dpg.is_item_active(row["subject"]) for row in self.rows
        )

    def _reload(self) -> None:
        if self.room_id is not None:
            self._loaded = None
            self._send(FetchAcl(self.room_id))

    def render(self, state: State) -> None:
        acl = state.access.acl
        if (
            not dpg.is_item_shown("acl_editor")
            or acl is None
            or acl.room_id != self.room_id
            or acl is self._loaded
        ):
            return
        self._loaded = acl
        room = state.room(acl.room_id)
        dpg.set_value("acl_title", f'ACL of "{room.name if room else acl.room_id}"')
        dpg.set_value("acl_inherit", acl.inherit)
        dpg.delete_item("acl_rows", children_only=True)
        self.rows = []
        for entry in acl.entries:
            self._add_row(entry=entry)

    def _add_row(
        self, sender: Any = None, app_data: Any = None, entry: AclEntryView | None = None
    ) -> None:
        entry = entry or AclEntryView(role="everyone")
        n = len(self.rows)
        row: dict[str, Any] = {"allow": {}, "deny": {}}
        with dpg.group(parent="acl_rows") as row["group"]:
            with dpg.group(horizontal=True):
                dpg.add_text(f"{n + 1}.")
                row["subject"] = dpg.add_input_text(
                    default_value=subject_text(entry), width=140, tag=f"acl_subject_{n}"
                )
                row["here"] = dpg.add_checkbox(label="here", default_value=entry.apply_here)
                row["subs"] = dpg.add_checkbox(label="sub-rooms", default_value=entry.apply_subs)
                dpg.add_button(label="Remove", callback=self._remove_row, user_data=row)
            for kind, bits, colour in (
                ("allow", entry.allow, theme.TALKING),
                ("deny", entry.deny, theme.ERROR),
            ):
                with dpg.group(horizontal=True, indent=24):
                    dpg.add_text(f"{kind}:", color=colour)
                    for perm, name in PERM_NAMES.items():
                        row[kind][perm] = dpg.add_checkbox(
                            label=name,
                            default_value=bool(bits & perm),
                            tag=f"acl_{kind}_{n}_{name}",
                        )
            dpg.add_separator()
        self.rows.append(row)

    def _remove_row(self, sender: Any, app_data: Any, row: dict[str, Any]) -> None:
        dpg.delete_item(row["group"])
        self.rows.remove(row)

    def entries(self) -> tuple[AclEntryView, ...] | str:
        """The rows as entries, or a sentence naming the first bad row."""
        out = []
        for n, row in enumerate(self.rows, 1):
            subject = parse_subject(str(dpg.get_value(row["subject"])))
            if subject is None:
                return f"Entry {n}: write a role name, or #ID for one user."
            bits = {
                kind: sum(int(p) for p, box in row[kind].items() if dpg.get_value(box))
                for kind in ("allow", "deny")
            }
            out.append(
                AclEntryView(
                    role=subject[0],
                    user_id=subject[1],
                    allow=bits["allow"],
                    deny=bits["deny"],
                    apply_here=bool(dpg.get_value(row["here"])),
                    apply_subs=bool(dpg.get_value(row["subs"])),
                )
            )
        return tuple(out)

    def save(self) -> None:
        if self.room_id is None:
            return
        entries = self.entries()
        if isinstance(entries, str):
            dpg.set_value("acl_problem", entries)
            return
        dpg.set_value("acl_problem", "")
        self._send(SetAcl(self.room_id, bool(dpg.get_value("acl_inherit")), entries))
        self._send(FetchAcl(self.room_id))  # show what the server now holds


class BanList:
    def __init__(self, send: SendFn) -> None:
        self._send = send
        self._drawn: object = None

    def build(self) -> None:
        with dpg.window(
            label="Bans",
            tag="ban_list",
            show=False,
            width=720,
            height=360,
            no_collapse=True,
            no_saved_settings=True,
        ):
            dpg.add_text("Keys banned from this server:", color=theme.TEXT_DIM)
            dpg.add_child_window(tag="ban_rows", height=-36, border=True)
            with dpg.group(horizontal=True):
                dpg.add_button(label="Refresh", tag="ban_refresh", callback=self.refresh)
                dpg.add_button(
                    label="Close", callback=lambda: dpg.configure_item("ban_list", show=False)
                )

    def open(self) -> None:
        dpg.configure_item("ban_list", show=True)
        _center("ban_list", 720, 360)
        self.refresh()

    def refresh(self) -> None:
        self._send(FetchBans())

    def render(self, state: State) -> None:
        bans = state.access.bans
        if bans is None or bans is self._drawn:
            return
        self._drawn = bans
        dpg.delete_item("ban_rows", children_only=True)
        if not bans:
            dpg.add_text("No bans.", parent="ban_rows", color=theme.TEXT_DIM)
        import time

        for n, ban in enumerate(bans):
            until = (
                time.strftime("until %Y-%m-%d %H:%M", time.localtime(ban.until_ms / 1000))
                if ban.until_ms
                else "for good"
            )
            who = ban.name or ban.public_key.hex()[:16]
            with dpg.group(horizontal=True, parent="ban_rows"):
                dpg.add_button(
                    label="Lift",
                    tag=f"ban_lift_{n}",
                    callback=lambda s, a, key: self._send(Unban(key)),
                    user_data=ban.public_key,
                )
                dpg.add_text(f"{who}  {until}  {ban.reason or '(no reason)'}")


class RedeemDialog:
    def __init__(self, send: SendFn) -> None:
        self._send = send

    def build(self) -> None:
        with dpg.window(
            label="Redeem admin token",
            tag="redeem_dialog",
            modal=True,
            show=False,
            width=440,
            autosize=True,
            no_resize=True,
            no_collapse=True,
            no_saved_settings=True,
        ):
            dpg.add_text(
                "A new server prints a one-time admin token in its log. Paste it here to "
                "become the server's admin.",
                wrap=410,
            )
            dpg.add_input_text(tag="redeem_token", width=-1, on_enter=True, callback=self.confirm)
            with dpg.group(horizontal=True):
                dpg.add_button(label="Redeem", tag="redeem_ok", width=90, callback=self.confirm)
                dpg.add_button(
                    label="Cancel",
                    width=90,
                    callback=lambda: dpg.configure_item("redeem_dialog", show=False),
                )

    def open(self) -> None:
        dpg.set_value("redeem_token", "")
        dpg.configure_item("redeem_dialog", show=True)
        _center("redeem_dialog", 440, 160)
        dpg.focus_item("redeem_token")

    def confirm(self) -> None:
        token = str(dpg.get_value("redeem_token")).strip()
        if token:
            dpg.configure_item("redeem_dialog", show=False)
            self._send(RedeemAdminToken(token))


def server_menu_refusals(state: State, room_id: int | None) -> dict[str, str | None]:
    """The server menu's items: None if usable, else why not."""
    if not state.is_connected:
        return {"acl": "Not connected.", "bans": "Not connected.", "redeem": "Not connected."}
    access = state.access
    room = room_id if room_id is not None else state.my_room_id
    return {
        "acl": access.refusal(Perm.WRITE, room, "edit this room's ACL"),
        "bans": access.refusal(Perm.BAN, None, "see or lift bans"),
        "redeem": None,
    }
