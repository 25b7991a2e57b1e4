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


def test_notice_says_what_failed_in_words_and_groups_repeats() -> None:
    from voip_gui.notices import grouped

    refusal = ErrorNotice(1, "ROOT_ROOM", "the root room cannot be deleted", "DeleteRoom")
    assert notice_text(refusal) == "Could not delete the room: the root room cannot be deleted"
    assert notice_text(ErrorNotice(2, "CONFIG", "bad file")) == "Bad file"
    assert "DeleteRoom" not in notice_text(refusal)
    assert notice_text(ErrorNotice(3, "X", "odd", "SomeNewCommand")) == "That did not work: odd"
    again = ErrorNotice(4, "ROOT_ROOM", "the root room cannot be deleted", "DeleteRoom")
    other = ErrorNotice(5, "PERMISSION_DENIED", "no", "RenameRoom")
    groups = grouped((refusal, other, again))
    assert [(n.id, ids) for n, ids in groups] == [(4, [1, 4]), (5, [5])]


def test_connect_failures_are_explained_in_the_users_terms() -> None:
    from voip_gui.connect_dialog import explain, os_user_name

    assert explain("the server refused the connection: wrong password", False) == (
        "This server needs a password: type it below and connect again."
    )
    assert "did not accept that password" in explain("wrong password", True)
    assert explain("no answer", False) == "No answer"
    assert isinstance(os_user_name(), str)


def test_gui_prefs_remember_recent_and_favourite_servers(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from voip_gui.prefs import MAX_RECENT, PrefsFile

    prefs = PrefsFile.open(tmp_path)
    assert prefs.prefs.servers() == []
    for i in range(MAX_RECENT + 3):
        prefs.update(prefs.prefs.used(f"host{i}:7731"))
    prefs.update(prefs.prefs.used("host3:7731"))
    prefs.update(prefs.prefs.toggled_favourite("fav.example:7731"))
    again = PrefsFile.open(tmp_path).prefs
    assert again.recent[0] == "host3:7731" and len(again.recent) == MAX_RECENT
    assert len(set(again.recent)) == MAX_RECENT
    assert again.servers()[:2] == ["fav.example:7731", "host3:7731"]
    assert again.toggled_favourite("fav.example:7731").favourites == ()
    (tmp_path / "gui.toml").write_text("recent = [1, 'ok:1']\nui_scale = 'big'\n[[[")
    assert PrefsFile.open(tmp_path).prefs.recent == ()  # unreadable: defaults, no error
    (tmp_path / "gui.toml").write_text("recent = [1, 'ok:1', 'ok:1']\nui_scale = 9\n")
    loaded = PrefsFile.open(tmp_path).prefs
    assert loaded.recent == ("ok:1",) and loaded.ui_scale == 0.0


def test_glyph_coverage_spells_out_what_the_font_lacks() -> None:
    from voip_gui.glyphs import Coverage, find_font

    font = find_font()
    if font is None:
        pytest.skip("no font installed")
    coverage = Coverage(font)
    assert coverage.readable("plain ascii") == "plain ascii"
    assert coverage.readable("thumbs \U0001F44D\U0001F3FD!") == "thumbs :thumbs up sign:!"
    if "wqy" in font.name:
        assert coverage.readable("漢字 한국어 ñ") == "漢字 한국어 ñ"
    none = Coverage(None)  # Dear PyGui's built-in font: ASCII only
    assert none.readable("é") == ":latin small letter e with acute:"


def test_presence_notes_say_who_came_went_and_moved() -> None:
    from voip.client.state import RoomView, UserView
    from voip_gui.chat_view import links_in, presence_notes

    rooms = (RoomView(1, "Lobby", 0, 0), RoomView(2, "Games", 1, 1))
    before = (UserView(1, "me", 1, is_me=True), UserView(2, "bob", 1), UserView(3, "cy", 2))
    after = (UserView(1, "me", 1, is_me=True), UserView(3, "cy", 1), UserView(4, "di", 1))
    state = State(rooms=rooms, users=after)
    notes = presence_notes(before, after, 1, state)
    assert sorted(notes) == ["bob left the server", "cy came in from Games",
                             "di joined the server here"]
    moved = (UserView(1, "me", 1, is_me=True), UserView(2, "bob", 2))
    assert presence_notes(before[:2], moved, 1, State(rooms=rooms)) == ["bob moved to Games"]
    assert links_in("see https://a.example/x?y=1, and http://b.example.") == [
        "https://a.example/x?y=1", "http://b.example"
    ]


def test_pacer_sleeps_when_nothing_happens_and_draws_a_snapshot_at_once() -> None:
    from voip_gui.frame_pacer import LEVEL_PERIOD, MAX_FPS, FramePacer

    pacer = FramePacer()
    assert pacer.due_in(0.0) == 0.0  # the first frame
    pacer.rendered(0.0)
    assert pacer.due_in(0.1) is None  # nothing asked: sleep until woken
    pacer.snapshot(5.0)
    assert pacer.due_in(5.0) == 0.0
    pacer.rendered(5.0)
    assert pacer.due_in(5.0) is None
    # Never faster than MAX_FPS, even for a burst of snapshots.
    pacer.snapshot(5.001)
    assert pacer.due_in(5.001) == pytest.approx(1 / MAX_FPS - 0.001)
    pacer.rendered(5.02)
    # A level-only change waits for the level period; a real change does not.
    pacer.snapshot(5.03, level_only=True)
    assert pacer.due_in(5.03) == pytest.approx(LEVEL_PERIOD - 0.01)
    pacer.snapshot(5.03)
    assert pacer.due_in(5.04) == 0.0


def test_pacer_input_owes_frames_then_one_late_frame_and_slots_do_not_pile_up() -> None:
    from voip_gui.frame_pacer import LATE_FRAME, FramePacer

    pacer = FramePacer(min_interval=0.0)
    pacer.rendered(0.0)
    pacer.input(1.0, frames=3)
    for i in range(3):
        assert pacer.due_in(1.0 + i * 0.01) == 0.0
        pacer.rendered(1.0 + i * 0.01)
    assert pacer.due_in(1.05) == pytest.approx(LATE_FRAME - 0.05)
    for t in (1.1, 1.2, 1.3):  # a view asking every frame moves its one slot
        pacer.request_at(t + 0.4, "blink")
    assert set(pacer.requested) == {"late", "blink"}
    pacer.rendered(1.0 + LATE_FRAME)
    assert set(pacer.requested) == {"blink"}
    pacer.rendered(1.8)
    assert pacer.due_in(1.8) is None
    assert pacer.reasons["input"] == 3


def test_only_level_changed() -> None:
    from dataclasses import replace

    from voip_gui.app import only_level_changed

    old = State(version=3)
    louder = replace(old, version=4, audio=replace(old.audio, input_level_db=-30.0))
    assert only_level_changed(old, louder)
    talking = replace(louder, audio=replace(louder.audio, talking_users=frozenset({2})))
    assert not only_level_changed(old, talking)
    assert not only_level_changed(old, replace(old, version=5))
