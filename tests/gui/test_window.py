"""The real window under Xvfb: rendering snapshots, a full session, real X input."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = [pytest.mark.gui, pytest.mark.timeout(200)]


def test_views_render_snapshots_and_send_commands(
    scenario: Callable[[str], str], gui_artifacts: Path
) -> None:
    out = scenario("render")
    assert "scenario render: OK" in out
    for name in ("render_connect", "render_trust", "render_main", "render_lost"):
        assert (gui_artifacts / f"{name}.png").stat().st_size > 5000


def test_session_against_a_real_server(scenario: Callable[[str], str], gui_artifacts: Path) -> None:
    """Connect, accept the certificate, rooms, chat, refusal, modes, PTT, lost, reconnect."""
    out = scenario("flow")
    assert "scenario flow: OK" in out
    for name in ("connect", "trust", "main", "lost"):
        assert (gui_artifacts / f"{name}.png").stat().st_size > 5000


def test_certificate_failures_say_why(scenario: Callable[[str], str], gui_artifacts: Path) -> None:
    """Name mismatch, expired, unknown CA: real certificates, the reasons on screen."""
    out = scenario("certificates")
    assert "scenario certificates: OK" in out
    for name in ("cert_name_mismatch", "cert_expired", "cert_unknown_ca"):
        assert (gui_artifacts / f"{name}.png").stat().st_size > 5000


@pytest.mark.skipif(shutil.which("xdotool") is None, reason="xdotool is not installed")
def test_real_key_and_mouse_input(scenario: Callable[[str], str]) -> None:
    out = scenario("real_input")
    assert "scenario real_input: OK" in out


@pytest.mark.skipif(shutil.which("xdotool") is None, reason="xdotool is not installed")
def test_window_draws_on_demand_only(scenario: Callable[[str], str]) -> None:
    """Idle: no frames; a snapshot: drawn at once; unmapped: nothing drawn until mapped."""
    out = scenario("on_demand")
    assert "scenario on_demand: OK" in out


def test_chat_history_links_notes_notices_and_glyphs(scenario: Callable[[str], str]) -> None:
    """Own name colour, links open the browser, history scroll, who came and went,
    repeated notices once, CJK drawn and emoji spelled out."""
    out = scenario("chat")
    assert "scenario chat: OK" in out


@pytest.mark.skipif(shutil.which("xdotool") is None, reason="xdotool is not installed")
def test_typing_never_goes_on_the_air_and_dialogs_take_keys(
    scenario: Callable[[str], str],
) -> None:
    """Real keys: Enter then typing goes on in the line, Space while typing never keys
    the microphone (outside a field it does), Esc/Enter/Delete/arrows do what they say."""
    out = scenario("typing_keys")
    assert "scenario typing_keys: OK" in out


def test_access_control_in_the_window(scenario: Callable[[str], str], gui_artifacts: Path) -> None:
    """Greyed-out items with reasons, the user menu, the ACL editor, bans, the token."""
    out = scenario("access")
    assert "scenario access: OK" in out
    names = ["access_denied_user_menu", "user_menu", "acl_editor", "ban_list"]
    if shutil.which("xdotool") is not None:
        names.append("access_denied_tooltip")  # a real pointer over a greyed-out button
    for name in names:
        assert (gui_artifacts / f"{name}.png").stat().st_size > 5000
def test_mute_deafen_marks_and_the_user_menu(scenario: Callable[[str], str]) -> None:
    """Mute/Deafen buttons, moderators' marks apart from the user's own, the user menu's
    volume and local mute sent to the mixer and remembered for the next run."""
    out = scenario("mute_and_volume")
    assert "scenario mute_and_volume: OK" in out


def test_a_killed_server_is_shown_and_the_window_reconnects_into_its_room(
    scenario: Callable[[str], str],
) -> None:
    """A real server process killed (no goodbye) and restarted on its port; and an
    address where nobody listens."""
    out = scenario("reconnect")
    assert "scenario reconnect: OK" in out
    print(out)


@pytest.mark.skipif(shutil.which("xrdb") is None, reason="xrdb (x11-xserver-utils) is missing")
def test_a_192_dpi_screen_gets_ui_scale_2(
    gui_artifacts: Path, run_scenario: Callable[..., str]
) -> None:
    """An Xvfb screen of its own with Xft.dpi 192 (as a desktop sets it for a HiDPI screen)."""
    import os
    import subprocess

    for n in range(150, 190):
        if not os.path.exists(f"/tmp/.X11-unix/X{n}") and not os.path.exists(f"/tmp/.X{n}-lock"):
            break
    xvfb = subprocess.Popen(
        ["Xvfb", f":{n}", "-screen", "0", "2560x1440x24", "-dpi", "192", "-nolisten", "tcp",
         "-noreset"],  # keep the root window's resources between clients
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            if os.path.exists(f"/tmp/.X11-unix/X{n}"):
                break
            subprocess.run(["sleep", "0.05"], check=True)
        env = dict(os.environ, DISPLAY=f":{n}")
        subprocess.run(["xrdb", "-nocpp", "-merge"], input="Xft.dpi: 192\n", text=True, env=env,
                       check=True, timeout=10)
        out = run_scenario("dpi", f":{n}", gui_artifacts)
        assert "scenario dpi: OK" in out and "ui scale 2.0" in out
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)


@pytest.mark.skipif(shutil.which("xdotool") is None, reason="xdotool is not installed")
def test_push_to_talk_outside_the_window_and_on_a_mouse_button(
    scenario: Callable[[str], str],
) -> None:
    """Real key presses while the window is unmapped reach push-to-talk (pynput, X11)."""
    out = scenario("global_ptt")
    assert "scenario global_ptt: OK" in out


def test_files_panel_shares_fetches_and_shows_progress(
    scenario: Callable[[str], str], gui_artifacts: Path
) -> None:
    """The files panel: Download sends the fetch, progress with speed, pick and drop share."""
    out = scenario("files")
    assert "scenario files: OK" in out
    assert (gui_artifacts / "files.png").stat().st_size > 5000
