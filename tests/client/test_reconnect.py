"""The reconnect helper's rules, clock-free: back-off, giving up, rejoining the room."""

from __future__ import annotations

from voip.client.commands import Connect, JoinRoom
from voip.client.reconnect import Reconnector, delay_for
from voip.client.state import (
    Connected,
    Connecting,
    ConnectionLost,
    Disconnected,
    RoomView,
    State,
    UserView,
)

CONNECT = Connect("srv:7731", "alice", "pw")
ROOMS = (RoomView(1, "Root", 0, 0), RoomView(5, "Ops", 1, 1))


def connected(room: int = 5, rooms: tuple[RoomView, ...] = ROOMS) -> State:
    users = (UserView(9, "alice", room, is_me=True),)
    return State(connection=Connected("s", 9, "srv:7731"), rooms=rooms, users=users,
                 my_user_id=9, my_room_id=room)


def lost(error: str = "the server stopped answering") -> State:
    return State(connection=ConnectionLost(error, "srv:7731"))


def test_back_off_doubles_to_thirty_seconds() -> None:
    assert [delay_for(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 30, 30, 30]


def test_a_lost_connection_is_retried_with_back_off_and_rejoins_the_room() -> None:
    r = Reconnector()
    r.connected_with(CONNECT)
    assert r.observe(connected(), 0.0) == [] and not r.active
    r.observe(lost(), 10.0)
    assert r.active and r.attempt == 1 and r.seconds_left(10.0) == 1.0
    assert r.tick(10.5) == []
    assert r.tick(11.0) == [CONNECT]
    r.observe(lost(), 11.01)  # the old snapshot, before the attempt shows: not a failure
    assert r.attempt == 1 and r.due is None
    r.observe(State(connection=Connecting("srv:7731")), 11.1)
    r.observe(lost("no answer"), 13.6)
    assert r.attempt == 2 and r.seconds_left(13.6) == 2.0
    assert r.tick(15.6) == [CONNECT]
    r.observe(State(connection=Connecting("srv:7731")), 15.7)
    # In again, in the root room: ask for Ops back (by id).
    assert r.observe(connected(room=1), 16.0) == [JoinRoom(5)]
    assert not r.active and r.attempt == 0
    assert r.observe(connected(room=5), 16.1) == []


def test_the_room_is_found_by_name_when_its_id_changed() -> None:
    r = Reconnector()
    r.connected_with(CONNECT)
    r.observe(connected(), 0.0)
    r.observe(lost(), 1.0)
    r.tick(2.0)
    r.observe(State(connection=Connecting("srv:7731")), 2.1)
    rooms = (RoomView(1, "Root", 0, 0), RoomView(8, "Ops", 1, 1))
    assert r.observe(connected(room=1, rooms=rooms), 3.0) == [JoinRoom(8)]


def test_kicked_banned_or_replaced_is_not_retried_and_cancel_stops() -> None:
    for reason in ("the server closed the connection: you were kicked by bob",
                   "you are banned until ...",
                   "you connected again from somewhere else; this session is closed"):
        r = Reconnector()
        r.connected_with(CONNECT)
        r.observe(connected(), 0.0)
        r.observe(lost(reason), 1.0)
        assert not r.active and r.due is None, reason
    r = Reconnector()
    r.connected_with(CONNECT)
    r.observe(connected(), 0.0)
    r.observe(lost(), 1.0)
    r.cancel()
    assert r.tick(100.0) == [] and not r.active
    # The user's own disconnect is not a loss to retry.
    r.observe(connected(), 200.0)
    r.observe(State(connection=Disconnected()), 201.0)
    assert r.tick(300.0) == [] and not r.active


def test_nothing_to_retry_before_a_first_connection() -> None:
    r = Reconnector()
    r.observe(lost(), 1.0)
    assert not r.active and r.tick(5.0) == []
    r.connected_with(CONNECT)
    r.observe(lost("no answer"), 2.0)  # never connected: the user decides (Try again)
    assert not r.active
