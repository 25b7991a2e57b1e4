"""Room chat history in ServerCore and the store: kept, limited, replayed on entry."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from voip_tests_core_harness import NOW, Harness, snapshot

from voip.proto import voip_pb2
from voip.protocol.permissions import EVERYONE, EVERYONE_DEFAULT, Perm
from voip.server.core import CoreSettings, ServerCore
from voip.server.history import DAY_MS, HistorySettings, RoomHistories
from voip.server.store import Store


def chat(h: Harness, sid: int, rid: int, text: str) -> None:
    answer = h.request(sid, rid, send_chat=voip_pb2.SendChat(text=text))
    assert answer.HasField("ack"), answer


def history_of(env_list: list[voip_pb2.Envelope]) -> list[voip_pb2.RoomHistory]:
    return [e.room_history for e in env_list if e.HasField("room_history")]


def test_a_member_entering_gets_the_recent_lines_once() -> None:
    h = Harness(ServerCore(CoreSettings(history=HistorySettings(sent_on_entry=3)), snapshot()))
    a = h.open(1, name="alice")
    assert history_of(a.take()) == []  # nothing said yet: no history envelope
    for i in range(5):
        chat(h, 1, 10 + i, f"line {i}")
    b = h.open(2, name="bob")
    welcome = b.inbox[0].welcome
    assert welcome.history_lines == 3
    histories = history_of(b.inbox)
    assert len(histories) == 1
    assert histories[0].room_id == 1
    assert [m.text for m in histories[0].messages] == ["line 2", "line 3", "line 4"]
    assert {m.sender_name for m in histories[0].messages} == {"alice"}
    # the history comes after the state and permissions it depends on
    kinds = b.kinds()
    assert kinds.index("room_history") > kinds.index("permissions")


def test_joining_a_room_sends_that_rooms_history_only() -> None:
    h = Harness()
    a, b = h.open(1, name="alice"), h.open(2, name="bob")
    assert h.request(1, 1, create_room=voip_pb2.CreateRoom(parent_id=1, name="side")).ack
    side = max(h.core.state.rooms)
    chat(h, 1, 2, "in the lobby")
    assert h.request(1, 3, join_room=voip_pb2.JoinRoom(room_id=side)).ack
    chat(h, 1, 4, "in the side room")
    b.take()
    assert h.request(2, 5, join_room=voip_pb2.JoinRoom(room_id=side)).ack
    (hist,) = history_of(b.take())
    assert hist.room_id == side and [m.text for m in hist.messages] == ["in the side room"]
    assert h.request(2, 6, join_room=voip_pb2.JoinRoom(room_id=1)).ack
    (hist,) = history_of(b.take())
    assert [m.text for m in hist.messages] == ["in the lobby"]
    assert a is not None


def test_no_history_without_the_text_permission() -> None:
    snap = replace(snapshot(), admin_token="tok")
    h = Harness(ServerCore(CoreSettings(), snap))
    h.open(1, name="admin")
    assert h.request(1, 1, redeem_admin_token=voip_pb2.RedeemAdminToken(token="tok")).ack
    chat(h, 1, 2, "secret plans")
    no_text = voip_pb2.AclEntry(
        role=EVERYONE,
        allow=int(EVERYONE_DEFAULT & ~Perm.TEXT),
        deny=int(Perm.TEXT),
        apply_here=True,
        apply_subs=True,
    )
    answer = h.request(1, 3, set_acl=voip_pb2.SetAcl(room_id=1, inherit=True, entries=[no_text]))
    assert answer.HasField("ack"), answer
    b = h.open(2, name="bob")
    assert b.kinds()[:3] == ["welcome", "server_state", "permissions"]
    assert history_of(b.inbox) == []
    default = voip_pb2.AclEntry(
        role=EVERYONE, allow=int(EVERYONE_DEFAULT), apply_here=True, apply_subs=True
    )
    answer = h.request(1, 4, set_acl=voip_pb2.SetAcl(room_id=1, inherit=True, entries=[default]))
    assert answer.HasField("ack"), answer
    d = h.open(4, name="dave")  # allowed again: dave sees it
    assert [m.text for m in history_of(d.inbox)[0].messages] == ["secret plans"]


def test_each_line_is_one_store_change_with_what_it_pushes_out() -> None:
    settings = HistorySettings(lines=3, max_bytes=1 << 20, days=0)
    h = Harness(ServerCore(CoreSettings(history=settings), snapshot()))
    h.open(1)
    h.persisted.clear()
    for i in range(5):
        chat(h, 1, i + 1, f"m{i}")
    changes = [p.change for p in h.persisted if p.change.chat]
    assert len(changes) == 5
    assert [c.chat[0].sequence for c in changes] == [1, 2, 3, 4, 5]
    assert [c.deleted_chat for c in changes] == [(), (), (), ((1, 1),), ((1, 2),)]
    assert h.core.history.lines_in(1) == 3


def test_byte_and_age_limits() -> None:
    hist = RoomHistories(HistorySettings(lines=100, max_bytes=10, days=1, sent_on_entry=100))
    t0 = int(NOW * 1000)

    def msg(text: str, at: int) -> voip_pb2.ChatMessage:
        return voip_pb2.ChatMessage(sender_id=1, room_id=1, text=text, server_time_ms=at)

    hist.add(msg("12345", t0))
    hist.add(msg("678", t0))
    change = hist.add(msg("abcd", t0))  # 12 bytes > 10: the oldest goes
    assert change is not None and change.deleted_chat == ((1, 1),)
    assert [r.text for r in hist.recent(1, t0)] == ["678", "abcd"]
    # a day and a bit later nothing is sent, and the next line expires the old ones
    later = t0 + DAY_MS + 1
    assert hist.recent(1, later) == []
    change = hist.add(msg("new", later))
    assert change is not None and change.deleted_chat == ((1, 2), (1, 3))
    off = RoomHistories(HistorySettings(lines=0))
    assert off.add(msg("x", t0)) is None and off.recent(1, t0) == []


def test_the_store_keeps_history_across_a_restart_and_drops_it_with_the_room(
    tmp_path: Path,
) -> None:
    store = Store.open(tmp_path)
    snap = store.load("Lobby")
    core = ServerCore(CoreSettings(), snap)
    h = Harness(core)
    h.open(1, name="alice")
    assert h.request(1, 1, create_room=voip_pb2.CreateRoom(parent_id=1, name="side")).ack
    side = max(core.state.rooms)
    chat(h, 1, 2, "kept in the lobby")
    assert h.request(1, 3, join_room=voip_pb2.JoinRoom(room_id=side)).ack
    chat(h, 1, 4, "kept in side")
    for p in h.persisted:
        store.write(p.change)
    store.close()

    store = Store.open(tmp_path)
    snap = store.load("Lobby")
    assert sorted((c.room_id, c.text) for c in snap.chat) == [
        (1, "kept in the lobby"),
        (side, "kept in side"),
    ]
    h2 = Harness(ServerCore(CoreSettings(), snap))
    b = h2.open(5, name="bob")
    (hist,) = history_of(b.inbox)
    assert [m.text for m in hist.messages] == ["kept in the lobby"]
    # a new line continues the room's sequence instead of overwriting line 1
    chat(h2, 5, 1, "after the restart")
    new = [p.change for p in h2.persisted if p.change.chat]
    assert new[0].chat[0].sequence == 2
    for p in h2.persisted:
        store.write(p.change)
    # alice created the side room, so she may delete it: its history goes with it
    h2.open(7, name="alice", key=h.peers[1].key)
    answer = h2.request(7, 1, delete_room=voip_pb2.DeleteRoom(room_id=side))
    assert answer.HasField("ack"), answer
    for p in h2.persisted[-3:]:
        store.write(p.change)
    store.close()
    store = Store.open(tmp_path)
    assert sorted(c.text for c in store.load("Lobby").chat) == [
        "after the restart",
        "kept in the lobby",
    ]
    store.close()
