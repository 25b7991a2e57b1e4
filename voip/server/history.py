"""Room chat history: what each room said, kept within limits, replayed on entry.

A client that joins a room (or reconnects) would otherwise see nothing said
before. The server keeps each room's recent lines in memory (`RoomHistories`)
and mirrors them in LevelDB, one WriteBatch per message: the new line and the
lines it pushes past the retention limits (count, bytes, age) go together, so
the disk never holds more than the limits allow, even after a crash.

Entering a room sends its last `HistorySettings.sent_on_entry` lines as one
`RoomHistory` envelope, but only to a member who holds ``TEXT`` there: a room
where someone may not take part in the chat does not show them its past
(docs/PERMISSIONS.md, "Room history").
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from voip.proto import voip_pb2
from voip.protocol.permissions import Perm
from voip.server.access import CoreView
from voip.server.actions import Action, Persist, Send
from voip.server.records import ChatRecord, StoreChange

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class HistorySettings:
    #: Lines kept per room; 0 keeps nothing (history off).
    lines: int = 500
    #: UTF-8 bytes of text kept per room (the oldest go first).
    max_bytes: int = 512 * 1024
    #: Lines older than this are dropped; 0 keeps them regardless of age.
    days: float = 30.0
    #: Lines sent to a member entering the room (at most `lines`).
    sent_on_entry: int = 50

    def check(self) -> HistorySettings:
        if self.lines < 0 or self.max_bytes < 0 or self.days < 0 or self.sent_on_entry < 0:
            raise ValueError("history limits must not be negative")
        return self


class RoomHistories:
    """Every room's retained lines, oldest first, with the next sequence number per room."""

    def __init__(self, settings: HistorySettings, records: Iterable[ChatRecord] = ()) -> None:
        self.settings = settings
        self._rooms: dict[int, deque[ChatRecord]] = {}
        self._bytes: dict[int, int] = {}
        self._next_sequence: dict[int, int] = {}
        for record in sorted(records, key=lambda r: (r.room_id, r.sequence)):
            self._rooms.setdefault(record.room_id, deque()).append(record)
            self._bytes[record.room_id] = self._bytes.get(record.room_id, 0) + record.size
            self._next_sequence[record.room_id] = record.sequence + 1

    def add(self, message: voip_pb2.ChatMessage) -> StoreChange | None:
        """Keep a relayed line; the store change to write, or None with history off."""
        if self.settings.lines == 0:
            return None
        room_id = message.room_id
        record = ChatRecord(
            room_id=room_id,
            sequence=self._next_sequence.get(room_id, 1),
            sender_id=message.sender_id,
            sender_name=message.sender_name,
            text=message.text,
            server_time_ms=message.server_time_ms,
        )
        self._next_sequence[room_id] = record.sequence + 1
        lines = self._rooms.setdefault(room_id, deque())
        lines.append(record)
        self._bytes[room_id] = self._bytes.get(room_id, 0) + record.size
        expired = self._expire(room_id, message.server_time_ms)
        return StoreChange(chat=(record,), deleted_chat=expired, reason="chat line")

    def recent(self, room_id: int, now_ms: int) -> list[ChatRecord]:
        """The lines a member entering `room_id` now is sent (oldest first)."""
        count = min(self.settings.sent_on_entry, self.settings.lines)
        if count == 0:
            return []
        oldest = self._oldest_kept_ms(now_ms)
        lines = [r for r in self._rooms.get(room_id, ()) if r.server_time_ms >= oldest]
        return lines[-count:]

    def forget_room(self, room_id: int) -> None:
        """The room was deleted; the store drops its lines with the room (same batch)."""
        self._rooms.pop(room_id, None)
        self._bytes.pop(room_id, None)

    def lines_in(self, room_id: int) -> int:
        return len(self._rooms.get(room_id, ()))

    def _oldest_kept_ms(self, now_ms: int) -> int:
        return 0 if self.settings.days == 0 else now_ms - int(self.settings.days * DAY_MS)

    def _expire(self, room_id: int, now_ms: int) -> tuple[tuple[int, int], ...]:
        lines = self._rooms[room_id]
        oldest = self._oldest_kept_ms(now_ms)
        dropped: list[tuple[int, int]] = []
        while lines and (
            len(lines) > self.settings.lines
            or self._bytes[room_id] > self.settings.max_bytes
            or lines[0].server_time_ms < oldest
        ):
            gone = lines.popleft()
            self._bytes[room_id] -= gone.size
            dropped.append((room_id, gone.sequence))
        return tuple(dropped)


def history_envelope(room_id: int, lines: list[ChatRecord]) -> voip_pb2.Envelope:
    return voip_pb2.Envelope(
        room_history=voip_pb2.RoomHistory(
            room_id=room_id, messages=[line.to_proto() for line in lines]
        )
    )


class HistoryHandlers(CoreView):
    """Keeping relayed chat and replaying it on entry (a mixin of `ServerCore`)."""

    history: RoomHistories

    def _record_chat(self, message: voip_pb2.ChatMessage) -> list[Action]:
        change = self.history.add(message)
        return [Persist(change)] if change is not None else []

    def _entered(self, s: Any, room_id: int, now: float) -> list[Action]:
        """`s` is now in `room_id` (joined, moved, or just authenticated)."""
        if not s.perms.get(room_id, Perm(0)) & Perm.TEXT:
            return []
        lines = self.history.recent(room_id, int(now * 1000))
        files = self._files_in(room_id)
        if not lines and not files:
            return []
        envelope = history_envelope(room_id, lines)
        envelope.room_history.files.extend(files)
        return [Send(s.id, envelope)]

    def _files_in(self, room_id: int) -> list[voip_pb2.SharedFile]:
        """Files still shared in the room (the sharing mixin overrides this)."""
        return []
