"""Automatic reconnect with back-off, and back into the room you were in.

The backend connects once per `Connect` (single-shot, as the design says);
trying again is the front end's decision. A `Reconnector` is the front
ends' shared helper for it (the window and `voip-bot --reconnect`): it
watches the connection in the snapshots and says what to send when
(clock-free: every entry takes `now`):

- a connection that was up and is lost (the server stopped, the network
  went away) is tried again after 1, 2, 4, 8, 16, then every 30 s;
- a loss that trying again would not fix or would make worse is not
  retried: kicked, banned, or the same key connected from elsewhere;
- once connected again, it asks to rejoin the room you were in (by id, or
  by name if the room was recreated), then the back-off starts over;
- `cancel` (the user's Disconnect or "Stop") ends it.
"""

from __future__ import annotations

from dataclasses import dataclass

from voip.client.commands import Command, Connect, JoinRoom
from voip.client.state import Connected, Connecting, ConnectionLost, State

DELAYS = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
#: Words of a loss that another attempt would not mend.
FINAL = ("kicked", "banned", "somewhere else", "another session", "certificate")


def delay_for(attempt: int) -> float:
    """Seconds before attempt `attempt` (1-based): 1, 2, 4 ... 30, then 30."""
    return DELAYS[min(attempt, len(DELAYS)) - 1]


@dataclass(slots=True)
class Reconnector:
    #: What to connect with (the last Connect that succeeded).
    connect: Connect | None = None
    room_id: int | None = None
    room_name: str = ""
    attempt: int = 0
    due: float | None = None  # when the next attempt is sent; None: not reconnecting
    rejoin: bool = False  # connected again: the room is still to be asked for
    reason: str = ""
    _was_connected: bool = False
    #: An attempt was sent and the backend has shown it connecting: its failure counts.
    _trying: bool = False

    @property
    def active(self) -> bool:
        """Between a loss and the next connection (or giving up)."""
        return self.attempt > 0 and not self._was_connected

    def connected_with(self, command: Connect) -> None:
        """The user's own Connect: what to reconnect with later."""
        self.connect = command
        self.cancel()

    def cancel(self) -> None:
        self.due = None
        self.attempt = 0
        self.rejoin = False
        self._trying = False

    def seconds_left(self, now: float) -> float | None:
        return None if self.due is None else max(0.0, self.due - now)

    def observe(self, state: State, now: float) -> list[Command]:
        """Follow the connection in a snapshot; returns what to send now."""
        out: list[Command] = []
        connection = state.connection
        if isinstance(connection, Connected):
            if not self._was_connected and self.attempt > 0:
                self.rejoin = True
            self._was_connected = True
            self.due = None
            if self.rejoin and state.me is not None:
                out += self._rejoin(state)
            elif state.my_room_id is not None:
                room = state.room(state.my_room_id)
                self.room_id = state.my_room_id
                self.room_name = room.name if room is not None else ""
        elif isinstance(connection, ConnectionLost):
            if self.connect is None:
                return out
            lost_live = self._was_connected
            self._was_connected = False
            if lost_live or self._trying:
                self._trying = False
                if any(word in connection.error.lower() for word in FINAL):
                    self.cancel()
                    self.reason = connection.error
                    return out
                self.attempt += 1
                self.reason = connection.error
                self.due = now + delay_for(self.attempt)
        elif isinstance(connection, Connecting):
            if self.attempt > 0:
                self._trying = True
        else:
            # Disconnected (the user's choice) or awaiting trust: not ours to retry.
            self._was_connected = False
            if self.due is not None:
                self.cancel()
        return out

    def tick(self, now: float) -> list[Command]:
        """At the due time: the Connect to send."""
        if self.due is None or now < self.due or self.connect is None:
            return []
        self.due = None
        return [self.connect]

    def _rejoin(self, state: State) -> list[Command]:
        self.rejoin = False
        self.attempt = 0
        target = state.room(self.room_id) if self.room_id is not None else None
        if target is None or (self.room_name and target.name != self.room_name):
            target = state.find_room(self.room_name) if self.room_name else None
        if target is None or target.id == state.my_room_id:
            return []
        return [JoinRoom(target.id)]
