"""GUI scenario for file sharing: the files panel, Download, progress, sharing a pick.

Registered in scenarios.py's table (run the same way, one process each).
Snapshots are constructed, so each step says what the panel must show; the
commands it sends are what the real backend turns into tracker requests
(tests/client/test_sharing.py).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import dearpygui.dearpygui as dpg
import driving as d
from scripted_backend import NOW_MS, ScriptedBackend, connected_state

from voip.client import commands as c
from voip.client.state import ChatLine, SharedFileView, State, TransferView
from voip_gui.app import ClientApp

HASH = bytes(range(32))


def _publish(app: ClientApp, backend: ScriptedBackend, state: State) -> State:
    shown = backend.publish(state)
    app.pump(lambda s: s.version == shown.version, timeout=5)
    app.frames(2)
    return shown


def scenario_files(artifacts: Path) -> None:
    base = connected_state()
    backend = ScriptedBackend(base)
    app = ClientApp(backend)
    app.start()
    try:
        offered = SharedFileView(HASH, "talk.flac", 20_000_000, 2, 11, "bob", NOW_MS, True)
        line = ChatLine(11, "bob", 2, "shared talk.flac (20.0 MB)", NOW_MS, file_hash=HASH)
        state = _publish(
            app, backend, replace(base, files=(offered,), chat=(*base.chat, line))
        )
        files = app.files
        assert HASH in files.download_buttons, "no Download button for the offered file"
        button = files.download_buttons[HASH]
        assert dpg.is_item_enabled(button)
        assert any("talk.flac (20.0 MB)" in t for t in app.chat.drawn_text), app.chat.drawn_text
        dpg.get_item_callback(button)()
        sent = backend.take_sent()
        assert sent == [c.DownloadFile(HASH)], sent

        moving = TransferView(HASH, "talk.flac", "/tmp/talk.flac", 20_000_000, 9_000_000,
                              3_200_000.0, 0.0, 2)
        _publish(app, backend, replace(state, transfers=(moving,)))
        assert HASH not in files.download_buttons  # fetching: the button gives way to progress
        bar = files.progress_bars[HASH]
        assert abs(dpg.get_value(bar) - 0.45) < 1e-6
        overlay = dpg.get_item_configuration(bar)["overlay"]
        assert "45% of 20.0 MB, 3.2 MB/s from 2 peers" in overlay, overlay
        path = app.screenshot(artifacts / "files.png")
        d.assert_screenshot(path, d.frame_pixels(app.frame))
        print(f"screenshot {path}")

        # picking a file in the dialog shares it; so does dropping one on the window
        files.pick()
        app.frames(2)
        assert dpg.is_item_shown(files.dialog)
        dpg.get_item_callback(files.dialog)(files.dialog, {"selections": {"a.txt": "/tmp/a.txt"}})
        app.drop(["/tmp/b.txt"])
        sent = backend.take_sent()
        assert sent == [c.ShareFile("/tmp/a.txt"), c.ShareFile("/tmp/b.txt")], sent

        # without TEXT in the room the panel does not offer sharing or fetching
        no_text = replace(base.access, permissions={**base.access.permissions, 2: 1})
        _publish(app, backend, replace(state, access=no_text))
        assert not dpg.is_item_enabled(files.share_button)
        assert not dpg.is_item_enabled(files.download_buttons[HASH])
    finally:
        app.close()


SCENARIOS = {"files": scenario_files}
