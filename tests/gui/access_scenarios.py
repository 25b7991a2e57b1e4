"""GUI scenarios for access control: greyed-out menus, the user menu, the ACL editor, bans.

Registered in scenarios.py's table (run the same way, one process each).
Snapshots are constructed, so each step says exactly which permissions
the window must reflect; the commands sent are what the real backend
would turn into requests (tests/client/test_access_state.py).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import dearpygui.dearpygui as dpg
import driving as d
from scripted_backend import ScriptedBackend, connected_state

from voip.client import moderation as m
from voip.client.access_state import AccessState, AclEntryView, AclView, BanView, RoleView
from voip.client.state import State
from voip.protocol.permissions import ALL, SERVER_WIDE, Perm
from voip_gui.app import ClientApp

EVERYONE = int(Perm.ENTER | Perm.SPEAK | Perm.TEXT | Perm.MAKE_ROOM)


def _shot(app: ClientApp, artifacts: Path, name: str) -> None:
    path = app.screenshot(artifacts / f"{name}.png")
    d.assert_screenshot(path, d.frame_pixels(app.frame))
    print(f"screenshot {path}")


def _publish(app: ClientApp, backend: ScriptedBackend, state: State) -> State:
    shown = backend.publish(state)
    app.pump(lambda s: s.version == shown.version, timeout=5)
    app.frames(2)
    return shown


def _sent(backend: ScriptedBackend, *expected: object) -> None:
    sent = backend.take_sent()
    assert sent == list(expected), f"sent {sent}, expected {list(expected)}"


def _plain_user() -> State:
    """alice may only enter, speak, text and make rooms: the default policy, no room of hers."""
    state = connected_state()
    perms = {r.id: EVERYONE for r in state.rooms}
    return replace(state, errors=(), access=AccessState(MappingProxyType(perms), root_room_id=1))


def _admin() -> State:
    state = connected_state()
    perms = {r.id: int(ALL if r.id == 1 else ALL & ~SERVER_WIDE) for r in state.rooms}
    users = tuple(replace(u, roles=("admin",)) if u.is_me else u for u in state.users)
    roles = (
        RoleView("admin", True, (10,)),
        RoleView("everyone", True, ()),
        RoleView("moderator", False, (11,)),
    )
    return replace(
        state,
        errors=(),
        users=users,
        access=AccessState(MappingProxyType(perms), root_room_id=1, roles=roles),
    )


def scenario_access(artifacts: Path) -> None:
    backend = ScriptedBackend(State(version=1))
    app = ClientApp(backend)
    app.start(title="voip-access")
    try:
        _greyed_out(app, backend, artifacts)
        _hover_tooltip(app, backend, artifacts)
        _user_menu(app, backend, artifacts)
        _acl_editor(app, backend, artifacts)
        _bans_and_token(app, backend, artifacts)
    finally:
        app.close()


def _greyed_out(app: ClientApp, backend: ScriptedBackend, artifacts: Path) -> None:
    _publish(app, backend, _plain_user())
    rooms = app.rooms
    d.click(rooms.room_items[1])  # the root
    app.frames(2)
    for button in ("room_rename_button", "room_delete_button"):
        assert not dpg.is_item_enabled(button), button
    assert dpg.is_item_enabled("room_create_button") and dpg.is_item_enabled("room_join_button")
    assert "write permission" in dpg.get_value(rooms.why["rename"])
    assert dpg.get_value(rooms.why["delete"]) == "The root room cannot be deleted."
    assert not dpg.is_item_enabled("server_menu_bans")
    assert "ban permission" in dpg.get_value("server_menu_bans_why")
    assert not dpg.is_item_enabled("server_menu_acl")
    assert dpg.is_item_enabled("server_menu_redeem")
    # right-click bob: every moderation item is there, greyed out, saying why
    d.fire_item_handler(rooms.user_items[11], "mvClickedHandler", dpg.mvMouseButton_Right)
    app.frames(2)
    assert dpg.is_item_shown("user_menu")
    for key in ("move", "kick", "ban", "mute", "deafen", "roles"):
        assert not dpg.is_item_enabled(f"user_menu_{key}"), key
    assert "kick permission" in dpg.get_value("user_menu_kick_why")
    assert "manage-roles" in dpg.get_value("user_menu_roles_why")
    app.user_menu.act("kick")  # a click on a disabled item does nothing
    _sent(backend)
    app.frames(2)
    _shot(app, artifacts, "access_denied_user_menu")
    dpg.configure_item("user_menu", show=False)
    d.fire_item_handler(rooms.room_items[1], "mvClickedHandler", dpg.mvMouseButton_Right)
    app.frames(2)
    assert not dpg.is_item_enabled("room_menu_rename") and not dpg.is_item_enabled("room_menu_acl")
    _shot(app, artifacts, "access_denied_room_menu")
    dpg.configure_item("room_menu", show=False)
    app.frames(2)


def _hover_tooltip(app: ClientApp, backend: ScriptedBackend, artifacts: Path) -> None:
    """With a real pointer (xdotool) over a greyed-out button, its reason shows."""
    if not d.have_xdotool():
        print("no xdotool: the tooltip screenshot is skipped")
        return
    import subprocess

    window = subprocess.run(
        ["xdotool", "search", "--name", "^voip-access$"], capture_output=True, text=True, timeout=10
    ).stdout.split()[0]
    x, y = dpg.get_item_rect_min("room_rename_button")
    w, h = dpg.get_item_rect_size("room_rename_button")
    d.xdotool("mousemove", "--window", window, str(int(x + w / 2)), str(int(y + h / 2)))
    for _ in range(40):  # the tooltip shows after ImGui's hover delay
        app.frames(1)
    _shot(app, artifacts, "access_denied_tooltip")
    d.xdotool("mousemove", "--window", window, "5", "5")
    app.frames(3)


def _user_menu(app: ClientApp, backend: ScriptedBackend, artifacts: Path) -> None:
    state = _publish(app, backend, _admin())
    rooms = app.rooms
    # role badges and server mute are drawn next to the names
    assert any(
        dpg.get_value(item) == "[moderator]"
        for item in dpg.get_item_children(dpg.get_item_parent(rooms.user_items[11]), 1)
    )
    assert any(
        dpg.get_value(item) == "server-muted"
        for item in dpg.get_item_children(dpg.get_item_parent(rooms.user_items[12]), 1)
    )
    d.click(rooms.room_items[5])  # AFK selected: the move target
    d.fire_item_handler(rooms.user_items[11], "mvClickedHandler", dpg.mvMouseButton_Right)
    app.frames(2)
    for key in ("move", "kick", "ban", "mute", "deafen", "roles"):
        assert dpg.is_item_enabled(f"user_menu_{key}"), key
    assert dpg.get_value("user_menu_title") == "bob"
    _shot(app, artifacts, "user_menu")
    d.click("user_menu_move")
    _sent(backend, m.MoveUser(11, 5))
    # kick asks for a reason first
    d.fire_item_handler(rooms.user_items[11], "mvClickedHandler", dpg.mvMouseButton_Right)
    app.frames(2)
    d.click("user_menu_kick")
    app.frames(4)
    assert dpg.is_item_shown("reason_dialog") and not dpg.is_item_shown("ban_duration")
    d.enter("reason_input", "too loud")
    d.click("reason_ok")
    _sent(backend, m.KickUser(11, "too loud"))
    # ban: with a duration
    d.fire_item_handler(rooms.user_items[11], "mvClickedHandler", dpg.mvMouseButton_Right)
    app.frames(2)
    d.click("user_menu_ban")
    app.frames(4)
    assert dpg.is_item_shown("ban_duration")
    d.enter("ban_duration", "1 hour")
    d.enter("reason_input", "spam")
    _shot(app, artifacts, "ban_dialog")
    d.click("reason_ok")
    _sent(backend, m.BanUser(11, 3600, "spam"))
    # carol is server-muted: the item lifts it
    d.fire_item_handler(rooms.user_items[12], "mvClickedHandler", dpg.mvMouseButton_Right)
    app.frames(2)
    assert dpg.get_item_label("user_menu_mute") == "Lift server mute"
    d.click("user_menu_mute")
    _sent(backend, m.SetServerMute(12, mute=False, deaf=False))
    # roles: a checkbox per role, toggling grants or revokes
    d.fire_item_handler(rooms.user_items[11], "mvClickedHandler", dpg.mvMouseButton_Right)
    app.frames(2)
    d.click("user_menu_roles")
    _sent(backend, m.FetchRoles())
    app.frames(4)
    assert dpg.is_item_shown("roles_dialog")
    assert dpg.get_value("role_box_moderator") is True and dpg.get_value("role_box_admin") is False
    d.enter("role_box_admin", True)
    _sent(backend, m.GrantRole(11, "admin"))
    d.enter("role_box_moderator", False)
    _sent(backend, m.RevokeRole(11, "moderator"))
    _shot(app, artifacts, "roles_dialog")
    dpg.configure_item("roles_dialog", show=False)
    # a non-admin moderator may not touch an admin
    users = tuple(replace(u, roles=("moderator",)) if u.is_me else u for u in state.users)
    users = tuple(replace(u, roles=("admin",)) if u.id == 11 else u for u in users)
    _publish(app, backend, replace(state, users=users))
    d.fire_item_handler(rooms.user_items[11], "mvClickedHandler", dpg.mvMouseButton_Right)
    app.frames(2)
    assert not dpg.is_item_enabled("user_menu_kick")
    assert dpg.get_value("user_menu_kick_why") == "Only an admin may kick an admin."
    dpg.configure_item("user_menu", show=False)
    _publish(app, backend, state)


def _acl_editor(app: ClientApp, backend: ScriptedBackend, artifacts: Path) -> None:
    rooms = app.rooms
    d.fire_item_handler(rooms.room_items[2], "mvClickedHandler", dpg.mvMouseButton_Right)
    app.frames(2)
    d.click("room_menu_acl")
    app.frames(4)
    _sent(backend, m.FetchAcl(2))
    assert dpg.is_item_shown("acl_editor")
    acl = AclView(
        2,
        True,
        (
            AclEntryView(role="everyone", deny=int(Perm.TEXT)),
            AclEntryView(user_id=10, allow=int(Perm.WRITE | Perm.MAKE_ROOM)),
        ),
    )
    state = backend.state()
    _publish(app, backend, replace(state, access=replace(state.access, acl=acl)))
    assert len(app.acl_editor.rows) == 2
    assert dpg.get_value("acl_subject_0") == "everyone" and dpg.get_value("acl_subject_1") == "#10"
    assert dpg.get_value("acl_deny_0_text") is True and dpg.get_value("acl_allow_1_write") is True
    d.enter("acl_deny_0_speak", True)  # everyone: no speaking here either
    d.click("acl_add")
    d.enter("acl_subject_2", "moderator")
    d.enter("acl_allow_2_move", True)
    d.enter("acl_allow_2_mute-deafen", True)
    d.enter("acl_inherit", False)
    _shot(app, artifacts, "acl_editor")
    d.click("acl_save")
    _sent(
        backend,
        m.SetAcl(
            2,
            False,
            (
                AclEntryView(role="everyone", deny=int(Perm.TEXT | Perm.SPEAK)),
                AclEntryView(user_id=10, allow=int(Perm.WRITE | Perm.MAKE_ROOM)),
                AclEntryView(role="moderator", allow=int(Perm.MOVE | Perm.MUTE_DEAFEN)),
            ),
        ),
        m.FetchAcl(2),
    )
    d.enter("acl_subject_2", "#x")
    d.click("acl_save")
    assert "Entry 3" in dpg.get_value("acl_problem")
    _sent(backend)
    dpg.configure_item("acl_editor", show=False)


def _bans_and_token(app: ClientApp, backend: ScriptedBackend, artifacts: Path) -> None:
    d.click("server_menu_bans")
    _sent(backend, m.FetchBans())
    bans = (
        BanView(b"\x01" * 32, 13, "dave", "spam", 0, 1_767_000_000_000, 10),
        BanView(b"\x02" * 32, 0, "", "", 1_767_003_600_000, 1_767_000_000_000, 10),
    )
    state = backend.state()
    _publish(app, backend, replace(state, access=replace(state.access, bans=bans)))
    assert dpg.is_item_shown("ban_list")
    _shot(app, artifacts, "ban_list")
    d.click("ban_lift_0")
    _sent(backend, m.Unban(b"\x01" * 32))
    dpg.configure_item("ban_list", show=False)
    d.click("server_menu_redeem")
    app.frames(2)
    assert dpg.is_item_shown("redeem_dialog")
    d.enter("redeem_token", "  Vq3xToken  ")
    _sent(backend, m.RedeemAdminToken("Vq3xToken"))
    assert not dpg.is_item_shown("redeem_dialog")


SCENARIOS = {"access": scenario_access}
