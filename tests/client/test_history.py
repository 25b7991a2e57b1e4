"""Room history through real servers and backends: shown on entry, kept across a restart."""

from __future__ import annotations

import runpy
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from voip.client import commands as c
from voip.client.core import events as ev
from voip.client.model import ClientModel
from voip.client.state import Connected
from voip.proto import voip_pb2

WAIT = 15.0
Backends = Callable[..., Any]
_SUPPORT = Path(__file__).resolve().parents[1] / "support"
backends = SimpleNamespace(**runpy.run_path(str(_SUPPORT / "backends.py")))


def connect(backend: Any, server: Any, name: str) -> None:
    backends.connect_trusting(backend, f"127.0.0.1:{server.port}", name, WAIT)


def test_a_new_member_sees_the_last_lines_and_a_restart_keeps_them(
    make_backend: Backends, server_factory: Any, tmp_path: Path
) -> None:
    server = server_factory("srv")
    alice = make_backend(tmp_path / "alice")
    connect(alice, server, "alice")
    for text in ("first", "second", "third"):
        alice.send(c.SendChat(text))
    alice.wait_for(lambda s: [x.text for x in s.chat if not x.local][-1:] == ["third"], WAIT)

    bob = make_backend(tmp_path / "bob")
    connect(bob, server, "bob")
    state = bob.wait_for(lambda s: len([x for x in s.chat if x.from_history]) == 3, WAIT)
    lines = [x for x in state.chat if x.from_history]
    assert [(x.sender_name, x.text) for x in lines] == [
        ("alice", "first"),
        ("alice", "second"),
        ("alice", "third"),
    ]
    assert all(x.room_id == state.my_room_id for x in lines)
    bob.send(c.Disconnect())
    alice.send(c.Disconnect())
    server.stop()

    again = server_factory("srv")  # same data dir, a new process state
    carol = make_backend(tmp_path / "carol")
    connect(carol, again, "carol")
    state = carol.wait_for(lambda s: len([x for x in s.chat if x.from_history]) == 3, WAIT)
    assert [x.text for x in state.chat if x.from_history] == ["first", "second", "third"]


def test_the_model_merges_history_without_repeating_lines() -> None:
    model = ClientModel()
    model.set_connection(Connected("srv", 1, "127.0.0.1:1", 1, 5000))
    live = voip_pb2.ChatMessage(
        sender_id=2, sender_name="b", room_id=1, text="b", server_time_ms=200
    )
    model.apply(ev.ChatReceived(live))
    older = voip_pb2.ChatMessage(
        sender_id=3, sender_name="a", room_id=1, text="a", server_time_ms=100
    )
    history = voip_pb2.RoomHistory(room_id=1, messages=[older, live])
    model.apply(ev.HistoryReceived(history))
    model.apply(ev.HistoryReceived(history))  # a reconnect sends it again
    texts = [(x.text, x.from_history) for x in model.snapshot.chat if not x.local]
    assert texts == [("a", True), ("b", False)]
