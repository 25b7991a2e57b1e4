"""The backend against a real server on loopback (aioquic both sides, LevelDB, actors).

Every wait is on the snapshot with a deadline (`wait_for`); nothing sleeps.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from voip.client import BackendHandle
from voip.client import commands as c
from voip.client.state import (
    AwaitingTrust,
    Connected,
    ConnectionLost,
    Disconnected,
    State,
)
from voip.client.trust import KnownServers
from voip.protocol.fingerprint import format_fingerprint
from voip.protocol.voice import VoiceFrame

WAIT = 15.0

Backends = Callable[..., BackendHandle]
Servers = Callable[..., Any]


def pin(config_dir: Path, server: Any) -> None:
    """Pre-accept a server's certificate, as a user who accepted it before would have."""
    KnownServers(config_dir).pin(f"127.0.0.1:{server.port}", format_fingerprint(server.fingerprint))


def connect(backend: BackendHandle, server: Any, name: str) -> State:
    """Connect with the certificate already pinned; wait for the full state."""
    pin(backend.config_dir, server)
    backend.send(c.Connect(f"127.0.0.1:{server.port}", name))
    return backend.wait_for(
        lambda s: (s.is_connected and s.me is not None) or isinstance(s.connection, ConnectionLost),
        WAIT,
    )


def shape(state: State) -> tuple[Any, Any]:
    """What every client must agree on: rooms and users with ids."""
    return (
        sorted((r.id, r.name, r.parent_id) for r in state.rooms),
        sorted((u.id, u.name, u.room_id) for u in state.users),
    )


def test_connect_gives_the_servers_state(
    make_backend: Backends, server: Any, tmp_path: Path
) -> None:
    alice = make_backend(tmp_path / "alice")
    state = connect(alice, server, "alice")
    assert isinstance(state.connection, Connected)
    assert state.connection.server_name == "Lobby" and state.connection.max_chat_length > 0
    root = state.root_room
    assert root is not None and root.id == state.connection.root_room_id
    assert state.my_room_id == root.id and state.me is not None and state.me.name == "alice"

    bob = make_backend(tmp_path / "bob")
    bob_state = connect(bob, server, "bob")
    alice_state = alice.wait_for(lambda s: len(s.users) == 2, WAIT)
    bob_state = bob.wait_for(lambda s: len(s.users) == 2, WAIT)
    assert shape(alice_state) == shape(bob_state)
    assert alice_state.resync_count == 0 and bob_state.resync_count == 0
    assert alice.state().config.last_server == f"127.0.0.1:{server.port}"


def test_updates_arrive_and_repaint_is_called(
    make_backend: Backends, server: Any, tmp_path: Path
) -> None:
    repaints = threading.Semaphore(0)
    alice = make_backend(tmp_path / "alice")
    bob = make_backend(tmp_path / "bob", repaint=repaints.release)
    root = connect(alice, server, "alice").connection
    assert isinstance(root, Connected)
    connect(bob, server, "bob")
    while repaints.acquire(blocking=False):
        pass  # only count repaints from here on

    alice.send(c.CreateRoom(root.root_room_id, "Games"))
    games = bob.wait_for(lambda s: s.find_room("Games") is not None, WAIT).find_room("Games")
    assert games is not None and games.parent_id == root.root_room_id and games.depth == 1
    assert repaints.acquire(timeout=WAIT)

    alice.send(c.JoinRoom(games.id))
    state = bob.wait_for(lambda s: [u.name for u in s.users_in(games.id)] == ["alice"], WAIT)
    alice.send(c.RenameRoom(games.id, "Board games"))
    state = bob.wait_for(lambda s: s.find_room("Board games") is not None, WAIT)
    alice.send(c.DeleteRoom(games.id))
    state = bob.wait_for(lambda s: s.find_room("Board games") is None, WAIT)
    alice_user = next(u for u in state.users if u.name == "alice")
    assert alice_user.room_id == root.root_room_id  # users move to the parent
    alice.send(c.SetDisplayName("alicia"))
    state = bob.wait_for(lambda s: any(u.name == "alicia" for u in s.users), WAIT)
    assert shape(alice.wait_for(lambda s: shape(s) == shape(state), WAIT)) == shape(state)
    assert state.resync_count == 0


def test_hash_mismatch_triggers_a_resync(
    make_backend: Backends, server: Any, tmp_path: Path
) -> None:
    alice = make_backend(tmp_path / "alice")
    bob = make_backend(tmp_path / "bob")
    root_id = connect(alice, server, "alice").my_room_id
    assert root_id is not None
    connect(bob, server, "bob")
    bob.corrupt_state_for_test()
    bob.wait_for(lambda s: any("(corrupted)" in r.name for r in s.rooms), WAIT)

    alice.send(c.CreateRoom(root_id, "Music"))
    state = bob.wait_for(
        lambda s: (
            s.resync_count == 1
            and s.find_room("Music") is not None
            and not any("(corrupted)" in r.name for r in s.rooms)
        ),
        WAIT,
    )
    assert shape(state) == shape(alice.wait_for(lambda s: s.find_room("Music") is not None, WAIT))
    assert alice.state().resync_count == 0


def test_chat_both_ways(make_backend: Backends, server: Any, tmp_path: Path) -> None:
    alice = make_backend(tmp_path / "alice")
    bob = make_backend(tmp_path / "bob")
    room = connect(alice, server, "alice").my_room_id
    connect(bob, server, "bob")

    alice.send(c.SendChat("hello bob"))
    line = bob.wait_for(lambda s: any(ln.text == "hello bob" for ln in s.chat), WAIT).chat[-1]
    assert line.sender_name == "alice" and line.room_id == room and not line.local
    assert line.server_time_ms > 0
    bob.send(c.SendChat("hi alice"))
    state = alice.wait_for(lambda s: any(ln.text == "hi alice" for ln in s.chat), WAIT)
    assert [ln.text for ln in state.chat if not ln.local] == ["hello bob", "hi alice"]
    assert room is not None and len([ln for ln in state.chat_in(room) if not ln.local]) == 2


def test_server_refusals_become_error_notices_naming_the_command(
    make_backend: Backends, server: Any, tmp_path: Path
) -> None:
    alice = make_backend(tmp_path / "alice")
    state = connect(alice, server, "alice")
    assert isinstance(state.connection, Connected)
    root_id = state.connection.root_room_id

    cases: list[tuple[c.Command, str]] = [
        (c.DeleteRoom(root_id), "ROOT_ROOM"),
        (c.JoinRoom(9999), "UNKNOWN_ROOM"),
        (c.JoinRoom(root_id), "ALREADY_IN_ROOM"),
        (c.RenameRoom(9999, "x"), "UNKNOWN_ROOM"),
        (c.SendChat("x" * (state.connection.max_chat_length + 1)), "CHAT_TOO_LONG"),
    ]
    for command, code in cases:
        before = alice.state().errors[-1].id if alice.state().errors else 0
        alice.send(command)
        notice = alice.wait_for(
            lambda s, before=before: bool(s.errors) and s.errors[-1].id > before, WAIT
        ).errors[-1]
        assert (notice.code, notice.command) == (code, type(command).__name__)
        assert notice.message  # the server's sentence, shown as is
    assert alice.state().is_connected  # refusals do not end the connection


def test_server_going_away_gives_connection_lost_with_the_reason(
    make_backend: Backends, server: Any, tmp_path: Path
) -> None:
    alice = make_backend(tmp_path / "alice")
    connect(alice, server, "alice")
    server.stop()
    state = alice.wait_for(lambda s: isinstance(s.connection, ConnectionLost), WAIT)
    assert isinstance(state.connection, ConnectionLost)
    assert "server" in state.connection.error
    assert state.rooms == () and state.my_user_id is None
    assert not state.audio.is_transmitting
    # Reconnecting is the front end's decision: the backend stays where it is.
    alice.send(c.SendChat("anyone?"))
    assert alice.wait_for(lambda s: bool(s.errors), WAIT).errors[-1].code == "NOT_CONNECTED"
    assert isinstance(alice.state().connection, ConnectionLost)


def test_same_key_connecting_elsewhere_ends_the_first_session(
    make_backend: Backends, server: Any, tmp_path: Path
) -> None:
    shared = tmp_path / "same-identity"
    first = make_backend(shared)
    connect(first, server, "alice")
    second = make_backend(shared)
    connect(second, server, "alice")
    state = first.wait_for(lambda s: isinstance(s.connection, ConnectionLost), WAIT)
    assert isinstance(state.connection, ConnectionLost)
    assert second.state().is_connected


def test_wrong_password_is_refused_with_the_servers_sentence(
    make_backend: Backends, server_factory: Servers, tmp_path: Path
) -> None:
    server = server_factory(password="sesame")
    alice = make_backend(tmp_path / "alice")
    state = connect(alice, server, "alice")
    assert isinstance(state.connection, ConnectionLost)
    assert "password" in state.connection.error
    notice = alice.wait_for(lambda s: bool(s.errors), WAIT).errors[-1]
    assert (notice.code, notice.command) == ("WRONG_PASSWORD", "Connect")

    alice.send(c.Connect(f"127.0.0.1:{server.port}", "alice", password="sesame"))
    alice.wait_for(lambda s: s.is_connected, WAIT)


def test_voice_datagrams_reach_the_other_clients_inbox(
    make_backend: Backends, server: Any, tmp_path: Path
) -> None:
    alice = make_backend(tmp_path / "alice")
    bob = make_backend(tmp_path / "bob")
    alice_id = connect(alice, server, "alice").my_user_id
    connect(bob, server, "bob")
    alice.wait_for(lambda s: len(s.users) == 2, WAIT)

    received: list[VoiceFrame] = []
    for sequence in range(50):  # datagrams may be lost; one arriving is enough
        alice.send_voice_frame_for_test(VoiceFrame(0, 0, sequence, b"\xf8\xff\xfe"))
        if bob.voice_inbox.wait(0.1):
            received = bob.voice_inbox.drain()
            break
    assert received, "no voice datagram arrived"
    assert received[0].sender_id == alice_id and received[0].opus == b"\xf8\xff\xfe"


# --- certificates -----------------------------------------------------------------------------


def test_first_use_prompt_accept_then_match_on_reconnect(
    make_backend: Backends, server: Any, tmp_path: Path
) -> None:
    config_dir = tmp_path / "alice"
    alice = make_backend(config_dir)
    address = f"127.0.0.1:{server.port}"
    alice.send(c.Connect(address, "alice"))
    state = alice.wait_for(lambda s: not isinstance(s.connection, Disconnected | Connected), WAIT)
    state = alice.wait_for(lambda s: isinstance(s.connection, AwaitingTrust), WAIT)
    assert isinstance(state.connection, AwaitingTrust)
    assert state.connection.fingerprint_text == format_fingerprint(server.fingerprint)
    assert state.connection.server_addr == address

    alice.send(c.AcceptCertificate())
    alice.wait_for(lambda s: s.is_connected and s.me is not None, WAIT)
    assert KnownServers(config_dir).pinned(address) == format_fingerprint(server.fingerprint)

    alice.send(c.Disconnect())
    alice.wait_for(lambda s: isinstance(s.connection, Disconnected), WAIT)
    seen: list[State] = []
    alice.subscribe(seen.append)
    alice.send(c.Connect(address, "alice"))
    alice.wait_for(lambda s: s.is_connected and s.me is not None, WAIT)
    assert not any(isinstance(s.connection, AwaitingTrust) for s in seen)


def test_rejecting_the_certificate_pins_nothing(
    make_backend: Backends, server: Any, tmp_path: Path
) -> None:
    config_dir = tmp_path / "alice"
    alice = make_backend(config_dir)
    address = f"127.0.0.1:{server.port}"
    alice.send(c.Connect(address, "alice"))
    alice.wait_for(lambda s: isinstance(s.connection, AwaitingTrust), WAIT)
    alice.send(c.RejectCertificate())
    alice.wait_for(lambda s: isinstance(s.connection, Disconnected), WAIT)
    assert KnownServers(config_dir).pinned(address) is None


def test_another_certificate_on_a_pinned_address_is_refused(
    make_backend: Backends, server_factory: Servers, tmp_path: Path
) -> None:
    first = server_factory("first")
    port = first.port
    alice = make_backend(tmp_path / "alice")
    connect(alice, first, "alice")
    first.stop()
    alice.wait_for(lambda s: isinstance(s.connection, ConnectionLost), WAIT)

    impostor = server_factory("impostor", port=port)  # same address, its own certificate
    assert impostor.fingerprint != first.fingerprint
    alice.send(c.Connect(f"127.0.0.1:{port}", "alice"))
    state = alice.wait_for(
        lambda s: isinstance(s.connection, ConnectionLost) and "pinned" in s.connection.error,
        WAIT,
    )
    assert isinstance(state.connection, ConnectionLost)
    assert format_fingerprint(first.fingerprint) in state.connection.error
    assert format_fingerprint(impostor.fingerprint) in state.connection.error


def test_certificate_from_a_trusted_ca_needs_no_pin(
    make_backend: Backends, server_factory: Servers, tmp_path: Path, h: Any
) -> None:
    bundle, ca_file = h.make_ca_signed_bundle(tmp_path)
    server = server_factory("ca-server", bundle=bundle)
    config_dir = tmp_path / "alice"
    alice = make_backend(config_dir)
    seen: list[State] = []
    alice.subscribe(seen.append)
    address = f"127.0.0.1:{server.port}"
    alice.send(c.Connect(address, "alice", ca_file=str(ca_file)))
    alice.wait_for(lambda s: s.is_connected and s.me is not None, WAIT)
    assert not any(isinstance(s.connection, AwaitingTrust) for s in seen)
    assert KnownServers(config_dir).pinned(address) is None

    # Without that CA the same certificate is just unknown: first-use prompt.
    alice.send(c.Connect(address, "alice"))
    alice.wait_for(lambda s: isinstance(s.connection, AwaitingTrust), WAIT)


def test_settings_and_pins_survive_a_backend_restart(
    make_backend: Backends, server: Any, tmp_path: Path
) -> None:
    config_dir = tmp_path / "alice"
    first = make_backend(config_dir)
    connect(first, server, "alice")
    first.send(c.SetOutputVolume(1.25))
    first.wait_for(lambda s: s.audio.output_volume == 1.25, WAIT)
    first.shutdown()

    second = make_backend(config_dir)
    state = second.state()
    assert state.config.last_server == f"127.0.0.1:{server.port}"
    assert state.config.display_name == "alice" and state.audio.output_volume == 1.25
    seen: list[State] = []
    second.subscribe(seen.append)
    second.send(c.Connect(state.config.last_server, state.config.display_name))
    second.wait_for(lambda s: s.is_connected and s.me is not None, WAIT)
    assert not any(isinstance(s.connection, AwaitingTrust) for s in seen)
