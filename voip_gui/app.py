"""The `voip-client` window: the views laid out, the render loop, and the CLI.

Threading: the backend calls our subscriber from its state owner's thread;
the subscriber only drops the snapshot into a `SnapshotInbox` and wakes the
render loop. The render loop (main thread) draws only when there is a reason
(`frame_pacer`): a new snapshot, input, or a running animation; otherwise it
sleeps in GLFW's event wait, and draws nothing while the window is
minimised or unmapped. A frame applies the newest snapshot to every view
when its version changed, runs the views' per-frame ticks (text length,
push-to-talk safety) and renders one Dear PyGui frame. Views never read
actor data; user actions only send commands.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import dearpygui.dearpygui as dpg

from voip.client.commands import Command, Connect, Disconnect
from voip.client.reconnect import Reconnector
from voip.client.state import State
from voip_gui import theme
from voip_gui.access_windows import AclEditor, BanList, RedeemDialog, server_menu_refusals
from voip_gui.audio_settings import AudioSettings
from voip_gui.chat_view import ChatView
from voip_gui.connect_dialog import ConnectDialog
from voip_gui.files_view import FilesView
from voip_gui.frame_pacer import IDLE_WAIT, INPUT_FRAMES, FramePacer, Glfw
from voip_gui.global_ptt import GlobalPushToTalk
from voip_gui.inbox import SnapshotInbox
from voip_gui.local_sound import LocalSounds
from voip_gui.notices import NoticeBar
from voip_gui.ports import Backend
from voip_gui.prefs import PrefsFile
from voip_gui.room_tree import RoomTree
from voip_gui.shortcuts import Shortcuts
from voip_gui.status_bar import StatusBar
from voip_gui.transmit_bar import TransmitBar
from voip_gui.trust_dialog import TrustDialog
from voip_gui.user_menu import UserMenu

log = logging.getLogger(__name__)

TITLE = "voip"
#: The default size (at UI scale 1) fits a 1366x768 laptop screen with its panels;
#: the minimum still shows every control and label.
WIDTH, HEIGHT = 1200, 680
MIN_WIDTH, MIN_HEIGHT = 940, 600
MIN_SCALE, MAX_SCALE = 0.75, 3.0
FRAME_SECONDS = 1 / 60
ROOMS_WEIGHT, CHAT_WEIGHT, AUDIO_WEIGHT = 0.27, 0.48, 0.25
BOTTOM_HEIGHT = 96
#: A dead server is shown within IDLE_TIMEOUT; "no server answered" within CONNECT_TIMEOUT.
CONNECT_TIMEOUT = 2.0
IDLE_TIMEOUT = 2.4
#: While a text field has the keyboard its cursor blinks: a frame this often.
CURSOR_BLINK = 0.4
#: While push-to-talk is held: a frame this often, so a lost key release is noticed.
HELD_CHECK = 0.25


def only_level_changed(old: State, new: State) -> bool:
    """Whether `new` differs from `old` in nothing but the microphone level."""
    if new.audio.input_level_db == old.audio.input_level_db:
        return False
    same_level = replace(new.audio, input_level_db=old.audio.input_level_db)
    return replace(new, version=old.version, audio=same_level) == old


class ClientApp:
    """Owns the Dear PyGui context for its lifetime: `start`, then `run` (or `frame`), `close`."""

    def __init__(self, backend: Backend, prefs: PrefsFile | None = None) -> None:
        self.backend = backend
        self.prefs = prefs if prefs is not None else PrefsFile(None)
        self.reconnector = Reconnector()
        self.inbox = SnapshotInbox()
        self._wake = threading.Event()
        self._unsubscribe: Callable[[], None] | None = None
        self.state: State | None = None  # what is on screen
        self._pending: State | None = None  # taken from the inbox, drawn by the next frame
        self.pacer = FramePacer()
        self.glfw = Glfw()
        #: Frames drawn by `run` (the paced loop), for tests and benchmarks.
        self.frames_drawn = 0
        self.themes: theme.Themes | None = None
        self.scale = 1.0
        self._typing_before = False
        self._focused = True
        self.views: list[object] = []

    # --- lifecycle --------------------------------------------------------------------

    def start(
        self,
        *,
        title: str = TITLE,
        width: int = WIDTH,
        height: int = HEIGHT,
        ui_scale: float | None = None,
    ) -> None:
        """Open the window. `ui_scale` None: from the screen's DPI (Xft.dpi / 96 on X11)."""
        dpg.create_context()
        dpg.configure_app(manual_callback_management=True)
        # The viewport comes first: the screen's scale is known only once GLFW runs.
        dpg.create_viewport(
            title=title,
            width=width,
            height=height,
            min_width=MIN_WIDTH,
            min_height=MIN_HEIGHT,
            clear_color=list(theme.BACKGROUND),
        )
        dpg.setup_dearpygui()
        dpg.show_viewport()
        self.glfw.attach()
        scale = ui_scale if ui_scale else self.glfw.content_scale()
        self.scale = scale = min(MAX_SCALE, max(MIN_SCALE, scale))
        if scale != 1.0:
            dpg.configure_viewport(
                0,
                width=round(width * scale),
                height=round(height * scale),
                min_width=round(MIN_WIDTH * scale),
                min_height=round(MIN_HEIGHT * scale),
            )
        self.themes = themes = theme.build_themes(scale)
        self._build(themes)
        self._input_events: Counter[str] = Counter()
        self._hooked = self.glfw.hook_input(self._on_input)
        self.glfw.hook_drop(self.drop)
        self._unsubscribe = self.backend.subscribe(self._on_state)
        self.inbox.put(self.backend.state())

    def send(self, command: Command) -> None:
        """Every view's way to the backend: the reconnector learns what the user asked."""
        if isinstance(command, Connect):
            self.reconnector.connected_with(command)
        elif isinstance(command, Disconnect):
            self.reconnector.cancel()
            self.inbox.force_redraw()  # the dialog comes back even before a new state
            self.redraw(2)
        self.backend.send(command)

    def _build(self, themes: theme.Themes) -> None:
        send, px = self.send, themes.px
        self.status = StatusBar(send, themes, self.reconnector)
        self.notices = NoticeBar(send, readable=themes.readable)
        self.sounds = LocalSounds(send, self.prefs)
        self.rooms = RoomTree(
            send,
            themes,
            redraw=self.redraw,
            local_sound=self._local_sound,
        )
        self.chat = ChatView(send, themes, redraw=self.redraw, readable=themes.readable)
        self.audio = AudioSettings(send)
        self.files = FilesView(send, themes)
        self.transmit = TransmitBar(
            send, themes, typing=self._typing, set_global=self.set_global_ptt
        )
        self.global_ptt = GlobalPushToTalk(self.backend.send, lambda: self._focused)
        self.connect_dialog = ConnectDialog(send, themes, self.prefs, self.reconnector)
        self.trust = TrustDialog(send)
        self.shortcuts = Shortcuts(self, send, self.redraw)
        self.user_menu = UserMenu(send, self.sounds)
        self.acl_editor = AclEditor(send)
        self.ban_list = BanList(send)
        self.redeem = RedeemDialog(send)

        with dpg.window(
            tag="main_window", no_scrollbar=True, no_background=True, menubar=True
        ) as main:
            self._build_server_menu()
            self.status.build(main)
            self.notices.build(main)
            # Three panes with borders the user drags to resize them.
            with dpg.child_window(
                tag="panes_area", height=-px(BOTTOM_HEIGHT), border=False, no_scrollbar=True
            ), dpg.table(
                tag="panes",
                header_row=False,
                resizable=True,
                borders_innerV=True,
                policy=dpg.mvTable_SizingStretchProp,
                no_pad_outerX=True,
            ):
                dpg.add_table_column(init_width_or_weight=ROOMS_WEIGHT)
                dpg.add_table_column(init_width_or_weight=CHAT_WEIGHT)
                dpg.add_table_column(init_width_or_weight=AUDIO_WEIGHT)
                with dpg.table_row():
                    rooms, chat, audio = (
                        dpg.add_child_window(tag=tag, border=False, height=-1, no_scrollbar=True)
                        for tag in ("rooms_panel", "chat_panel", "audio_panel")
                    )
            bottom = dpg.add_child_window(tag="transmit_panel", width=-1, height=-1)
        self.rooms.build(rooms)
        self.chat.build(chat)
        self.audio.build(audio)
        self.transmit.build(bottom)
        dpg.add_spacer(height=px(4), parent=audio)
        self.transmit.build_settings(audio)
        dpg.add_spacer(height=px(8), parent=audio)
        self.files.build(audio)
        self.connect_dialog.build()
        self.trust.build()
        self.shortcuts.build()
        self.user_menu.build()
        self.acl_editor.build()
        self.ban_list.build()
        self.redeem.build()
        self.rooms.on_user_menu = self.user_menu.open
        self.rooms.on_edit_acl = self.edit_acl
        self.views = [
            self.sounds,
            self.status,
            self.notices,
            self.rooms,
            self.chat,
            self.audio,
            self.files,
            self.transmit,
            self.connect_dialog,
            self.trust,
            self.user_menu,
            self.acl_editor,
            self.ban_list,
            self,
        ]
        dpg.bind_item_theme(main, themes.main_window)
        dpg.set_primary_window(main, True)

    def set_global_ptt(self, enabled: bool) -> None:
        """The option: push-to-talk also while the window is not focused (saved)."""
        self.prefs.update(replace(self.prefs.prefs, global_ptt=enabled))
        self.global_ptt.configure(enabled, self.transmit.ptt_key)
        self.inbox.force_redraw()

    def _local_sound(self, user_id: int) -> tuple[float, bool]:
        sound = self.sounds.sound_of(user_id)
        return sound.volume, sound.muted

    def redraw(self, frames: int = 1) -> None:
        """Draw `frames` more frames (a view changed outside a snapshot; main thread)."""
        self.pacer.input(time.monotonic(), frames)

    def _on_input(self, kind: str) -> None:
        """GLFW delivered input or a window event (main thread, inside the event wait)."""
        self._input_events[kind] += 1

    def _frames_for_input(self) -> int:
        """Frames the events of one wake need: Dear ImGui takes one press or release of a
        key or button per frame, and a click's callback shows a frame later."""
        events = self._input_events
        if not events:
            return 0
        keys = events["Key"]
        buttons = events["MouseButton"]
        return min(6, max(1, keys, buttons + 1 if buttons else 0, 2 if events["Scroll"] else 0))

    # --- the server menu (access control; docs/PERMISSIONS.md) --------------------------

    def _build_server_menu(self) -> None:
        with dpg.menu_bar(), dpg.menu(label="Server", tag="server_menu"):
            for key, label, callback in (
                ("acl", "Room ACL...", self._menu_acl),
                ("bans", "Ban list...", lambda: self.ban_list.open()),
                ("redeem", "Redeem admin token...", lambda: self.redeem.open()),
            ):
                item = dpg.add_menu_item(label=label, tag=f"server_menu_{key}", callback=callback)
                with dpg.tooltip(item, tag=f"server_menu_{key}_tip"):
                    dpg.add_text("", tag=f"server_menu_{key}_why", wrap=300)

    def _menu_acl(self) -> None:
        room = self.rooms.selected_room_id
        if room is None and self.state is not None:
            room = self.state.my_room_id
        if room is not None:
            self.edit_acl(room)

    def edit_acl(self, room_id: int) -> None:
        room = self.state.room(room_id) if self.state is not None else None
        self.acl_editor.open(room_id, room.name if room else str(room_id))

    def render(self, state: State) -> None:
        """The server menu greys out what the user may not do, with the reason."""
        for key, why in server_menu_refusals(state, self.rooms.selected_room_id).items():
            dpg.configure_item(f"server_menu_{key}", enabled=why is None)
            dpg.set_value(f"server_menu_{key}_why", why or "")
            dpg.configure_item(f"server_menu_{key}_tip", show=why is not None)

    def _on_state(self, state: State) -> None:
        """Subscriber (backend thread): keep the snapshot, wake the loop; nothing else."""
        self.inbox.put(state)
        self._wake.set()
        self.glfw.post_empty_event()

    #: Text fields, each with the window it lives in: a hidden window keeps its
    #: field's last "active" state, so only fields in shown windows count.
    TEXT_FIELDS = (
        ("chat_input", "main_window"),
        ("connect_address", "connect_dialog"),
        ("connect_name", "connect_dialog"),
        ("connect_password", "connect_dialog"),
        ("room_name_input", "room_name_dialog"),
        ("reason_input", "reason_dialog"),
        ("redeem_token", "redeem_dialog"),
    )

    def _typing(self) -> bool:
        """Whether a text field has the keyboard (typing keys then go to it, not to PTT).

        Key handlers run after the frame that saw the key, and Enter lets go of
        the line in that very frame: so a field that had the keyboard when the
        frame began counts too.
        """
        return self._typing_before or self._typing_now()

    def _typing_now(self) -> bool:
        return (
            self.chat.keeps_focus
            or self.acl_editor.typing()
            or any(
                dpg.is_item_shown(window) and dpg.is_item_active(field)
                for field, window in self.TEXT_FIELDS
            )
        )

    def drop(self, paths: list[str]) -> None:
        """Files dropped on the window: share each in the current room."""
        for path in paths:
            self.files.share(path)
        self.redraw(2)

    def frame(self) -> None:
        """Apply the newest snapshot if it changed, run per-frame ticks, render one frame."""
        state, self._pending = self._pending, None
        newer = self.inbox.take()
        if newer is not None:
            state = newer
        if state is not None:
            self.state = state
            for command in self.reconnector.observe(state, time.monotonic()):
                self.backend.send(command)
            for view in self.views:
                view.render(state)  # type: ignore[attr-defined]
            self.global_ptt.configure(self.prefs.prefs.global_ptt, self.transmit.ptt_key)
            dpg.set_value(self.transmit.global_box, self.global_ptt.enabled)
            self.transmit.show_global_problem(self.global_ptt.error)
        self._focused = self.glfw.is_focused()
        for command in self.reconnector.tick(time.monotonic()):
            self.backend.send(command)
        if self.reconnector.due is not None:
            self.status.tick()
        self.rooms.tick()
        self.user_menu.tick()
        self.chat.tick()
        self.transmit.tick()
        self._typing_before = self._typing_now()
        dpg.render_dearpygui_frame()
        # Callbacks (clicks, keys, Enter) run here, on this thread, in order.
        jobs = dpg.get_callback_queue()
        if jobs:
            dpg.run_callbacks(jobs)
            self.pacer.input(time.monotonic(), 3)  # what they changed, a focus, a popup

    def run(self, until: Callable[[], bool] | None = None) -> None:
        """The render loop until the window closes (or `until()` is true): frames on demand."""
        while dpg.is_dearpygui_running() and not (until is not None and until()):
            self.step()

    def step(self) -> None:
        """Sleep until a frame is due (input, a snapshot, an animation), then draw it."""
        now = time.monotonic()
        due = self.pacer.due_in(now)
        shown = self.glfw.is_shown()
        self._focused = shown and self.glfw.is_focused()
        if not shown or due is None or due > 0:
            timeout = IDLE_WAIT if due is None or not shown else min(due, IDLE_WAIT)
            self._wake.clear()
            self._input_events.clear()
            self.glfw.wait(timeout)
            woke = time.monotonic()
            self._focused = self.glfw.is_shown() and self.glfw.is_focused()
            if self._hooked:
                frames = self._frames_for_input()
            else:
                frames = INPUT_FRAMES if woke < now + timeout - 0.002 else 0
            self._note_wake(woke, input_frames=frames)
            due = self.pacer.due_in(woke)
            if due is None or due > 0 or not self.glfw.is_shown():
                return
        self.frame()
        now = time.monotonic()
        self.pacer.rendered(now)
        self.frames_drawn += 1
        if self._typing():
            self.pacer.request_at(now + CURSOR_BLINK, "blink")
        if self.transmit.held:
            self.pacer.request_at(now + HELD_CHECK, "held")
        left = self.reconnector.seconds_left(now)
        if left is not None:  # the countdown, and the attempt itself
            self.pacer.request_at(now + min(left, (left % 1.0) or 1.0), "reconnect")

    def _note_wake(self, now: float, input_frames: int) -> None:
        """Why the wait ended: a snapshot, input, or a requested time (or several)."""
        state = self.inbox.take()
        if state is not None:
            shown = self._pending or self.state
            level_only = shown is not None and only_level_changed(shown, state)
            self._pending = state
            self.pacer.snapshot(now, level_only=level_only)
        if input_frames:
            self.pacer.input(now, input_frames)

    def pump(self, until: Callable[[State], bool], timeout: float = 10.0) -> State:
        """Render frames until the on-screen state satisfies `until` (tests and tools).

        TimeoutError names the last state shown, so a failure says where it stopped.
        """
        deadline = time.monotonic() + timeout
        while True:
            self.frame()
            if self.state is not None and until(self.state):
                return self.state
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"the window did not reach the expected state in {timeout:g} s; it shows "
                    f"{self.state}"
                )
            self._wake.wait(FRAME_SECONDS)
            self._wake.clear()

    def frames(self, count: int) -> None:
        for _ in range(count):
            self.frame()

    def screenshot(self, path: Path, timeout: float = 10.0) -> Path:
        """Write the window as PNG (Dear PyGui writes it while rendering the next frames)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        self.frames(3)
        dpg.output_frame_buffer(file=str(path))
        deadline = time.monotonic() + timeout
        while not (path.exists() and path.stat().st_size > 0):
            if time.monotonic() > deadline:
                raise TimeoutError(f"Dear PyGui did not write the screenshot {path}")
            self.frame()
        self.frames(2)
        return path

    def close(self) -> None:
        global_ptt = getattr(self, "global_ptt", None)
        if global_ptt is not None:
            global_ptt.stop()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.glfw.detach()
        dpg.destroy_context()


# --- command line --------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="voip-client",
        description="The voip desktop client (Dear PyGui).",
    )
    parser.add_argument(
        "--connect", metavar="HOST:PORT", default="", help="connect to this server at start"
    )
    parser.add_argument("--name", default="", help="display name (default: the last one used)")
    parser.add_argument(
        "--password",
        default=os.environ.get("VOIP_PASSWORD", ""),
        help="server password (or set VOIP_PASSWORD, which other users cannot see in ps)",
    )
    parser.add_argument(
        "--config-dir",
        type=Path,
        default=None,
        help="where the key, settings and pinned certificates live "
        "(default: the per-user config dir)",
    )
    parser.add_argument(
        "--trust-fingerprint",
        metavar="SHA256:AB:CD:...",
        default="",
        help="pin this certificate fingerprint for the --connect server before connecting "
        "(what tools/run does for its own local server); without it an unknown server's "
        "fingerprint is shown for you to accept",
    )
    parser.add_argument(
        "--ui-scale",
        type=float,
        default=0.0,
        metavar="FACTOR",
        help="size of text and controls, e.g. 1.5 (default: from the screen's DPI, or the "
        "ui_scale saved in gui.toml)",
    )
    parser.add_argument(
        "--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    return parser.parse_args(argv)


def pin_fingerprint(config_dir: Path, address: str, fingerprint_text: str) -> None:
    """Pin `fingerprint_text` for `address` in the client's known servers (like ssh-keyscan)."""
    from voip.client.address import parse_address
    from voip.client.trust import KnownServers

    text = fingerprint_text.strip()
    if not text.upper().startswith("SHA256:"):
        raise ValueError(
            f"{text!r} is not a fingerprint; expected SHA256:AB:CD:... as the server prints it"
        )
    KnownServers(config_dir).pin(parse_address(address).key, "SHA256:" + text[7:].upper())


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(name)s %(message)s")
    from voip.client.backend import BackendHandle
    from voip.identity import default_config_dir

    config_dir = args.config_dir if args.config_dir is not None else default_config_dir()
    if args.trust_fingerprint:
        if not args.connect:
            print("voip-client: --trust-fingerprint needs --connect HOST:PORT", file=sys.stderr)
            return 2
        try:
            pin_fingerprint(config_dir, args.connect, args.trust_fingerprint)
        except (ValueError, OSError) as exc:
            print(f"voip-client: cannot pin the fingerprint: {exc}", file=sys.stderr)
            return 2

    # Quick to notice: no answer within CONNECT_TIMEOUT means nobody is there, and
    # a keep-alive every IDLE_TIMEOUT / 3 without an answer means the server is gone.
    backend = BackendHandle(
        config_dir=config_dir, connect_timeout=CONNECT_TIMEOUT, idle_timeout=IDLE_TIMEOUT
    )
    prefs = PrefsFile.open(config_dir)
    app = ClientApp(backend, prefs)
    # SIGTERM (e.g. from a launcher) ends the render loop, so the backend still says goodbye.
    signal.signal(signal.SIGTERM, lambda *_: dpg.stop_dearpygui())
    try:
        app.start(ui_scale=args.ui_scale or prefs.prefs.ui_scale or None)
        app.connect_dialog.prefill(args.connect, args.name, args.password)
        if args.connect:
            name = args.name or backend.state().config.display_name
            app.send(Connect(args.connect, name, args.password))
        app.run()
        log.info("frames drawn: %d %s", app.frames_drawn, dict(app.pacer.reasons))
    finally:
        try:
            app.close()
        finally:
            backend.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
