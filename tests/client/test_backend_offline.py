"""BackendHandle without a server: errors while disconnected, config, notifications."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from voip.client import BackendHandle
from voip.client import commands as c
from voip.client.config import config_path
from voip.client.state import ConnectionLost, Disconnected, State, TransmissionMode

WAIT = 15.0

SERVER_COMMANDS = [
    c.JoinRoom(2),
    c.CreateRoom(1, "Games"),
    c.DeleteRoom(2),
    c.RenameRoom(2, "Music"),
    c.SendChat("hello"),
    c.SetDisplayName("bob"),
    c.RequestResync(),
]


def new_error(backend: BackendHandle, after: int) -> Callable[[State], bool]:
    return lambda s: any(e.id > after for e in s.errors)


def last_error_id(state: State) -> int:
    return state.errors[-1].id if state.errors else 0


@pytest.mark.parametrize("command", SERVER_COMMANDS, ids=lambda cmd: type(cmd).__name__)
def test_server_commands_while_disconnected_become_error_notices(
    make_backend: Callable[..., BackendHandle], command: Any
) -> None:
    backend = make_backend()
    backend.send(command)  # must not raise in the caller's thread
    state = backend.wait_for(lambda s: bool(s.errors), WAIT)
    notice = state.errors[-1]
    assert notice.code == "NOT_CONNECTED"
    assert notice.command == type(command).__name__
    assert "connect first" in notice.message
    assert isinstance(state.connection, Disconnected)


@pytest.mark.parametrize(
    "command", [c.AcceptCertificate(), c.RejectCertificate()], ids=lambda cmd: type(cmd).__name__
)
def test_certificate_answers_without_a_prompt_are_errors(
    make_backend: Callable[..., BackendHandle], command: Any
) -> None:
    backend = make_backend()
    backend.send(command)
    notice = backend.wait_for(lambda s: bool(s.errors), WAIT).errors[-1]
    assert notice.code == "CERTIFICATE" and notice.command == type(command).__name__


def test_invalid_arguments_are_refused_locally(make_backend: Callable[..., BackendHandle]) -> None:
    backend = make_backend()
    backend.send(c.CreateRoom(1, ""))
    notice = backend.wait_for(lambda s: bool(s.errors), WAIT).errors[-1]
    assert notice.code == "INVALID_ARGUMENT" and notice.command == "CreateRoom"
    backend.send(c.Connect("host:notaport", "bob"))
    state = backend.wait_for(lambda s: len(s.errors) == 2, WAIT)
    assert state.errors[-1].command == "Connect" and "port" in state.errors[-1].message


def test_disconnect_and_dismiss(make_backend: Callable[..., BackendHandle]) -> None:
    backend = make_backend()
    backend.send(c.SendChat("hi"))
    notice = backend.wait_for(lambda s: bool(s.errors), WAIT).errors[-1]
    backend.send(c.DismissError(notice.id))
    backend.wait_for(lambda s: not s.errors, WAIT)
    backend.send(c.Disconnect())  # harmless when already disconnected
    backend.send(c.SendChat("again"))
    state = backend.wait_for(lambda s: bool(s.errors), WAIT)
    assert state.errors[-1].id > notice.id  # ids keep increasing


def test_unreachable_server_gives_connection_lost_with_reason(
    make_backend: Callable[..., BackendHandle],
) -> None:
    backend = make_backend(connect_timeout=1.0)
    backend.send(c.Connect("127.0.0.1:9", "bob"))  # discard port: nobody answers QUIC
    state = backend.wait_for(lambda s: isinstance(s.connection, ConnectionLost), WAIT)
    assert isinstance(state.connection, ConnectionLost)
    assert "no answer" in state.connection.error and "127.0.0.1:9" in state.connection.error


def test_subscribe_and_repaint_see_every_change(tmp_path: Path) -> None:
    repaints = threading.Semaphore(0)
    backend = BackendHandle(repaint=repaints.release, config_dir=tmp_path)
    try:
        seen: list[State] = []
        unsubscribe = backend.subscribe(seen.append)
        backend.send(c.SetOutputVolume(0.5))
        state = backend.wait_for(lambda s: s.audio.output_volume == 0.5, WAIT)
        assert repaints.acquire(timeout=WAIT)
        assert any(s.audio.output_volume == 0.5 for s in seen)
        assert [s.version for s in seen] == sorted(s.version for s in seen)
        unsubscribe()
        count = len(seen)
        backend.send(c.SetOutputVolume(0.75))
        backend.wait_for(lambda s: s.audio.output_volume == 0.75, WAIT)
        assert len(seen) == count
        assert state.version < backend.state().version
    finally:
        backend.shutdown()


def test_wait_for_times_out_with_a_description(make_backend: Callable[..., BackendHandle]) -> None:
    backend = make_backend()
    with pytest.raises(TimeoutError, match="Disconnected"):
        backend.wait_for(lambda s: s.is_connected, 0.2)


def test_settings_survive_a_restart(tmp_path: Path) -> None:
    config_dir = tmp_path / "cfg"
    first = BackendHandle(config_dir=config_dir, connect_timeout=1.0)
    try:
        first.send(c.SetInputVolume(1.5))
        first.send(c.SetOutputVolume(0.25))
        first.send(c.SetTransmissionMode(TransmissionMode.VOICE_ACTIVATED, -33.0))
        first.send(c.SetPushToTalkKey("ctrl"))
        first.send(c.Connect("127.0.0.1:9", "carol"))
        first.wait_for(lambda s: isinstance(s.connection, ConnectionLost), WAIT)
        first.wait_for(lambda s: s.config.display_name == "carol", WAIT)
    finally:
        first.shutdown()
    second = BackendHandle(config_dir=config_dir)
    try:
        state = second.state()
        assert state.config.last_server == "127.0.0.1:9"
        assert state.config.display_name == "carol"
        assert state.audio.input_volume == 1.5 and state.audio.output_volume == 0.25
        assert state.audio.transmission_mode is TransmissionMode.VOICE_ACTIVATED
        assert state.audio.vad_threshold_db == -33.0 and state.audio.ptt_key == "ctrl"
        assert state.errors == ()
    finally:
        second.shutdown()


def test_corrupt_config_gives_a_notice_and_defaults(tmp_path: Path) -> None:
    config_path(tmp_path).parent.mkdir(parents=True, exist_ok=True)
    config_path(tmp_path).write_text("not = [valid")
    backend = BackendHandle(config_dir=tmp_path)
    try:
        state = backend.wait_for(lambda s: bool(s.errors), WAIT)
        assert state.errors[-1].code == "CONFIG" and ".bak" in state.errors[-1].message
        assert state.audio.transmission_mode is TransmissionMode.PUSH_TO_TALK
    finally:
        backend.shutdown()


def test_audio_settings_are_recorded_in_state(make_backend: Callable[..., BackendHandle]) -> None:
    backend = make_backend()
    backend.send(c.SetTransmissionMode(TransmissionMode.CONTINUOUS))
    backend.send(c.StartLoopbackTest())
    state = backend.wait_for(lambda s: s.audio.loopback_test, WAIT)
    assert state.audio.transmission_mode is TransmissionMode.CONTINUOUS
    assert not state.audio.is_transmitting  # no connection: nothing is sent
    backend.send(c.StopLoopbackTest())
    backend.wait_for(lambda s: not s.audio.loopback_test, WAIT)
