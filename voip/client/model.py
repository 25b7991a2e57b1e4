"""The state owner's logic, without the actor: events in, `State` snapshots out.

Kept free of threads and sockets so it is tested directly: the actor in
`state_actor.py` only calls these methods and publishes `snapshot`.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import replace
from types import MappingProxyType

from google.protobuf.message import Message

from voip.client import connection_events as ce
from voip.client.access_state import AccessState, access_answer
from voip.client.connection_events import ConnectionEvent
from voip.client.core import events as ev
from voip.client.state import (
    MAX_CHAT_LINES,
    MAX_ERRORS,
    AudioState,
    AwaitingTrust,
    ChatLine,
    ConfigView,
    Connected,
    Connecting,
    ConnectionLost,
    ConnectionState,
    Disconnected,
    ErrorNotice,
    LocalErrorCode,
    RoomView,
    SharedFileView,
    State,
    TransferView,
    UserView,
)
from voip.errors import InvalidUpdate, StateHashMismatch
from voip.proto import voip_pb2
from voip.protocol.state import ROOT_PARENT, Room, StateModel, UserInfo, apply_update, state_hash

log = logging.getLogger(__name__)


def room_views(rooms: Iterable[Room]) -> tuple[RoomView, ...]:
    """Rooms in tree order (depth first, siblings by name then id) with their depth."""
    by_parent: dict[int, list[Room]] = {}
    all_rooms = list(rooms)
    ids = {r.id for r in all_rooms}
    for room in all_rooms:
        parent = room.parent_id if room.parent_id in ids else ROOT_PARENT
        by_parent.setdefault(parent, []).append(room)
    for siblings in by_parent.values():
        siblings.sort(key=lambda r: (r.name.casefold(), r.id))
    out: list[RoomView] = []
    seen: set[int] = set()

    def walk(parent: int, depth: int) -> None:
        for room in by_parent.get(parent, ()):
            if room.id in seen:
                continue  # a cycle would be a server bug; never loop on it
            seen.add(room.id)
            out.append(RoomView(room.id, room.name, room.parent_id, depth))
            walk(room.id, depth + 1)

    walk(ROOT_PARENT, 0)
    return tuple(out)


def user_views(
    users: Iterable[UserInfo], my_user_id: int | None, talking: frozenset[int]
) -> tuple[UserView, ...]:
    ordered = sorted(users, key=lambda u: (u.name.casefold(), u.id))
    return tuple(
        UserView(
            u.id,
            u.name,
            u.room_id,
            talking=u.id in talking,
            is_me=u.id == my_user_id,
            roles=u.roles,
            self_mute=u.self_mute,
            self_deaf=u.self_deaf,
            server_mute=u.server_mute,
            server_deaf=u.server_deaf,
        )
        for u in ordered
    )


class ClientModel:
    """Everything the state owner knows; `snapshot` is the published view of it."""

    def __init__(
        self,
        config: ConfigView | None = None,
        audio: AudioState | None = None,
    ) -> None:
        self._connection: ConnectionState = State().connection
        self._server = StateModel()
        self._my_user_id: int | None = None
        self._chat: deque[ChatLine] = deque(maxlen=MAX_CHAT_LINES)
        self._files: dict[bytes, SharedFileView] = {}
        self._transfers: tuple[TransferView, ...] = ()
        self._errors: deque[ErrorNotice] = deque(maxlen=MAX_ERRORS)
        self._next_error_id = 1
        self._audio = audio if audio is not None else AudioState()
        self._config = config if config is not None else ConfigView()
        self._awaiting_resync = False
        self._resync_count = 0
        self._version = 0
        self._rooms_cache: tuple[StateModel, tuple[RoomView, ...]] | None = None
        self._access = AccessState()
        self._snapshot = self._build()

    # --- reading ---------------------------------------------------------------------

    @property
    def snapshot(self) -> State:
        return self._snapshot

    @property
    def server_model(self) -> StateModel:
        return self._server

    @property
    def awaiting_resync(self) -> bool:
        return self._awaiting_resync

    # --- events ----------------------------------------------------------------------

    def connection_event(self, event: ConnectionEvent) -> None:
        """What the connection side reported, as the `ConnectionState` a front end draws."""
        match event:
            case ce.ConnectStarted(server_addr=addr):
                self.set_connection(Connecting(addr))
            case ce.TrustAsked(server_addr=addr, fingerprint_text=text, reason=reason):
                self.set_connection(AwaitingTrust(addr, text, reason))
            case ce.SessionWelcomed(server_addr=addr, welcome=welcome, certificate_note=note):
                self.set_connection(
                    Connected(
                        server_name=welcome.server_name,
                        user_id=welcome.user_id,
                        server_addr=addr,
                        root_room_id=welcome.root_room_id,
                        max_chat_length=welcome.max_chat_length,
                        motd=welcome.motd,
                        certificate_note=note,
                    )
                )
            case ce.SessionLost(reason=reason, server_addr=addr):
                self.set_connection(ConnectionLost(reason, addr))
            case ce.SessionClosed():
                self.set_connection(Disconnected())

    def set_connection(self, connection: ConnectionState) -> None:
        """Record a connection change; leaving Connected forgets the server's state."""
        if connection == self._connection:
            return
        was_connected = isinstance(self._connection, Connected)
        self._connection = connection
        if isinstance(connection, Connected):
            self._my_user_id = connection.user_id
            self._local_line(f"Connected to {connection.server_name}.")
            if connection.certificate_note:
                note = connection.certificate_note
                self._local_line(note[:1].upper() + note[1:] + ".")
        else:
            self._my_user_id = None
            self._server = StateModel()
            self._access = AccessState()
            self._awaiting_resync = False
            if was_connected and isinstance(connection, ConnectionLost):
                self._local_line(f"Connection lost: {connection.error}")
        self._changed()

    def apply(self, event: ev.CoreEvent) -> bool:
        """Apply a core event; True when the caller must send a resync request.

        Events that change nothing a front end shows are ignored here.
        """
        match event:
            case ev.StateSnapshot(state=message, state_hash=digest):
                self.server_state(message, digest)
            case ev.StateUpdated(update=update, state_hash=digest):
                return self.state_update(update, digest)
            case ev.ChatReceived(message=message):
                self.chat(message)
            case ev.HistoryReceived(history=history):
                self.history(history)
                for f in history.files:
                    self.file_offered(f, announce=False)
            case ev.FileOffered(file=shared):
                self.file_offered(shared, announce=True)
            case ev.PermissionsReceived(permissions=message):
                self.access_message(message)
            case ev.RequestAcked(reply=reply) if reply is not None:
                self.access_message(reply)  # the answer to a moderation query
        return False

    def server_state(self, message: voip_pb2.ServerState, expected_hash: bytes) -> None:
        """A full snapshot (after Welcome, or answering our resync request)."""
        model = StateModel.from_proto(message)
        actual = state_hash(model)
        if expected_hash and actual != expected_hash:
            # Not a reason to loop on resyncs: keep it, tell the user, and the next
            # update's hash check decides.
            log.error(
                "full state hash %s differs from server's %s", actual.hex(), expected_hash.hex()
            )
            self.add_error(
                LocalErrorCode.PROTOCOL,
                "the server's full state does not match its own hash; the room list may "
                "be wrong. Reconnect, and report this if it repeats",
                "",
            )
        self._server = model
        self._awaiting_resync = False
        self._changed()

    def state_update(self, update: voip_pb2.StateUpdate, expected_hash: bytes) -> bool:
        """Apply one update; True when the caller must send a resync request.

        While a resync is pending, updates are dropped: the snapshot that
        answers it already contains them.
        """
        if self._awaiting_resync:
            return False
        try:
            self._server = apply_update(self._server, update, expected_hash)
        except (StateHashMismatch, InvalidUpdate) as exc:
            log.warning("state diverged from the server (%s); asking for a resync", exc)
            self._awaiting_resync = True
            self._resync_count += 1
            self._changed()
            return True
        self._changed()
        return False

    def chat(self, message: voip_pb2.ChatMessage) -> None:
        self._chat.append(
            ChatLine(
                sender_id=message.sender_id,
                sender_name=message.sender_name,
                room_id=message.room_id,
                text=message.text,
                server_time_ms=message.server_time_ms,
            )
        )
        self._changed()

    def history(self, history: voip_pb2.RoomHistory) -> None:
        """Merge a room's past lines, oldest first, without repeating lines already shown.

        A client that reconnects already holds some of them; a line is the same
        line when sender, room, server time and text agree.
        """
        seen = {_line_key(c) for c in self._chat if not c.local}
        past = [
            ChatLine(
                sender_id=m.sender_id,
                sender_name=m.sender_name,
                room_id=m.room_id,
                text=m.text,
                server_time_ms=m.server_time_ms,
                from_history=True,
            )
            for m in history.messages
        ]
        new = [line for line in past if _line_key(line) not in seen]
        if not new:
            return
        merged = sorted([*new, *self._chat], key=lambda c: c.server_time_ms)
        self._chat = deque(merged[-MAX_CHAT_LINES:], maxlen=MAX_CHAT_LINES)
        self._changed()

    def file_offered(self, shared: voip_pb2.SharedFile, *, announce: bool) -> None:
        """A file in a room; a chat line names it (`announce`: it was just offered)."""
        view = SharedFileView(
            info_hash=bytes(shared.info_hash),
            name=shared.name,
            size=shared.size,
            room_id=shared.room_id,
            sharer_id=shared.sharer_id,
            sharer_name=shared.sharer_name,
            server_time_ms=shared.server_time_ms,
            server_seeds=shared.server_seeds,
        )
        known = view.info_hash in self._files
        self._files[view.info_hash] = view
        if announce or not known:
            line = ChatLine(
                sender_id=view.sharer_id,
                sender_name=view.sharer_name,
                room_id=view.room_id,
                text=f"shared {view.name} ({format_size(view.size)})",
                server_time_ms=view.server_time_ms,
                from_history=not announce,
                file_hash=view.info_hash,
            )
            if _line_key(line) not in {_line_key(c) for c in self._chat if not c.local}:
                merged = sorted([*self._chat, line], key=lambda c: c.server_time_ms)
                self._chat = deque(merged[-MAX_CHAT_LINES:], maxlen=MAX_CHAT_LINES)
        self._changed()

    def set_transfers(self, transfers: tuple[TransferView, ...]) -> None:
        if transfers != self._transfers:
            self._transfers = transfers
            self._changed()

    def add_error(self, code: str, message: str, command: str) -> ErrorNotice:
        notice = ErrorNotice(self._next_error_id, str(code), message, command)
        self._next_error_id += 1
        self._errors.append(notice)
        self._local_line(f"{command + ' failed: ' if command else ''}{message}")
        self._changed()
        return notice

    def dismiss_error(self, error_id: int) -> None:
        kept = [e for e in self._errors if e.id != error_id]
        if len(kept) != len(self._errors):
            self._errors = deque(kept, maxlen=MAX_ERRORS)
            self._changed()

    def set_audio(self, audio: AudioState) -> None:
        if audio != self._audio:
            self._audio = audio
            self._changed()

    def set_config(self, config: ConfigView) -> None:
        if config != self._config:
            self._config = config
            self._changed()

    def corrupt_for_test(self) -> None:
        """Make the local copy differ from the server's (tests force a resync with it)."""
        rooms = [
            Room(r.id, r.name + " (corrupted)", r.parent_id) for r in self._server.rooms.values()
        ]
        self._server = StateModel.build(rooms, self._server.users.values())
        self._changed()

    # --- building snapshots ------------------------------------------------------------

    def _local_line(self, text: str) -> None:
        self._chat.append(
            ChatLine(0, "", 0, text, server_time_ms=int(time.time() * 1000), local=True)
        )

    def access_message(self, message: Message) -> bool:
        """Permissions and the answers to moderation queries; False if not one of those."""
        updated = access_answer(self._access, message)
        if updated is None:
            return False
        self._access = updated
        self._changed()
        return True

    def _changed(self) -> None:
        self._version += 1
        self._snapshot = self._build()

    def _build(self) -> State:
        root = self._server.root_id or 0
        if self._access.root_room_id != root or set(self._access.permissions) - set(
            self._server.rooms
        ):
            kept = {r: p for r, p in self._access.permissions.items() if r in self._server.rooms}
            self._access = replace(
                self._access, root_room_id=root, permissions=MappingProxyType(kept)
            )
        if self._rooms_cache is None or self._rooms_cache[0] is not self._server:
            self._rooms_cache = (self._server, room_views(self._server.rooms.values()))
        rooms = self._rooms_cache[1]
        me = self._server.users.get(self._my_user_id) if self._my_user_id else None
        return State(
            version=self._version,
            connection=self._connection,
            rooms=rooms,
            users=user_views(
                self._server.users.values(), self._my_user_id, self._audio.talking_users
            ),
            my_user_id=self._my_user_id,
            my_room_id=me.room_id if me is not None else None,
            chat=tuple(self._chat),
            errors=tuple(self._errors),
            audio=self._audio,
            config=self._config,
            resync_count=self._resync_count,
            access=self._access,
            files=tuple(self._files.values()),
            transfers=self._transfers,
        )


def _line_key(line: ChatLine) -> tuple[int, int, int, str]:
    return (line.sender_id, line.room_id, line.server_time_ms, line.text)


def format_size(size: int) -> str:
    """Bytes as people read them: 512 B, 20.0 MB, 1.5 GB (powers of 1000)."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"
