"""GUI scenarios, each run in a process of its own (Dear PyGui has one context per process).

Run as ``python tests/gui/scenarios.py NAME ARTIFACT_DIR``; the pytest tests
in this folder do that and report the output. A scenario asserts as it
goes and exits non-zero on the first failure; it waits on states with
deadlines while rendering frames, never with fixed sleeps.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import dearpygui.dearpygui as dpg

sys.path.insert(0, str(Path(__file__).parent))

import access_scenarios
import driving as d
import files_scenarios
from scripted_backend import NOW_MS, ScriptedBackend, connected_state

from voip.client import commands as c
from voip.client.state import (
    AwaitingTrust,
    ConfigView,
    Connecting,
    ConnectionLost,
    State,
    TransmissionMode,
)
from voip_gui import keys
from voip_gui.app import ClientApp

FINGERPRINT = "SHA256:" + ":".join(f"{b:02X}" for b in range(0x10, 0x30))


def shot(app: ClientApp, artifacts: Path, name: str) -> Path:
    path = app.screenshot(artifacts / f"{name}.png")
    d.assert_screenshot(path, d.frame_pixels(app.frame))
    print(f"screenshot {path}")
    return path


def publish(app: ClientApp, backend: ScriptedBackend, state: State) -> State:
    shown = backend.publish(state)
    app.pump(lambda s: s.version == shown.version, timeout=5)
    app.frames(2)
    return shown


def expect_sent(backend: ScriptedBackend, *expected: c.Command) -> None:
    sent = backend.take_sent()
    assert sent == list(expected), f"sent {sent}, expected {list(expected)}"


# --- rendering constructed snapshots --------------------------------------------------------


def scenario_render(artifacts: Path) -> None:
    backend = ScriptedBackend(State(version=1, config=ConfigView("localhost:7731", "alice")))
    app = ClientApp(backend)
    app.start()
    try:
        _render_connect(app, backend, artifacts)
        _render_main(app, backend, artifacts)
        _render_lost(app, backend, artifacts)
    finally:
        app.close()


def _render_connect(app: ClientApp, backend: ScriptedBackend, artifacts: Path) -> None:
    app.frames(3)
    assert dpg.is_item_shown("connect_dialog")
    assert dpg.get_value("connect_address") == "localhost:7731", "not prefilled from config"
    assert dpg.get_value("connect_name") == "alice"
    assert dpg.get_value("status_text") == "Not connected"
    assert not dpg.is_item_enabled("room_join_button")
    shot(app, artifacts, "render_connect")

    dpg.set_value("connect_name", "")
    d.click("connect_button")
    expect_sent(backend)  # refused locally, and said why
    assert "display name" in dpg.get_value("connect_status").lower()
    dpg.set_value("connect_name", "alice")
    d.enter("connect_password", "s3cret")  # Enter in a field connects, like the button
    expect_sent(backend, c.Connect("localhost:7731", "alice", "s3cret"))

    publish(app, backend, replace(backend.state(), connection=Connecting("localhost:7731")))
    assert dpg.get_value("connect_status").startswith("Connecting to localhost:7731")
    assert not dpg.is_item_enabled("connect_button")
    assert dpg.is_item_shown("connect_cancel")
    assert dpg.get_value("status_text").startswith("Connecting to localhost:7731")
    d.click("connect_cancel")
    expect_sent(backend, c.Disconnect())

    publish(
        app,
        backend,
        replace(backend.state(), connection=AwaitingTrust("localhost:7731", FINGERPRINT)),
    )
    assert dpg.is_item_shown("trust_dialog")
    shown = dpg.get_value("trust_fingerprint")
    assert shown.replace("\n", "") == FINGERPRINT, shown
    assert "localhost:7731" in dpg.get_value("trust_server")
    shot(app, artifacts, "render_trust")
    d.click("trust_accept")
    expect_sent(backend, c.AcceptCertificate())
    app.frames(2)
    assert not dpg.is_item_shown("trust_dialog")


def _render_main(app: ClientApp, backend: ScriptedBackend, artifacts: Path) -> None:
    state = publish(app, backend, connected_state())
    assert not dpg.is_item_shown("connect_dialog")
    assert dpg.get_value("status_text") == (
        "Connected to Lobby (localhost:7731) as alice, in Engineering"
    )
    assert dpg.get_value("status_motd") == "Welcome to the test server."
    rooms = app.rooms
    labels = [dpg.get_item_label(rooms.room_items[r.id]) for r in state.rooms]
    assert labels == ["Lobby  (1)", "Engineering  (3)", "Standup", "Gaming  (1)", "AFK"], labels
    assert dpg.get_item_user_data(rooms.user_items[11]) ["talking"] is True  # bob talks
    assert dpg.get_item_user_data(rooms.user_items[12]) ["talking"] is False
    assert dpg.get_value(rooms.user_items[10]) == "alice (you)"
    chat = app.chat.drawn_text
    # The backend's own local lines ("You joined ...") repeat the status bar: not drawn.
    assert len(chat) == 3 and chat[0].endswith("bob: morning! can everyone hear me?"), chat
    assert not any("another room" in line for line in chat)
    assert dpg.get_value("chat_title") == "Chat in Engineering"
    assert dpg.get_value("chat_counter") == "0/500"
    notice = next(iter(app.notices.items.values()))
    assert dpg.get_value(notice) == "Could not rename the room: you may not rename this room"
    assert abs(dpg.get_value("input_meter") - 0.6) < 1e-6
    assert dpg.get_item_configuration("input_meter")["overlay"] == "input -24 dB"
    assert dpg.get_value("input_device") == "pulse"
    assert dpg.get_value("output_volume") == 80
    assert dpg.get_item_label("on_air") == "off air"
    shot(app, artifacts, "render_main")

    # Notices: dismiss sends DismissError for that notice.
    dismiss = dpg.get_item_children(dpg.get_item_parent(notice), 1)[0]
    d.click(dismiss)
    expect_sent(backend, c.DismissError(7))

    # Chat: Enter sends and clears; the length limit holds while typing.
    d.enter("chat_input", "  hello there  ")
    expect_sent(backend, c.SendChat("hello there"))
    assert dpg.get_value("chat_input") == ""
    dpg.set_value("chat_input", "x" * 600)
    app.frames(1)
    assert len(dpg.get_value("chat_input")) == 500
    assert dpg.get_value("chat_counter") == "500/500"
    dpg.set_value("chat_input", "")
    # Enter kept the keyboard in the line; let go of it (as a click elsewhere would),
    # so the keys below go to push-to-talk and the room tree.
    app.frames(3)
    assert app._typing(), "after Enter the line keeps the keyboard"
    dpg.configure_item("chat_input", show=False)  # an item not drawn for a frame lets go
    app.frames(3)
    dpg.configure_item("chat_input", show=True)
    app.frames(2)
    assert not app._typing()

    # Rooms: double-click joins, the context menu renames, the buttons create and delete.
    gaming = rooms.room_items[3]
    d.fire_item_handler(gaming, "mvDoubleClickedHandler", dpg.mvMouseButton_Left)
    expect_sent(backend, c.JoinRoom(3))
    d.fire_item_handler(rooms.room_items[2], "mvDoubleClickedHandler", dpg.mvMouseButton_Left)
    expect_sent(backend)  # already there
    d.fire_item_handler(gaming, "mvClickedHandler", dpg.mvMouseButton_Right)
    app.frames(2)
    assert dpg.is_item_shown("room_menu") and rooms.menu_room_id == 3
    d.click("room_menu_rename")
    app.frames(4)
    assert dpg.is_item_shown("room_name_dialog") and not dpg.is_item_shown("room_menu")
    assert dpg.get_value("room_name_input") == "Gaming"
    shot(app, artifacts, "render_rename")
    d.enter("room_name_input", "Games")
    expect_sent(backend, c.RenameRoom(3, "Games"))
    assert not dpg.is_item_shown("room_name_dialog")
    d.click(rooms.room_items[5])  # select AFK
    d.click("room_create_button")
    d.enter("room_name_input", "  ")
    expect_sent(backend)
    assert dpg.is_item_shown("room_name_dialog"), "an empty name must keep the dialog open"
    d.enter("room_name_input", "Quiet corner")
    expect_sent(backend, c.CreateRoom(5, "Quiet corner"))
    d.click("room_delete_button")
    assert dpg.is_item_shown("room_delete_dialog")
    d.click("room_delete_ok")
    expect_sent(backend, c.DeleteRoom(5))

    # Transmit: modes, threshold, push-to-talk with auto-repeat, rebinding.
    d.enter("transmit_mode", "Continuous")
    expect_sent(backend, c.SetTransmissionMode(TransmissionMode.CONTINUOUS))
    d.enter("transmit_mode", "Push to talk")
    expect_sent(backend, c.SetTransmissionMode(TransmissionMode.PUSH_TO_TALK))
    space = dpg.mvKey_Spacebar
    assert keys.key_code("space") == space
    app.frames(2)  # the closed dialogs are gone from the screen
    d.key_press(space, repeats=5)  # held: the OS repeats the press
    app.frames(3)  # the key was never really down: the lost-release check must not fire
    d.key_release(space)
    expect_sent(backend, c.StartTransmit(), c.StopTransmit())
    d.key_press(dpg.mvKey_A)
    d.key_release(dpg.mvKey_A)
    expect_sent(backend)
    d.click("ptt_set_button")
    assert "Press a key" in dpg.get_item_label("ptt_set_button")
    d.key_press(dpg.mvKey_Escape)
    expect_sent(backend)
    d.click("ptt_set_button")
    d.key_press(dpg.mvKey_F5)
    d.key_release(dpg.mvKey_F5)
    expect_sent(backend, c.SetPushToTalkKey("f5"))
    audio = replace(state.audio, ptt_key="f5", is_transmitting=True)
    publish(app, backend, replace(state, audio=audio))
    assert dpg.get_value("ptt_key_label") == "PTT key: F5"
    assert dpg.get_item_label("on_air") == "ON AIR"
    assert dpg.get_item_theme("on_air") == app.themes.on_air  # type: ignore[union-attr]
    assert dpg.get_item_user_data(rooms.user_items[10]) ["talking"] is True
    d.enter("vad_threshold", -35.0)
    expect_sent(backend, c.SetTransmissionMode(TransmissionMode.PUSH_TO_TALK, -35.0))
    audio = replace(audio, transmission_mode=TransmissionMode.MUTED, is_transmitting=False)
    publish(app, backend, replace(state, audio=audio))
    assert dpg.get_item_label("on_air") == "muted"
    assert dpg.get_value("transmit_mode") == "Muted"
    audio = replace(audio, transmission_mode=TransmissionMode.VOICE_ACTIVATED)
    publish(app, backend, replace(state, audio=audio))
    assert dpg.is_item_enabled("vad_threshold")
    assert "above, sending" in dpg.get_value("meter_note")

    # Audio settings.
    d.enter("input_volume", 150)
    d.enter("output_device", "pulse")
    d.enter("output_device", "System default")
    d.enter("loopback_test", True)
    d.click("refresh_devices")
    d.enter("noise_suppression", "Speex (default, lightest)")
    d.enter("gain_control", False)
    d.enter("echo_cancellation", True)
    expect_sent(
        backend,
        c.SetInputVolume(1.5),
        c.SetOutputDevice("pulse"),
        c.SetOutputDevice(None),
        c.StartLoopbackTest(),
        c.RefreshAudioDevices(),
        c.SetAudioProcessing(noise_suppression="speex"),
        c.SetAudioProcessing(gain_control=False),
        c.SetAudioProcessing(echo_cancellation=True),
    )
    audio = replace(audio, noise_suppression="deepfilter", echo_cancellation=True)
    publish(app, backend, replace(state, audio=audio))
    assert dpg.get_value("noise_suppression").startswith("DeepFilterNet")
    assert dpg.get_value("echo_cancellation") is True


def _render_lost(app: ClientApp, backend: ScriptedBackend, artifacts: Path) -> None:
    lost = ConnectionLost("the server closed the connection: shutting down", "localhost:7731")
    backend.take_sent()
    publish(app, backend, replace(backend.state(), connection=lost, rooms=(), users=()))
    # A live connection lost: the window stays, counts down and tries again by itself.
    assert not dpg.is_item_shown("connect_dialog")
    assert dpg.get_value("status_text") == (
        "Connection to localhost:7731 lost. Reconnecting in 1 s (attempt 1)"
    ), dpg.get_value("status_text")
    assert "shutting down" in dpg.get_value("status_motd")
    _run_until(app, lambda: bool(backend.sent), 5)
    expect_sent(backend, c.Connect("localhost:7731", "alice", "s3cret"))
    publish(app, backend, replace(backend.state(), connection=Connecting("localhost:7731")))
    publish(app, backend, replace(backend.state(), connection=lost))
    assert dpg.get_value("status_text").endswith("(attempt 2)")
    d.click("reconnect_stop")  # the user gives up: the connect dialog again
    expect_sent(backend, c.Disconnect())
    app.frames(3)
    assert dpg.is_item_shown("connect_dialog")
    assert dpg.get_item_label("connect_button") == "Reconnect"
    assert "shutting down" in dpg.get_value("connect_status")
    assert dpg.get_value("connect_status").startswith("Connection to localhost:7731 lost.")
    assert dpg.get_value("status_text") == "Not connected to localhost:7731"
    shot(app, artifacts, "render_lost")
    d.click("connect_button")
    expect_sent(backend, c.Connect("localhost:7731", "alice", "s3cret"))


# --- against a real server -------------------------------------------------------------------


def scenario_flow(artifacts: Path) -> None:
    from voip.client.backend import BackendHandle
    from voip.server.app import ServerOptions, start_server
    from voip.server.certs import load_or_create_self_signed
    from voip_gui.app import pin_fingerprint

    work = Path(tempfile.mkdtemp(prefix="voip-gui-flow-"))
    data_dir = work / "server"
    bundle = load_or_create_self_signed(data_dir, ["localhost"])
    options = ServerOptions(
        data_dir=data_dir, bundle=bundle, name="Demo server", motd="Be nice. Push Space to talk."
    )
    server = start_server(options)
    address = f"127.0.0.1:{server.port}"
    backend = BackendHandle(config_dir=work / "alice", connect_timeout=5, idle_timeout=10)
    bob: BackendHandle | None = None
    app = ClientApp(backend)
    app.start()
    try:
        app.frames(3)
        dpg.set_value("connect_address", address)
        dpg.set_value("connect_name", "alice")
        shot(app, artifacts, "connect")
        d.click("connect_button")
        state = app.pump(lambda s: isinstance(s.connection, AwaitingTrust), timeout=15)
        assert isinstance(state.connection, AwaitingTrust)
        assert state.connection.fingerprint_text == bundle.fingerprint_text
        app.frames(3)
        assert dpg.is_item_shown("trust_dialog")
        assert dpg.get_value("trust_fingerprint").replace("\n", "") == bundle.fingerprint_text
        shot(app, artifacts, "trust")
        d.click("trust_accept")
        state = app.pump(lambda s: s.is_connected and s.my_room_id is not None, timeout=15)
        app.frames(2)
        assert not dpg.is_item_shown("trust_dialog") and not dpg.is_item_shown("connect_dialog")
        assert dpg.get_value("status_text").startswith("Connected to Demo server"), dpg.get_value(
            "status_text"
        )
        root = state.root_room
        assert root is not None
        assert dpg.get_item_label(app.rooms.room_items[root.id]).startswith(root.name)

        # Create two rooms with the dialog, then join one by double-click.
        for name in ("Engineering", "Gaming"):
            d.click(app.rooms.room_items[root.id])
            d.click("room_create_button")
            d.enter("room_name_input", name)
            app.pump(lambda s, n=name: s.find_room(n) is not None, timeout=10)  # type: ignore[misc]
        eng = app.state.find_room("Engineering")  # type: ignore[union-attr]
        assert eng is not None
        assert dpg.get_item_label(app.rooms.room_items[eng.id]) == "Engineering"
        d.fire_item_handler(app.rooms.room_items[eng.id], "mvDoubleClickedHandler", 0)
        state = app.pump(lambda s: s.my_room_id == eng.id, timeout=10)
        assert dpg.get_value("chat_title") == "Chat in Engineering"
        assert dpg.get_item_label(app.rooms.room_items[eng.id]) == "Engineering  (1)"

        # A second user (a headless backend) joins and talks, so there is someone to hear.
        pin_fingerprint(work / "bob", address, bundle.fingerprint_text)
        bob = BackendHandle(config_dir=work / "bob", connect_timeout=5, idle_timeout=10)
        bob.send(c.Connect(address, "bob"))
        bob.wait_for(lambda s: s.is_connected and s.my_room_id is not None, timeout=15)
        bob.send(c.JoinRoom(eng.id))
        bob.wait_for(lambda s: s.my_room_id == eng.id, timeout=10)
        bob.send(c.SendChat("morning! can you hear me?"))
        app.pump(lambda s: any(line.sender_name == "bob" for line in s.chat), timeout=10)
        d.enter("chat_input", "loud and clear")
        state = app.pump(lambda s: any(line.text == "loud and clear" for line in s.chat), 10)
        app.frames(2)
        assert app.chat.drawn_text[-1].endswith("alice: loud and clear"), app.chat.drawn_text
        assert any(t.endswith("bob: morning! can you hear me?") for t in app.chat.drawn_text)
        bob_id = next(u.id for u in state.users if u.name == "bob")
        assert dpg.get_value(app.rooms.user_items[bob_id]) == "bob"

        # What the server's permissions forbid is greyed out, with the reason.
        d.fire_item_handler(app.rooms.room_items[root.id], "mvClickedHandler", 1)
        app.frames(2)
        assert not dpg.is_item_enabled("room_menu_delete")
        assert dpg.get_value(app.rooms.why["menu_delete"]) == "The root room cannot be deleted."
        assert not dpg.is_item_enabled("room_menu_rename")  # only admins rename the root
        assert "write permission" in dpg.get_value(app.rooms.why["menu_rename"])
        dpg.configure_item("room_menu", show=False)
        # The server's refusal is shown, once, and can be dismissed (sent past the GUI).
        app.backend.send(c.DeleteRoom(root.id))
        state = app.pump(lambda s: bool(s.errors), timeout=10)
        app.frames(2)
        notice = state.errors[-1]
        assert "root room cannot be deleted" in dpg.get_value(app.notices.items[notice.id])
        assert len(app.notices.items) == 1
        d.click(dpg.get_item_children(dpg.get_item_parent(app.notices.items[notice.id]), 1)[0])
        app.pump(lambda s: not s.errors, timeout=10)
        app.frames(2)
        assert not app.notices.items

        # Modes and push-to-talk, through the real audio actor. Without audio devices
        # nothing can go on the air: the window must then say why instead.
        d.enter("transmit_mode", "Continuous")
        state = app.pump(lambda s: s.audio.transmission_mode is TransmissionMode.CONTINUOUS, 10)
        has_audio = bool(state.audio.input_devices)
        print(f"audio devices: {has_audio}")
        if has_audio:
            app.pump(lambda s: s.audio.is_transmitting, timeout=10)
            app.frames(2)
            assert dpg.get_item_label("on_air") == "ON AIR"
        else:
            app.frames(2)
            assert dpg.get_item_label("on_air") == "off air"
            assert dpg.is_item_shown("audio_error") and dpg.get_value("audio_error")
        d.enter("transmit_mode", "Push to talk")
        app.pump(
            lambda s: (
                s.audio.transmission_mode is TransmissionMode.PUSH_TO_TALK
                and not s.audio.is_transmitting
            ),
            timeout=10,
        )
        app.frames(2)
        assert dpg.get_item_label("on_air") == "off air"
        assert dpg.get_value("transmit_mode") == "Push to talk"
        d.key_press(dpg.mvKey_Spacebar, repeats=3)
        assert app.transmit.held
        if has_audio:
            app.pump(lambda s: s.audio.is_transmitting, timeout=10)
            app.frames(2)
            assert dpg.get_item_label("on_air") == "ON AIR"
            me = app.rooms.user_items[state.my_user_id]  # type: ignore[index]
            assert dpg.get_item_user_data(me) ["talking"] is True
        shot(app, artifacts, "main")
        d.key_release(dpg.mvKey_Spacebar)
        assert not app.transmit.held
        app.pump(lambda s: not s.audio.is_transmitting, timeout=10)
        app.frames(2)
        assert dpg.get_item_label("on_air") == "off air"

        # Rebind push-to-talk to F5: the backend stores it, the bar shows it.
        d.click("ptt_set_button")
        d.key_press(dpg.mvKey_F5)
        d.key_release(dpg.mvKey_F5)
        app.pump(lambda s: s.audio.ptt_key == "f5", timeout=10)
        app.frames(2)
        assert dpg.get_value("ptt_key_label") == "PTT key: F5"

        # The server goes away: the reason and a Reconnect button.
        bob.shutdown()
        bob = None
        server.stop()
        state = app.pump(lambda s: isinstance(s.connection, ConnectionLost), timeout=30)
        app.frames(3)
        assert app.reconnector.active and not dpg.is_item_shown("connect_dialog")
        reason = state.connection.error  # type: ignore[union-attr]
        assert reason and reason.lower() in dpg.get_value("status_motd").lower()
        assert dpg.get_value("status_text").startswith(f"Connection to {address} lost.")
        shot(app, artifacts, "lost")

        # It comes back on the same port: in again by itself, no trust prompt (pinned),
        # and back in Engineering.
        server = start_server(replace(options, port=server.port))
        app.pump(lambda s: s.is_connected and s.my_room_id == eng.id, timeout=60)
        assert not dpg.is_item_shown("trust_dialog")
    finally:
        try:
            app.close()
        finally:
            if bob is not None:
                bob.shutdown()
            backend.shutdown()
            server.stop()


# --- the README's screenshots ------------------------------------------------------------------


def scenario_docs(out: Path) -> None:
    """A populated session on a real server, shot for the README (connect.png, main.png).

    Run by hand: ``python tests/gui/scenarios.py docs docs/screenshots`` with DISPLAY set.
    """
    from voip.client.backend import BackendHandle
    from voip.server.app import ServerOptions, start_server
    from voip.server.certs import load_or_create_self_signed
    from voip_gui.app import MIN_HEIGHT, MIN_WIDTH, pin_fingerprint
    from voip_gui.prefs import UserSound

    work = Path(tempfile.mkdtemp(prefix="voip-gui-docs-"))
    bundle = load_or_create_self_signed(work / "server", ["localhost"])
    options = ServerOptions(
        data_dir=work / "server",
        bundle=bundle,
        name="voip demo",
        port=0,
        motd="Welcome! Hold Space to talk; double-click a room to join it.",
    )
    server = start_server(options)
    address = f"127.0.0.1:{server.port}"
    others: list[BackendHandle] = []
    pin_fingerprint(work / "alice", address, bundle.fingerprint_text)
    backend = BackendHandle(config_dir=work / "alice", connect_timeout=5)
    app = ClientApp(backend)
    app.start()
    try:
        app.frames(3)
        dpg.set_value("connect_address", address)
        dpg.set_value("connect_name", "alice")
        app.screenshot(out / "connect.png")
        d.click("connect_button")
        state = app.pump(lambda s: s.is_connected and s.my_room_id is not None, timeout=15)
        root = state.root_room
        assert root is not None
        for name in ("Engineering", "Gaming", "AFK"):
            backend.send(c.CreateRoom(root.id, name))
        state = app.pump(lambda s: s.find_room("AFK") is not None, timeout=10)
        eng = state.find_room("Engineering")
        assert eng is not None
        backend.send(c.CreateRoom(eng.id, "Standup"))
        state = app.pump(lambda s: s.find_room("Standup") is not None, timeout=10)
        placement = {"bob": "Engineering", "carol": "Engineering", "dave": "Gaming", "erin": ""}
        for name, room_name in placement.items():
            pin_fingerprint(work / name, address, bundle.fingerprint_text)
            other = BackendHandle(config_dir=work / name, connect_timeout=5)
            others.append(other)
            other.send(c.Connect(address, name))
            other.wait_for(lambda s: s.is_connected and s.my_room_id is not None, timeout=15)
            room = state.find_room(room_name) if room_name else None
            if room is not None:
                other.send(c.JoinRoom(room.id))
                other.wait_for(lambda s, r=room.id: s.my_room_id == r, timeout=10)  # type: ignore[misc]
        d.fire_item_handler(app.rooms.room_items[eng.id], "mvDoubleClickedHandler", 0)
        app.pump(lambda s: s.my_room_id == eng.id, timeout=10)
        bob, carol = others[0], others[1]
        for sender, text in (
            (bob, "morning! can everyone hear me?"),
            (backend, "loud and clear"),
            (carol, "same here. standup in 5?"),
            (bob, "sure, I'll open the Standup room"),
        ):
            sender.send(c.SendChat(text))
            app.pump(lambda s, t=text: any(line.text == t for line in s.chat), timeout=10)  # type: ignore[misc]
        d.key_press(dpg.mvKey_Spacebar)
        app.pump(lambda s: s.audio.is_transmitting, timeout=10)
        app.frames(5)
        app.screenshot(out / "main.png")  # the default size
        d.key_release(dpg.mvKey_Spacebar)

        # Muted and deafened people, and the user menu on one of them.
        others[1].send(c.SetSelfMute(True, False))
        others[0].send(c.SetSelfMute(True, True))
        state = app.pump(
            lambda s: any(u.self_deaf for u in s.users) and any(
                u.self_mute and not u.self_deaf for u in s.users
            ),
            timeout=10,
        )
        dave = next(u for u in state.users if u.name == "dave")
        app.sounds.set_sound(dave.id, UserSound(0.6, False))
        app.frames(4)
        app.screenshot(out / "muted-users.png")
        carol = next(u for u in state.users if u.name == "carol")
        app.user_menu.open(carol.id, None)
        app.frames(4)
        item = app.rooms.user_items[carol.id]
        x, y = dpg.get_item_rect_min(item)
        dpg.set_item_pos("user_menu", [int(x) + 60, int(y) + 18])
        app.frames(4)
        app.screenshot(out / "user-menu.png")
        app.user_menu.close()

        # The smallest the window goes: every control still shows.
        dpg.set_viewport_width(MIN_WIDTH)
        dpg.set_viewport_height(MIN_HEIGHT)
        app.frames(8)
        app.screenshot(out / "minimum-size.png")
    finally:
        try:
            app.close()
        finally:
            for other in others:
                other.shutdown()
            backend.shutdown()
            server.stop()


# --- real X input (xdotool) -----------------------------------------------------------------


def scenario_real_input(artifacts: Path) -> None:
    """Real key events and a real double-click through the X server, not callbacks."""
    backend = ScriptedBackend(connected_state())
    app = ClientApp(backend)
    app.start(title="voip-real-input")
    try:
        app.frames(10)
        backend.take_sent()
        window = _x_window("voip-real-input")
        d.xdotool("mousemove", "--window", window, "640", "400")
        app.frames(3)

        d.xdotool("keydown", "space")
        _until(app, lambda: c.StartTransmit() in backend.sent, "StartTransmit on a real key down")
        app.frames(30)  # held long enough to auto-repeat
        d.xdotool("keyup", "space")
        _until(app, lambda: c.StopTransmit() in backend.sent, "StopTransmit on a real key up")
        assert backend.take_sent() == [c.StartTransmit(), c.StopTransmit()]

        item = app.rooms.room_items[3]
        x, y = dpg.get_item_rect_min(item)
        w, h = dpg.get_item_rect_size(item)
        d.xdotool("mousemove", "--window", window, str(int(x + w / 4)), str(int(y + h / 2)))
        app.frames(3)
        d.xdotool("click", "--repeat", "2", "--delay", "80", "1")
        _until(app, lambda: c.JoinRoom(3) in backend.sent, "JoinRoom on a real double-click")
    finally:
        app.close()


# --- certificate failures, from real certificates --------------------------------------------


def scenario_certificates(artifacts: Path) -> None:
    """Three real servers whose certificates fail in three ways; the GUI says which.

    A private CA stands in for the system store (``SSL_CERT_FILE``, as an
    operator would point OpenSSL at a company CA). A certificate it issued
    for localhost/127.0.0.1, reached as 127.0.0.2, is a name mismatch; an
    expired one says since when; one from another CA is unknown, and only
    that one is offered for pinning.
    """
    import datetime as dt
    import os
    import runpy

    from voip.client.backend import BackendHandle
    from voip.server.app import ServerOptions, start_server
    from voip.server.certs import bundle_from_pem

    pki = runpy.run_path(str(Path(__file__).resolve().parents[1] / "support" / "pki.py"))
    work = Path(tempfile.mkdtemp(prefix="voip-gui-certs-"))
    now = dt.datetime.now(dt.UTC)
    hour = dt.timedelta(hours=1)

    def issued(name: str, not_before: dt.datetime, not_after: dt.datetime) -> tuple[Any, bytes]:
        ca, leaf, key = pki["make_ca_and_leaf"](name, not_before, not_after)
        bundle = bundle_from_pem(pki["cert_pem"](leaf), pki["key_pem"](key), "files")
        return bundle, pki["cert_pem"](ca)

    good, ca_pem = issued("Example Company CA", now - hour, now + hour)
    (work / "company-ca.pem").write_bytes(ca_pem)
    os.environ["SSL_CERT_FILE"] = str(work / "company-ca.pem")
    expired, expired_ca = issued("Example Company CA", now - 50 * hour, now - 2 * hour)
    (work / "company-ca.pem").write_bytes(ca_pem + expired_ca)  # both "company" roots
    stranger, _ = issued("Stranger CA", now - hour, now + hour)

    servers = []
    for i, (bundle, host) in enumerate(
        [(good, "127.0.0.2"), (expired, "127.0.0.1"), (stranger, "127.0.0.1")]
    ):
        servers.append(
            start_server(
                ServerOptions(data_dir=work / f"server{i}", bundle=bundle, host=host, port=0)
            )
        )
    backend = BackendHandle(config_dir=work / "alice", connect_timeout=5, idle_timeout=10)
    app = ClientApp(backend)
    app.start()
    try:
        app.frames(3)
        dpg.set_value("connect_name", "alice")

        def attempt(address: str) -> State:
            dpg.set_value("connect_address", address)
            d.click("connect_button")
            return app.pump(
                lambda s: isinstance(s.connection, ConnectionLost | AwaitingTrust)
                and s.connection.server_addr == address,
                timeout=15,
            )

        mismatch = f"127.0.0.2:{servers[0].port}"
        state = attempt(mismatch)
        app.frames(3)
        status = dpg.get_value("connect_status")
        assert isinstance(state.connection, ConnectionLost), state.connection
        assert "the certificate is for localhost, 127.0.0.1, not 127.0.0.2" in status, status
        assert not dpg.is_item_shown("trust_dialog")
        shot(app, artifacts, "cert_name_mismatch")

        state = attempt(f"127.0.0.1:{servers[1].port}")
        app.frames(3)
        status = dpg.get_value("connect_status")
        assert isinstance(state.connection, ConnectionLost), state.connection
        since = (now - 2 * hour).strftime("%Y-%m-%d %H:%M")
        assert f"the certificate expired on {since}" in status, status
        assert not dpg.is_item_shown("trust_dialog")
        shot(app, artifacts, "cert_expired")

        state = attempt(f"127.0.0.1:{servers[2].port}")
        app.frames(3)
        assert isinstance(state.connection, AwaitingTrust), state.connection
        assert dpg.is_item_shown("trust_dialog")
        reason = dpg.get_value("trust_reason")
        assert "issued by an authority (Stranger CA) this client does not trust" in reason, reason
        assert dpg.get_value("trust_fingerprint").replace("\n", "") == stranger.fingerprint_text
        shot(app, artifacts, "cert_unknown_ca")
        d.click("trust_cancel")
        app.pump(lambda s: not isinstance(s.connection, AwaitingTrust), timeout=10)
    finally:
        app.close()
        backend.shutdown()
        for server in servers:
            server.stop()


def _x_window(title: str) -> str:
    import subprocess

    out = subprocess.run(
        ["xdotool", "search", "--name", f"^{title}$"], capture_output=True, text=True, timeout=10
    ).stdout.split()
    assert out, f"no X window called {title}"
    return out[0]


def _until(app: ClientApp, condition: Callable[[], bool], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        app.frame()


def scenario_chat(artifacts: Path) -> None:
    """Chat reading and writing: own colour, links, history scroll, notes, notices, glyphs."""
    import os

    from voip.client.state import ChatLine, ErrorNotice
    from voip_gui import theme

    opened = artifacts / "browser-opened.txt"
    opened.unlink(missing_ok=True)
    browser = artifacts / "fake-browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" >> {opened}\n')
    browser.chmod(0o755)
    os.environ["BROWSER"] = str(browser)

    backend = ScriptedBackend(connected_state())
    app = ClientApp(backend)
    app.start()
    try:
        state = publish(app, backend, connected_state())
        chat = app.chat
        colours = [dpg.get_item_configuration(i)["color"] for i in chat.name_items]
        mine = [c for c, t in zip(colours, chat.drawn_text, strict=True) if "alice:" in t]
        others = [c for c, t in zip(colours, chat.drawn_text, strict=True) if "alice:" not in t]
        assert mine and others and all(c != others[0] for c in mine), colours
        assert tuple(round(v * 255) for v in mine[0]) == theme.MY_NAME, mine

        # A link gets a button that opens it in the browser ($BROWSER here).
        url = "https://example.org/notes?id=7"
        line = ChatLine(11, "bob", 2, f"notes are at {url}, have a look.", NOW_MS)
        state = publish(app, backend, replace(state, chat=(*state.chat, line)))
        button = chat.link_buttons[-1]
        assert dpg.get_item_user_data(button) == url
        d.click(button)
        deadline = time.monotonic() + 10
        while not (opened.exists() and opened.read_text().strip()):
            assert time.monotonic() < deadline, "the browser was not started"
            time.sleep(0.05)
        assert opened.read_text().strip() == url

        # History: at the bottom, new lines follow; scrolled up, a marker instead.
        many = tuple(ChatLine(12, "carol", 2, f"line {i}", NOW_MS + i) for i in range(60))
        state = publish(app, backend, replace(state, chat=(*state.chat, *many)))
        app.frames(4)
        print("scroll", dpg.get_y_scroll("chat_log"), dpg.get_y_scroll_max("chat_log"))
        assert dpg.get_y_scroll("chat_log") >= dpg.get_y_scroll_max("chat_log") - 6
        dpg.set_y_scroll("chat_log", 0)
        app.frames(3)
        more = tuple(ChatLine(12, "carol", 2, f"late {i}", NOW_MS + 100 + i) for i in range(3))
        state = publish(app, backend, replace(state, chat=(*state.chat, *more)))
        app.frames(3)
        assert dpg.get_y_scroll("chat_log") == 0, "reading history must not jump down"
        assert dpg.is_item_shown("chat_new_messages")
        assert dpg.get_item_label("chat_new_messages") == "3 new messages below"
        shot(app, artifacts, "chat_new_messages")
        d.click("chat_new_messages")
        app.frames(4)
        assert not dpg.is_item_shown("chat_new_messages")
        assert dpg.get_y_scroll("chat_log") >= dpg.get_y_scroll_max("chat_log") - 6

        # Who came and went, from the room list; lines missed while elsewhere are marked.
        users = tuple(
            replace(u, room_id=2) if u.name == "dave" else u
            for u in state.users
            if u.name != "carol"
        )
        state = publish(app, backend, replace(state, users=users))
        assert any(t.endswith("dave came in from Gaming") for t in chat.drawn_text)
        assert any(t.endswith("carol left the server") for t in chat.drawn_text)
        # Notices: the same refusal three times is one line; connecting problems are
        # the connect dialog's and go once connected.
        errors = (
            *(
                ErrorNotice(20 + i, "PERMISSION_DENIED", "you may not delete it", "DeleteRoom")
                for i in range(3)
            ),
            ErrorNotice(30, "WRONG_PASSWORD", "wrong password", "Connect"),
        )
        backend.take_sent()
        state = publish(app, backend, replace(state, errors=errors))
        texts = [dpg.get_value(item) for item in app.notices.items.values()]
        assert texts == ["Could not delete the room: you may not delete it (3 times)"]
        assert c.DismissError(30) in backend.take_sent()

        # Text the font lacks (emoji) is spelled out; CJK is drawn, not "?".
        line = ChatLine(11, "bob", 2, "漢字テスト 한국어 \U0001F600", NOW_MS + 500)
        state = publish(app, backend, replace(state, chat=(*state.chat, line)))
        app.frames(2)
        themes = app.themes
        assert themes is not None
        shown = themes.readable(line.text)
        assert shown == "漢字テスト 한국어 :grinning face:", shown
        assert themes.coverage.font is not None and "wqy" in themes.coverage.font.name, (
            themes.coverage.font
        )
        wide = dpg.get_text_size("漢字")
        narrow = dpg.get_text_size("??")
        assert wide[0] > 1.5 * narrow[0], (wide, narrow)
        shot(app, artifacts, "chat_glyphs")
    finally:
        app.close()


def scenario_typing_keys(artifacts: Path) -> None:
    """Real keys (xdotool) into the real window on a real server, with real audio:
    Enter sends and the next words go on into the line; Space while typing never
    goes on the air; Space outside a text field does. Then dialogs by keyboard."""
    import subprocess
    import threading

    from voip.client.backend import BackendHandle
    from voip.server.app import ServerOptions, start_server
    from voip.server.certs import load_or_create_self_signed
    from voip_gui.app import pin_fingerprint

    work = Path(tempfile.mkdtemp(prefix="voip-gui-keys-"))
    bundle = load_or_create_self_signed(work / "server", ["localhost"])
    server = start_server(ServerOptions(data_dir=work / "server", bundle=bundle, port=0))
    address = f"127.0.0.1:{server.port}"
    pin_fingerprint(work / "alice", address, bundle.fingerprint_text)
    backend = BackendHandle(config_dir=work / "alice", connect_timeout=5)
    app = ClientApp(backend)
    app.start(title="voip-typing-keys")
    on_air_seen: list[str] = []
    try:
        backend.send(c.SetTransmissionMode(TransmissionMode.PUSH_TO_TALK))
        backend.send(c.Connect(address, "alice"))
        state = app.pump(lambda s: s.is_connected and s.my_room_id is not None, timeout=20)
        has_audio = app.pump(lambda s: bool(s.audio.input_devices), timeout=10) is not None
        window = _x_window("voip-typing-keys")

        def watch() -> bool:
            if backend.state().audio.is_transmitting:
                on_air_seen.append("backend")
            if dpg.get_item_label("on_air") == "ON AIR":
                on_air_seen.append("light")
            return False

        def xdo(*args: str) -> None:
            done = threading.Event()

            def run() -> None:
                subprocess.run(["xdotool", *args], check=True, timeout=60)
                done.set()

            threading.Thread(target=run, daemon=True).start()
            app.run(until=lambda: watch() or done.is_set())
            _run_for(app, 0.3)
            watch()

        x, y = dpg.get_item_rect_min("chat_input")
        xdo("mousemove", "--window", window, str(int(x + 40)), str(int(y + 8)), "click", "1")
        assert dpg.is_item_active("chat_input"), "the click did not put the keyboard in the line"
        xdo("type", "--delay", "90", "hello there")
        xdo("key", "Return")
        xdo("type", "--delay", "90", "and more words")
        app.pump(lambda s: any(line.text == "hello there" for line in s.chat), timeout=10)
        assert dpg.get_value("chat_input") == "and more words", dpg.get_value("chat_input")
        assert dpg.is_item_active("chat_input"), "Enter must keep the keyboard in the line"
        xdo("key", "--delay", "150", "space", "space", "space")
        xdo("keydown", "space")
        _run_for(app, 0.8)
        xdo("keyup", "space")
        assert dpg.get_value("chat_input").startswith("and more words    ")
        assert not on_air_seen, f"typing went on the air: {on_air_seen}"
        shot(app, artifacts, "typing_keys")

        # Outside the line, Space is push-to-talk again (so the check above can fail).
        root_item = app.rooms.room_items[state.my_room_id]  # type: ignore[index]
        rx, ry = dpg.get_item_rect_min(root_item)
        xdo("mousemove", "--window", window, str(int(rx + 20)), str(int(ry + 5)), "click", "1")
        assert not dpg.is_item_active("chat_input")
        xdo("keydown", "space")
        if has_audio and backend.state().audio.input_devices:
            _run_until(app, lambda: watch() or bool(on_air_seen), 10)
            assert "light" in on_air_seen or "backend" in on_air_seen
        else:
            assert app.transmit.held
        xdo("keyup", "space")
        app.pump(lambda s: not s.audio.is_transmitting, timeout=10)

        # Dialogs by keyboard: Delete asks, Esc cancels, Delete + Enter deletes.
        root = state.root_room
        assert root is not None
        backend.send(c.CreateRoom(root.id, "Scratch"))
        state = app.pump(lambda s: s.find_room("Scratch") is not None, timeout=10)
        scratch = state.find_room("Scratch")
        assert scratch is not None
        app.rooms.select(scratch.id)
        xdo("key", "Delete")
        assert dpg.is_item_shown("room_delete_dialog")
        xdo("key", "Escape")
        assert not dpg.is_item_shown("room_delete_dialog")
        xdo("key", "Delete")
        xdo("key", "Return")
        app.pump(lambda s: s.find_room("Scratch") is None, timeout=10)
        # Arrow keys move the selection; Enter joins it.
        backend.send(c.CreateRoom(root.id, "Zed"))
        state = app.pump(lambda s: s.find_room("Zed") is not None, timeout=10)
        app.rooms.select(root.id)
        xdo("key", "Down")
        zed = state.find_room("Zed")
        assert zed is not None and app.rooms.selected_room_id == zed.id
        xdo("key", "Return")
        app.pump(lambda s: s.my_room_id == zed.id, timeout=10)
        print(f"keys handled: {app.shortcuts.handled}")
        assert app.shortcuts.handled == [
            "delete asked", "delete cancelled", "delete asked", "delete confirmed",
            "room below", "join",
        ], "Enter in the chat line must not also join the selected room"
    finally:
        try:
            app.close()
        finally:
            backend.shutdown()
            server.stop()


def scenario_mute_and_volume(artifacts: Path) -> None:
    """Mute/deafen buttons and marks, the user menu's volume and local mute, remembered."""
    from voip_gui.prefs import PrefsFile

    prefs_dir = artifacts / "mute-prefs"
    (prefs_dir / "gui.toml").unlink(missing_ok=True)
    backend = ScriptedBackend(connected_state())
    app = ClientApp(backend, PrefsFile.open(prefs_dir))
    app.start()
    try:
        state = connected_state()
        marked = {11: dict(self_mute=True), 12: dict(self_mute=True, self_deaf=True),
                  13: dict(server_mute=True)}
        users = tuple(
            replace(u, **{"server_mute": False, "server_deaf": False, **marked.get(u.id, {})})  # type: ignore[arg-type]
            for u in state.users
        )
        state = publish(app, backend, replace(state, users=users))
        rooms = app.rooms

        def marks(user_id: int) -> list[str]:
            group = dpg.get_item_parent(rooms.user_items[user_id])
            texts = dpg.get_item_children(group, 1)
            return [v for t in texts[2:] if not (v := dpg.get_value(t)).startswith("[")]

        assert marks(11) == ["muted"], marks(11)
        assert marks(12) == ["deafened"]
        assert marks(13) == ["server-muted"]
        backend.take_sent()

        # The user menu: volume and mute for me, sent to the mixer and remembered.
        d.fire_item_handler(rooms.user_items[11], "mvClickedHandler", dpg.mvMouseButton_Right)
        app.frames(3)
        assert dpg.is_item_shown("user_menu") and dpg.get_value("user_menu_title") == "bob"
        d.enter("user_menu_local_volume", 50)
        d.enter("user_menu_local_mute", True)
        expect_sent(backend, c.SetUserVolume(11, 0.5, False), c.SetUserVolume(11, 0.5, True))
        state = publish(app, backend, state)
        assert marks(11) == ["muted", "muted for you"], marks(11)
        shot(app, artifacts, "user_menu")
        d.enter("user_menu_local_mute", False)
        expect_sent(backend, c.SetUserVolume(11, 0.5, False))
        state = publish(app, backend, state)
        assert marks(11) == ["muted", "50 %"], marks(11)
        app.user_menu.close()
        d.fire_item_handler(rooms.user_items[10], "mvClickedHandler", dpg.mvMouseButton_Right)
        app.frames(2)
        assert not dpg.is_item_shown("user_menu_sound"), "no volume for yourself"
        app.user_menu.close()
        shot(app, artifacts, "muted_users")

        # Mute and deafen yourself; a new session is told what you are.
        d.click("self_mute_button")
        expect_sent(backend, c.SetSelfMute(True, False))
        d.click("self_deaf_button")
        expect_sent(backend, c.SetSelfMute(True, True))
        audio = replace(state.audio, self_mute=True, self_deaf=True)
        state = publish(app, backend, replace(state, audio=audio))
        assert dpg.get_item_label("self_deaf_button") == "Undeafen"
        assert dpg.get_item_label("on_air") == "deafened"
        backend.take_sent()
        again = replace(state, connection=replace(state.connection, motd="new session"))  # type: ignore[type-var]
        publish(app, backend, again)
        assert c.SetSelfMute(True, True) in backend.take_sent()
    finally:
        app.close()

    # Another run on the same server: bob's volume comes back without touching anything
    # (the part that remembers, on its own: a second Dear PyGui context in one process
    # is not something Dear PyGui supports).
    from voip_gui.local_sound import LocalSounds

    sent: list[c.Command] = []
    LocalSounds(sent.append, PrefsFile.open(prefs_dir)).render(connected_state())
    assert c.SetUserVolume(11, 0.5, False) in sent, sent


def scenario_reconnect(artifacts: Path) -> None:
    """A killed server (no goodbye) shows as lost quickly; when it is back, the window
    reconnects by itself into the room it was in. Nobody at an address: said plainly."""
    import runpy
    import socket

    from voip.client.backend import BackendHandle
    from voip.client.trust import KnownServers
    from voip_gui.app import CONNECT_TIMEOUT, IDLE_TIMEOUT

    tests = Path(__file__).resolve().parents[1]
    load = runpy.run_path(str(tests / "support" / "loading.py"))["load"]
    server_process = load("voip_tests_server_process", tests / "server" / "server_process.py")
    work = Path(tempfile.mkdtemp(prefix="voip-gui-reconnect-"))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"127.0.0.1:{port}"

    def start() -> Any:
        proc = server_process.ServerProcess(
            "--listen", address, "--data-dir", str(work / "server")
        )
        proc.wait_port()
        return proc

    server = start()
    fingerprint = server.wait_line(server_process.FINGERPRINT).group(1)
    KnownServers(work / "alice").pin(address, fingerprint)
    backend = BackendHandle(
        config_dir=work / "alice", connect_timeout=CONNECT_TIMEOUT, idle_timeout=IDLE_TIMEOUT
    )
    app = ClientApp(backend)
    app.start()
    try:
        app.send(c.Connect(address, "alice"))
        state = app.pump(lambda s: s.is_connected and s.my_room_id is not None, timeout=20)
        backend.send(c.CreateRoom(state.my_room_id, "Ops"))  # type: ignore[arg-type]
        state = app.pump(lambda s: s.find_room("Ops") is not None, timeout=10)
        ops = state.find_room("Ops")
        assert ops is not None
        d.fire_item_handler(app.rooms.room_items[ops.id], "mvDoubleClickedHandler", 0)
        app.pump(lambda s: s.my_room_id == ops.id, timeout=10)

        server.kill()
        killed = time.monotonic()
        _run_until(app, lambda: app.reconnector.active, 20)
        noticed = time.monotonic() - killed
        print(f"killed server noticed after {noticed:.2f} s (idle timeout {IDLE_TIMEOUT} s)")
        assert noticed < 4 * IDLE_TIMEOUT, f"a dead server went unnoticed for {noticed:.1f} s"
        app.frames(3)
        assert not dpg.is_item_shown("connect_dialog"), "reconnecting keeps the window"
        assert dpg.get_value("status_text").startswith(f"Connection to {address} lost")
        assert dpg.is_item_shown("reconnect_stop")
        shot(app, artifacts, "reconnecting")

        # Back on the same port (same data, same certificate): in again, in Ops again.
        server = start()
        back = time.monotonic()
        state = app.pump(lambda s: s.is_connected and s.my_room_id == ops.id, timeout=60)
        print(f"reconnected into Ops {time.monotonic() - back:.1f} s after the restart, "
              f"after {app.reconnector.attempt} attempts")
        app.frames(3)
        assert not app.reconnector.active and not dpg.is_item_shown("reconnect_stop")

        # Stopping it by hand: back to the connect dialog, no more attempts.
        server.kill()
        _run_until(app, lambda: app.reconnector.active, 20)
        d.click("reconnect_stop")
        app.pump(lambda s: not s.is_connected, timeout=10)
        _run_for(app, 3.0)
        assert not app.reconnector.active and app.reconnector.due is None
        assert dpg.is_item_shown("connect_dialog")

        # Nobody listening at an address: said plainly, quickly.
        started = time.monotonic()
        app.send(c.Connect(address, "alice"))
        app.pump(lambda s: isinstance(s.connection, ConnectionLost), timeout=20)
        app.frames(3)
        print(f"no server: said after {time.monotonic() - started:.2f} s")
        status = dpg.get_value("connect_status")
        assert f"No server answered at {address}" in status, status
        assert dpg.get_item_label("connect_button") == "Try again"
        shot(app, artifacts, "no_server")
    finally:
        try:
            app.close()
        finally:
            backend.shutdown()
            server.kill()


def scenario_global_ptt(artifacts: Path) -> None:
    """Push-to-talk while the window has no focus (pynput on X11), and on a mouse button."""
    from voip_gui.prefs import PrefsFile

    state = connected_state()
    state = replace(state, audio=replace(state.audio, ptt_key="f8"))
    backend = ScriptedBackend(state)
    app = ClientApp(backend, PrefsFile(None))
    app.start(title="voip-global-ptt")
    try:
        publish(app, backend, state)
        window = _x_window("voip-global-ptt")
        d.enter("ptt_global", True)
        app.frames(3)
        assert app.global_ptt.enabled and dpg.get_value("ptt_global") is True
        backend.take_sent()
        d.xdotool("windowunmap", "--sync", window)  # another desktop: no focus, no keys
        _run_for(app, 0.5)
        d.xdotool("keydown", "F8")
        _run_for(app, 0.5)
        d.xdotool("keyup", "F8")
        _run_for(app, 0.5)
        assert backend.take_sent() == [c.StartTransmit(), c.StopTransmit()]
        d.xdotool("windowmap", "--sync", window)
        _run_for(app, 0.5)

        # A key that types is never taken desktop-wide.
        publish(app, backend, replace(state, audio=replace(state.audio, ptt_key="space")))
        assert not app.global_ptt.enabled
        assert dpg.is_item_shown("ptt_global_note")
        assert "types text" in dpg.get_value("ptt_global_note")

        # A mouse button as the key, bound by clicking it while setting the key.
        d.enter("ptt_global", False)
        backend.take_sent()
        d.click("ptt_set_button")
        app.transmit._on_mouse_press(0, dpg.mvMouseButton_X1)
        expect_sent(backend, c.SetPushToTalkKey("mouse_back"))
        publish(app, backend, replace(state, audio=replace(state.audio, ptt_key="mouse_back")))
        assert dpg.get_value("ptt_key_label") == "PTT key: Mouse back button"
        app.transmit._on_mouse_press(0, dpg.mvMouseButton_X1)
        app.transmit._on_mouse_release(0, dpg.mvMouseButton_X1)
        expect_sent(backend, c.StartTransmit(), c.StopTransmit())
    finally:
        app.close()


def scenario_dpi(artifacts: Path) -> None:
    """On a screen whose Xft.dpi is 192 the window starts at scale 2 (text, controls, size)."""
    backend = ScriptedBackend(connected_state())
    app = ClientApp(backend)
    app.start()
    try:
        publish(app, backend, connected_state())
        print(f"ui scale {app.scale}")
        assert app.scale == 2.0, app.scale
        width, height = dpg.get_viewport_client_width(), dpg.get_viewport_client_height()
        assert (width, height) == (2400, 1360), (width, height)
        assert dpg.get_text_size("Rooms")[1] > 30, "the text did not grow"
        shot(app, artifacts, "dpi-192")
    finally:
        app.close()


def scenario_on_demand(artifacts: Path) -> None:
    """The paced loop draws nothing while idle or unmapped, and a snapshot at once."""
    import threading

    backend = ScriptedBackend(connected_state())
    app = ClientApp(backend)
    app.start(title="voip-on-demand")
    try:
        assert app.glfw.available, "the GLFW calls must be found in Dear PyGui's module"
        app.frames(5)
        window = _x_window("voip-on-demand")
        _run_for(app, 0.5)  # settle (the late frame after start)
        app.frames_drawn = 0
        _run_for(app, 1.5)
        idle = app.frames_drawn
        print(f"frames while idle for 1.5 s: {idle}")
        assert idle <= 2, f"{idle} frames drawn while nothing happened"

        # A snapshot from another thread wakes the loop: the light follows in one frame.
        state = backend.state()
        users = tuple(replace(u, talking=False) for u in state.users)
        quiet = replace(state, users=users, audio=replace(state.audio, talking_users=frozenset()))
        timer = threading.Timer(0.3, backend.publish, args=(quiet,))
        app.frames_drawn = 0
        timer.start()
        bob = app.rooms.user_items
        _run_until(app, lambda: dpg.get_item_user_data(bob[11]) ["talking"] is False, 5)
        timer.join()
        assert app.frames_drawn <= 2, f"{app.frames_drawn} frames for one snapshot"

        # Unmapped (another desktop, minimised): snapshots are kept, nothing is drawn.
        d.xdotool("windowunmap", "--sync", window)
        _run_for(app, 0.3)
        app.frames_drawn = 0
        talking = replace(quiet, audio=replace(quiet.audio, talking_users=frozenset({11})))
        for _ in range(5):
            threading.Thread(target=backend.publish, args=(talking,)).start()
            _run_for(app, 0.1)
        _run_for(app, 0.5)
        assert app.frames_drawn == 0, f"{app.frames_drawn} frames drawn while unmapped"
        d.xdotool("windowmap", "--sync", window)
        _run_until(app, lambda: dpg.get_item_user_data(bob[11]) ["talking"] is True, 5)
        print(f"reasons: {dict(app.pacer.reasons)}")
    finally:
        app.close()


def _run_for(app: ClientApp, seconds: float) -> None:
    end = time.monotonic() + seconds
    app.run(until=lambda: time.monotonic() >= end)


def _run_until(app: ClientApp, condition: Callable[[], bool], timeout: float) -> None:
    end = time.monotonic() + timeout
    app.run(until=lambda: condition() or time.monotonic() >= end)
    assert condition(), f"not reached within {timeout} s"


SCENARIOS: dict[str, Callable[[Path], None]] = {
    "global_ptt": scenario_global_ptt,
    "dpi": scenario_dpi,
    "reconnect": scenario_reconnect,
    "mute_and_volume": scenario_mute_and_volume,
    "typing_keys": scenario_typing_keys,
    "chat": scenario_chat,
    "on_demand": scenario_on_demand,
    "render": scenario_render,
    "flow": scenario_flow,
    "real_input": scenario_real_input,
    "docs": scenario_docs,
    "certificates": scenario_certificates,
}
SCENARIOS.update(access_scenarios.SCENARIOS)
SCENARIOS.update(files_scenarios.SCENARIOS)


def main() -> int:
    name, artifacts = sys.argv[1], Path(sys.argv[2])
    artifacts.mkdir(parents=True, exist_ok=True)
    SCENARIOS[name](artifacts)
    print(f"scenario {name}: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
