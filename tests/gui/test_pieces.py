"""The GUI's pure parts, no display needed: key names, snapshot hand-over, formatting."""

from __future__ import annotations

import threading

import dearpygui.dearpygui as dpg
import pytest

from voip.client.state import DEFAULT_PTT_KEY, ChatLine, ErrorNotice, State
from voip_gui import keys
from voip_gui.audio_settings import device_items, meter_fraction
from voip_gui.chat_view import format_line, format_time
from voip_gui.inbox import SnapshotInbox
from voip_gui.notices import notice_text
from voip_gui.trust_dialog import fingerprint_lines


def test_key_names_round_trip_and_the_default_ptt_key_exists() -> None:
    assert keys.key_code(DEFAULT_PTT_KEY) == dpg.mvKey_Spacebar
    for name in ("space", "f1", "f12", "a", "z", "0", "left_ctrl", "right_alt", "enter"):
        code = keys.key_code(name)
        assert code is not None, name
        assert keys.key_name(code) == name
    assert keys.key_name(9999) == "key_9999" and keys.key_code("key_9999") == 9999
    assert keys.key_code("no_such_key") is None
    assert keys.key_label("space") == "Space"
    assert keys.key_label("f5") == "F5"
    assert keys.key_label("left_ctrl") == "Left Ctrl"
    assert "space" in keys.TYPING_KEYS and "f1" not in keys.TYPING_KEYS
    assert "left_ctrl" not in keys.TYPING_KEYS


def test_inbox_keeps_only_the_newest_and_hands_each_version_once() -> None:
    inbox = SnapshotInbox()
    assert inbox.take() is None
    threads = [threading.Thread(target=inbox.put, args=(State(version=v),)) for v in range(1, 50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    taken = inbox.take()
    assert taken is not None and taken.version == 49
    assert inbox.take() is None
    inbox.put(State(version=3))  # an older snapshot arriving late is ignored
    assert inbox.take() is None
    inbox.force_redraw()
    again = inbox.take()
    assert again is not None and again.version == 49


def test_chat_lines_show_local_time_sender_and_text() -> None:
    line = ChatLine(5, "bob", 2, "hi", 1_700_000_000_000)
    hhmm = format_time(line.server_time_ms)
    assert len(hhmm) == 5 and hhmm[2] == ":"
    assert format_line(line) == f"[{hhmm}] bob: hi"
    local = ChatLine(0, "", 0, "You joined Gaming.", 1_700_000_000_000, local=True)
    assert format_line(local) == f"[{hhmm}] You joined Gaming."


def test_fingerprint_rows_keep_the_exact_text() -> None:
    text = "SHA256:" + ":".join(f"{b:02X}" for b in range(32))
    rows = fingerprint_lines(text)
    assert rows.count("\n") == 2
    assert rows.replace("\n", "") == text


@pytest.mark.parametrize(
    ("level", "fraction"), [(-120.0, 0.0), (-60.0, 0.0), (-30.0, 0.5), (0.0, 1.0), (6.0, 1.0)]
)
def test_meter_scale(level: float, fraction: float) -> None:
    assert meter_fraction(level) == pytest.approx(fraction)


def test_device_list_starts_with_the_system_default() -> None:
    from voip.client.state import AudioDeviceView

    items = device_items((AudioDeviceView("pulse"), AudioDeviceView("pulse")))
    assert items == ["System default", "pulse"]


def test_notice_names_the_failed_command() -> None:
    assert notice_text(ErrorNotice(1, "ROOT_ROOM", "no", "DeleteRoom")) == "DeleteRoom: no"
    assert notice_text(ErrorNotice(2, "CONFIG", "bad file")) == "bad file"
