"""The server's room/user logic, sans-I/O.

`ServerCore` takes events (a connection arrived, its control stream opened,
an Envelope arrived, it went away) and returns a list of actions in the
order they must happen: envelopes to send to a session, sessions to close,
changes to persist, and voice-route changes for the relay. It never touches a
socket, a thread, a clock or the disk, so tests drive it in microseconds and
the aioquic adapter stays a byte mover.

Ordering rules it guarantees: a state change goes to every authenticated
session (the requester included) before the requester's ack; an error goes
out before the close that follows it, and a close's reason phrase is the
error's (or goodbye's) message.

Abuse limits (`voip.server.limits`) are asked, not inlined: admission at
connect and hello, one bucket check before every request's handler, the
room-tree limits in the handlers that grow the tree.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from google.protobuf.unknown_fields import UnknownFieldSet

from voip.errors import ProtocolError
from voip.proto import voip_pb2
from voip.protocol.handshake import HandshakeFailure, HelloBinding, new_challenge, verify_hello
from voip.protocol.names import normalize_name
from voip.protocol.permissions import Perm, RoomAcl, creator_acl, default_root_acl
from voip.protocol.requests import REQUEST_KINDS
from voip.protocol.state import (
    ROOT_PARENT,
    Room,
    StateModel,
    UserInfo,
    apply_change,
    name_problem,
    state_hash,
)
from voip.protocol.voice import MAX_VOICE_DATAGRAM
from voip.server.access import ban_sentence
from voip.server.actions import (
    Action,
    Close,
    Persist,
    Route,
    Send,
    SessionId,
    error_envelope,
)
from voip.server.history import HistoryHandlers, HistorySettings, RoomHistories
from voip.server.limits import (
    AuthThrottle,
    Limits,
    RequestLimiter,
    admission_refusal,
    log_text,
)
from voip.server.loss_feedback import LossFeedbackHandlers
from voip.server.moderation import ModerationHandlers
from voip.server.records import AclRecord, BanRecord, Snapshot, StoreChange, UserRecord
from voip.server.session_state import (
    SessionEvent,
    SessionState,
    accepts_hello,
    accepts_requests,
    has_control_stream,
    next_state,
)
from voip.server.sharing import SharingHandlers, SharingSettings

logger = logging.getLogger(__name__)

__all__ = ["Action", "Close", "CoreSettings", "Persist", "Route", "Send", "ServerCore"]

DEFAULT_MAX_CHAT_LENGTH = 5000
DEFAULT_ROOT_NAME = "Lobby"



# --- configuration and per-session data -------------------------------------------


@dataclass(frozen=True, slots=True)
class CoreSettings:
    server_name: str = DEFAULT_ROOT_NAME
    password: str = ""
    max_chat_length: int = DEFAULT_MAX_CHAT_LENGTH
    max_datagram_size: int = MAX_VOICE_DATAGRAM
    motd: str = ""
    history: HistorySettings = field(default_factory=HistorySettings)
    limits: Limits = field(default_factory=Limits)
    #: Told to clients in Welcome for join links (docs/WEB.md); set by `set_web_join`.
    web_certificate_hashes: tuple[bytes, ...] = ()
    web_page: str = ""
    sharing: SharingSettings = field(default_factory=SharingSettings)


@dataclass(slots=True)
class _Session:
    id: SessionId
    cert_fingerprint: HelloBinding
    state: SessionState = SessionState.CONNECTED
    nonce: bytes = b""
    user_id: int = 0
    perms: dict[int, int] = field(default_factory=dict)  # room -> effective permissions
    route: tuple[int, bool, bool] | None = None  # last Route sent: room, speaks, hears
    address: str = ""  # the client's IP address, for the per-address limits
    requests: RequestLimiter | None = None


#: States of a session that has not authenticated yet (the pre-auth caps count them).
_UNAUTHENTICATED = frozenset({SessionState.CONNECTED, SessionState.CHALLENGED})


class ServerCore(ModerationHandlers, SharingHandlers, HistoryHandlers, LossFeedbackHandlers):
    """Rooms, users, sessions and the rules between them. Single-threaded."""

    def __init__(self, settings: CoreSettings, snapshot: Snapshot) -> None:
        self.settings = settings
        self._users: dict[int, UserRecord] = {u.id: u for u in snapshot.users}
        self._user_id_by_key: dict[bytes, int] = {u.public_key: u.id for u in snapshot.users}
        self._next_user_id = max(
            [snapshot.next_user_id, *(u.id + 1 for u in snapshot.users)], default=1
        )
        self._next_room_id = max(
            [snapshot.next_room_id, *(r.id + 1 for r in snapshot.rooms)], default=2
        )
        rooms = list(snapshot.rooms)
        self.state = StateModel.build(rooms)
        root = self.state.root_id
        if root is None:
            raise ProtocolError("the snapshot has no root room; the store must create one")
        self.root_id: int = root
        self._sessions: dict[SessionId, _Session] = {}
        self._session_of_user: dict[int, SessionId] = {}
        self._acls: dict[int, RoomAcl] = {a.room_id: a.acl for a in snapshot.acls}
        self._acls.setdefault(root, default_root_acl())  # the store writes it; tests may not
        self._roles: set[str] = set(snapshot.roles)
        self._bans: dict[bytes, BanRecord] = {b.public_key: b for b in snapshot.bans}
        self._admin_token: str = snapshot.admin_token
        self.history = RoomHistories(settings.history, snapshot.chat)
        self.limits = settings.limits
        self.auth_throttle = AuthThrottle(self.limits)
        #: Counters for metrics: refusals by reason, failed hellos and server
        #: closes by ErrorCode name, accepted hellos.
        self.refused: dict[str, int] = {}
        self.auth_failures: dict[str, int] = {}
        self.closes: dict[str, int] = {}
        self.authentications = 0
        self._loss_report_at: dict[SessionId, float] = {}  # last accepted loss report
        self._init_sharing(settings.sharing, snapshot.shares)

    # --- queries ---------------------------------------------------------------

    def session_state(self, session: SessionId) -> SessionState | None:
        s = self._sessions.get(session)
        return s.state if s is not None else None

    def user_of(self, session: SessionId) -> int | None:
        s = self._sessions.get(session)
        if s is None or s.state is not SessionState.AUTHENTICATED:
            return None
        return s.user_id

    def known_user(self, public_key: bytes) -> UserRecord | None:
        user_id = self._user_id_by_key.get(public_key)
        return self._users.get(user_id) if user_id is not None else None

    @property
    def sessions(self) -> list[SessionId]:
        return list(self._sessions)

    def set_web_join(self, certificate_hashes: tuple[bytes, ...], page: str) -> None:
        """What later Welcomes say about browsers (the web certificate was renewed)."""
        self.settings = replace(
            self.settings, web_certificate_hashes=certificate_hashes, web_page=page
        )

    # --- connection lifecycle ----------------------------------------------------

    def connect(
        self,
        session: SessionId,
        cert_fingerprint: HelloBinding,
        now: float = 0.0,
        address: str = "",
    ) -> list[Action]:
        """A QUIC connection from `address` finished its handshake, served with this certificate.

        Refused (a Close, no session) while the address is banned for failed
        hellos or the unauthenticated connections are at their caps.
        """
        if session in self._sessions:
            raise ValueError(f"session {session} already exists")
        waiting = [s.address for s in self._sessions.values() if s.state in _UNAUTHENTICATED]
        refusal = admission_refusal(self.limits, self.auth_throttle, waiting, address, now)
        if refusal is not None:
            reason, message = refusal
            self._count(self.refused, reason)
            code = voip_pb2.ADDRESS_BANNED if reason == "banned" else voip_pb2.SERVER_FULL
            return [Close(session, code, message)]
        self._sessions[session] = _Session(session, cert_fingerprint, address=address)
        return []

    def hello_deadline(self, session: SessionId, now: float) -> list[Action]:
        """The hello deadline passed: close the session unless it authenticated."""
        s = self._sessions.get(session)
        if s is None or s.state not in _UNAUTHENTICATED:
            return []
        self._count(self.refused, "hello_timeout")
        timeout = self.limits.hello_timeout
        logger.info("session %d: no hello within %g s; closed", session, timeout)
        message = f"no ClientHello within {timeout:g} s of connecting; the connection is closed"
        return self._close(s, voip_pb2.HELLO_TIMEOUT, message, SessionEvent.VIOLATION, now, True)

    def abort(self, session: SessionId, code: int, message: str, now: float) -> list[Action]:
        """Close a session that cannot be written to any more (no error envelope)."""
        s = self._sessions.get(session)
        if s is None or s.state is SessionState.CLOSED:
            return []
        logger.info("session %d closed: %s", session, message)
        return self._close(s, code, message, SessionEvent.VIOLATION, now, as_error=False)

    def open_stream(self, session: SessionId, nonce: bytes | None = None) -> list[Action]:
        """The client opened the control stream: send it a fresh challenge."""
        s = self._sessions.get(session)
        if s is None or s.state is not SessionState.CONNECTED:
            return []
        s.state = next_state(s.state, SessionEvent.STREAM_OPENED)
        challenge = new_challenge(self.server_name, nonce)
        s.nonce = challenge.nonce
        return [Send(session, voip_pb2.Envelope(challenge=challenge))]

    def disconnect(self, session: SessionId, now: float) -> list[Action]:
        """The connection is gone (closed by either side, or timed out)."""
        s = self._sessions.pop(session, None)
        if s is None:
            return []
        actions: list[Action] = []
        if s.state is SessionState.AUTHENTICATED:
            actions += self._remove_user(s, now)
        s.state = next_state(s.state, SessionEvent.DISCONNECTED)
        return actions

    def violation(self, session: SessionId, message: str, now: float) -> list[Action]:
        """The client broke the stream protocol: tell it why and drop it."""
        s = self._sessions.get(session)
        if s is None or s.state is SessionState.CLOSED:
            return []
        logger.info("session %d: protocol violation: %s", session, message)
        return self._close(
            s, voip_pb2.MALFORMED_MESSAGE, message, SessionEvent.VIOLATION, now, as_error=True
        )

    def shutdown(self, now: float) -> list[Action]:
        """Say goodbye to everyone; the adapter closes the connections."""
        actions: list[Action] = []
        message = "the server is shutting down; reconnect later"
        for s in list(self._sessions.values()):
            if s.state is SessionState.CLOSED:
                continue
            if has_control_stream(s.state):
                actions.append(
                    Send(
                        s.id,
                        voip_pb2.Envelope(
                            goodbye=voip_pb2.Goodbye(code=voip_pb2.SERVER_SHUTDOWN, message=message)
                        ),
                    )
                )
            # Without a control stream (TLS only, e.g. a client's certificate
            # check) there is nowhere to say goodbye: the QUIC close says it.
            actions.append(Close(s.id, voip_pb2.SERVER_SHUTDOWN, message))
            if s.state is SessionState.AUTHENTICATED:
                actions += self._persist_last_seen(s.user_id, now)
            s.state = next_state(s.state, SessionEvent.SHUTDOWN)
        return actions

    # --- messages ------------------------------------------------------------------

    def receive(self, session: SessionId, envelope: voip_pb2.Envelope, now: float) -> list[Action]:
        """One Envelope from the client's control stream."""
        s = self._sessions.get(session)
        if s is None or s.state is SessionState.CLOSED:
            return []
        kind = envelope.WhichOneof("payload")
        rid = envelope.request_id
        if kind is None:
            if len(UnknownFieldSet(envelope)):
                message = (
                    "the envelope carries a payload this server does not know; "
                    "the client speaks another protocol version"
                )
                return self.violation(session, message, now)
            if rid:
                message = "the request carries no payload"
                return [self._error(session, rid, voip_pb2.MALFORMED_MESSAGE, message)]
            return []  # keepalive (and the frame that opens the stream)
        if kind == "client_hello":
            if not accepts_hello(s.state):
                return self.violation(session, "ClientHello was sent twice", now)
            return self._hello(s, envelope.client_hello, now)
        if kind not in REQUEST_KINDS:
            return self.violation(
                session, f"a client may not send {kind}; this client is broken", now
            )
        if not rid:
            message = f"the {kind} request has request_id 0; requests need a non-zero id"
            return [self._error(session, 0, voip_pb2.MALFORMED_MESSAGE, message)]
        if not accepts_requests(s.state):
            return [
                self._error(
                    session, rid, voip_pb2.NOT_AUTHENTICATED, "authenticate before sending requests"
                )
            ]
        if s.requests is None:
            s.requests = RequestLimiter(self.limits)
        limited = s.requests.check(kind, now)
        if limited is not None:
            self._count(self.refused, f"rate_{kind}")
            envelope = error_envelope(
                voip_pb2.RATE_LIMITED, limited.message, rid, limited.retry_after_ms
            )
            return [Send(session, envelope)]
        handler = getattr(self, f"_on_{kind}")  # one per row of voip.protocol.requests
        actions: list[Action] = handler(s, envelope, now)
        return actions

    # --- handshake ---------------------------------------------------------------------

    def _hello(self, s: _Session, hello: voip_pb2.ClientHello, now: float) -> list[Action]:
        try:
            verified = verify_hello(
                hello,
                nonce=s.nonce,
                cert_fingerprint=s.cert_fingerprint,
                server_password=self.settings.password,
            )
        except HandshakeFailure as exc:
            logger.info("session %d: authentication refused: %s", s.id, exc)
            self._count(self.auth_failures, _code_name(exc.code))
            if self.auth_throttle.failed(s.address, now):
                limits = self.limits
                logger.warning(
                    "address %s refused for %g s after %d failed hellos within %g s",
                    log_text(s.address),
                    limits.autoban_seconds,
                    limits.autoban_attempts,
                    limits.autoban_window,
                )
            return self._close(s, exc.code, str(exc), SessionEvent.HELLO_REJECTED, now, True)
        max_users = self.limits.max_users
        already = self._session_of_user.get(self._user_id_by_key.get(verified.public_key, -1))
        if max_users and already is None and len(self._session_of_user) >= max_users:
            self._count(self.refused, "max_users")
            message = f"the server is full ({max_users} users); try again later"
            return self._close(
                s, voip_pb2.SERVER_FULL, message, SessionEvent.HELLO_REJECTED, now, True
            )

        actions: list[Action] = []
        now_ms = _ms(now)
        ban = self._ban_in_force(verified.public_key, now_ms)
        if ban is not None:
            logger.info("session %d: refused a banned key (%s)", s.id, log_text(ban.reason))
            return self._close(
                s, voip_pb2.BANNED, ban_sentence(ban), SessionEvent.HELLO_REJECTED, now, True
            )
        record = self.known_user(verified.public_key)
        refusal = self._name_refusal(
            verified.display_name, record.id if record else 0, verified.public_key
        )
        if refusal is not None:
            return self._close(s, *refusal, SessionEvent.HELLO_REJECTED, now, True)
        change: StoreChange
        if record is None:
            record = UserRecord(
                id=self._next_user_id,
                public_key=verified.public_key,
                name=verified.display_name,
                created_ms=now_ms,
                last_seen_ms=now_ms,
            )
            self._next_user_id += 1
            change = StoreChange(
                users=(record,), next_user_id=self._next_user_id, reason="new user"
            )
        else:
            record = replace(record, name=verified.display_name, last_seen_ms=now_ms)
            change = StoreChange(users=(record,), reason="user seen")
        self._remember(record)

        old_id = self._session_of_user.get(record.id)
        if old_id is not None:
            old = self._sessions[old_id]
            logger.info("user %d connected again; closing the old session %d", record.id, old_id)
            actions.append(
                Send(
                    old_id,
                    voip_pb2.Envelope(
                        goodbye=voip_pb2.Goodbye(
                            code=voip_pb2.ALREADY_CONNECTED,
                            message="you connected again from somewhere else; "
                            "this session is closed",
                        )
                    ),
                )
            )
            actions.append(
                Close(
                    old_id,
                    voip_pb2.ALREADY_CONNECTED,
                    "you connected again from somewhere else; this session is closed",
                )
            )
            actions += self._remove_user(old, now, persist=False)
            old.state = next_state(old.state, SessionEvent.REPLACED)

        s.state = next_state(s.state, SessionEvent.HELLO_ACCEPTED)
        s.user_id = record.id
        self._session_of_user[record.id] = s.id
        actions.append(Persist(change))

        user = UserInfo(record.id, record.name, self.root_id, roles=tuple(sorted(record.roles)))
        self.state = self.state.with_user(user)
        digest = state_hash(self.state)
        actions.append(
            Send(
                s.id,
                voip_pb2.Envelope(
                    welcome=voip_pb2.Welcome(
                        user_id=record.id,
                        server_name=self.server_name,
                        root_room_id=self.root_id,
                        max_chat_length=self.settings.max_chat_length,
                        max_datagram_size=self.settings.max_datagram_size,
                        motd=self.settings.motd,
                        web_certificate_hashes=self.settings.web_certificate_hashes,
                        web_page=self.settings.web_page,
                        history_lines=min(
                            self.settings.history.sent_on_entry, self.settings.history.lines
                        ),
                        max_share_size=self.settings.sharing.max_file_bytes,
                    )
                ),
            )
        )
        actions.append(
            Send(
                s.id,
                voip_pb2.Envelope(server_state=self.state.to_proto(), state_hash=digest),
            )
        )
        update = voip_pb2.StateUpdate(user_joined=voip_pb2.UserJoined(user=user.to_proto()))
        actions += self._broadcast_update(update, digest, exclude=s.id)
        actions += self._refresh_permissions([s])  # the full set, and the first Route
        actions += self._entered(s, self.root_id, now)
        self.authentications += 1
        logger.info(
            "session %d authenticated as user %d (%s)", s.id, record.id, log_text(record.name)
        )
        return actions

    # --- requests --------------------------------------------------------------------------

    def _on_join_room(self, s: _Session, env: voip_pb2.Envelope, now: float) -> list[Action]:
        rid, room_id = env.request_id, env.join_room.room_id
        if room_id not in self.state.rooms:
            return [self._unknown_room(s.id, rid, room_id)]
        if self.state.users[s.user_id].room_id == room_id:
            return [
                self._error(s.id, rid, voip_pb2.ALREADY_IN_ROOM, "you are already in that room")
            ]
        name = self.state.rooms[room_id].name
        if refused := self._refuse(s, rid, Perm.ENTER, room_id, f"enter {name!r}"):
            return [refused]
        cap = self.limits.max_users_per_room
        if cap and len(self.state.users_in(room_id)) >= cap:
            return [self._limit(s, rid, f"that room is full ({cap} users); try another")]
        update = voip_pb2.StateUpdate(
            user_moved=voip_pb2.UserMoved(user_id=s.user_id, room_id=room_id)
        )
        actions = self._change(update)
        actions += self._sync_route(s)
        actions += self._entered(s, room_id, now)
        actions.append(self._ack(s.id, rid))
        return actions

    def _on_create_room(self, s: _Session, env: voip_pb2.Envelope, now: float) -> list[Action]:
        rid, req = env.request_id, env.create_room
        if req.parent_id not in self.state.rooms:
            return [self._unknown_room(s.id, rid, req.parent_id)]
        parent = self.state.rooms[req.parent_id].name
        if refused := self._refuse(
            s, rid, Perm.MAKE_ROOM, req.parent_id, f"create rooms in {parent!r}"
        ):
            return [refused]
        problem = name_problem(req.name)
        if problem:
            return [self._error(s.id, rid, voip_pb2.INVALID_NAME, f"room name refused: {problem}")]
        if too_many := self._tree_limit(req.parent_id):
            return [self._limit(s, rid, too_many)]
        room = Room(self._next_room_id, normalize_name(req.name), req.parent_id)
        self._next_room_id += 1
        acl = creator_acl(s.user_id)
        self._acls[room.id] = acl
        update = voip_pb2.StateUpdate(
            room_created=voip_pb2.RoomCreated(
                room=voip_pb2.RoomInfo(id=room.id, name=room.name, parent_id=room.parent_id)
            )
        )
        actions: list[Action] = [
            Persist(
                StoreChange(
                    rooms=(room,),
                    acls=(AclRecord(room.id, acl),),
                    next_room_id=self._next_room_id,
                    reason="room created",
                )
            )
        ]
        actions += self._change(update)
        actions += self._add_room_permissions(room.id)
        actions.append(self._ack(s.id, rid))
        return actions

    def _on_delete_room(self, s: _Session, env: voip_pb2.Envelope, now: float) -> list[Action]:
        rid, room_id = env.request_id, env.delete_room.room_id
        if room_id not in self.state.rooms:
            return [self._unknown_room(s.id, rid, room_id)]
        room = self.state.rooms[room_id]
        if room.parent_id == ROOT_PARENT:
            return [self._error(s.id, rid, voip_pb2.ROOT_ROOM, "the root room cannot be deleted")]
        if refused := self._refuse(s, rid, Perm.WRITE, room_id, f"delete {room.name!r}"):
            return [refused]
        moved_sessions = [
            self._session_of_user[u.id]
            for u in self.state.users_in(room_id)
            if u.id in self._session_of_user
        ]
        children = self.state.children(room_id)
        reparented = tuple(Room(c.id, c.name, room.parent_id) for c in children)
        self._acls.pop(room_id, None)
        self.history.forget_room(room_id)
        files_dropped = self._drop_room_files(room_id)
        update = voip_pb2.StateUpdate(room_deleted=voip_pb2.RoomDeleted(room_id=room_id))
        actions: list[Action] = [
            Persist(StoreChange(rooms=reparented, deleted_rooms=(room_id,), reason="room deleted"))
        ]
        actions += self._change(update)
        actions += files_dropped
        self._drop_room_permissions(room_id)
        for child in children:  # they now inherit from the parent
            actions += self._refresh_permissions(start=child.id)
        for sid in moved_sessions:
            actions += self._sync_route(self._sessions[sid])
        actions.append(self._ack(s.id, rid))
        return actions

    def _on_rename_room(self, s: _Session, env: voip_pb2.Envelope, now: float) -> list[Action]:
        rid, req = env.request_id, env.rename_room
        if req.room_id not in self.state.rooms:
            return [self._unknown_room(s.id, rid, req.room_id)]
        old = self.state.rooms[req.room_id]
        if refused := self._refuse(s, rid, Perm.WRITE, req.room_id, f"rename {old.name!r}"):
            return [refused]
        problem = name_problem(req.name)
        if problem:
            return [self._error(s.id, rid, voip_pb2.INVALID_NAME, f"room name refused: {problem}")]
        name = normalize_name(req.name)
        update = voip_pb2.StateUpdate(room_renamed=voip_pb2.RoomRenamed(room_id=old.id, name=name))
        actions: list[Action] = [
            Persist(StoreChange(rooms=(Room(old.id, name, old.parent_id),), reason="room renamed"))
        ]
        actions += self._change(update)
        actions.append(self._ack(s.id, rid))
        return actions

    def _on_send_chat(self, s: _Session, env: voip_pb2.Envelope, now: float) -> list[Action]:
        rid, text = env.request_id, env.send_chat.text
        if not text.strip():
            return [self._error(s.id, rid, voip_pb2.MALFORMED_MESSAGE, "the chat message is empty")]
        limit = self.settings.max_chat_length
        if len(text) > limit:
            return [
                self._error(
                    s.id,
                    rid,
                    voip_pb2.CHAT_TOO_LONG,
                    f"the chat message has {len(text)} characters; the limit is {limit}, "
                    "so split it",
                )
            ]
        me = self.state.users[s.user_id]
        room = self.state.rooms[me.room_id].name
        if refused := self._refuse(s, rid, Perm.TEXT, me.room_id, f"send chat in {room!r}"):
            return [refused]
        message = voip_pb2.Envelope(
            chat_message=voip_pb2.ChatMessage(
                sender_id=me.id,
                sender_name=me.name,
                room_id=me.room_id,
                text=text,
                server_time_ms=_ms(now),
            )
        )
        actions: list[Action] = self._record_chat(message.chat_message)
        actions += [
            Send(self._session_of_user[u.id], message)
            for u in self.state.users_in(me.room_id)
            if u.id in self._session_of_user
        ]
        actions.append(self._ack(s.id, rid))
        return actions

    def _on_resync_request(self, s: _Session, env: voip_pb2.Envelope, now: float) -> list[Action]:
        return [
            Send(
                s.id,
                voip_pb2.Envelope(
                    server_state=self.state.to_proto(), state_hash=state_hash(self.state)
                ),
            ),
            self._ack(s.id, env.request_id),
        ]

    def _on_set_display_name(self, s: _Session, env: voip_pb2.Envelope, now: float) -> list[Action]:
        rid, name = env.request_id, env.set_display_name.name
        problem = name_problem(name)
        if problem:
            return [
                self._error(s.id, rid, voip_pb2.INVALID_NAME, f"display name refused: {problem}")
            ]
        name = normalize_name(name)
        record = self._record_of(s.user_id)
        refusal = self._name_refusal(name, s.user_id, record.public_key if record else b"")
        if refusal is not None:
            return [self._error(s.id, rid, *refusal)]
        actions: list[Action] = []
        if record is not None:
            record = replace(record, name=name)
            self._remember(record)
            actions.append(Persist(StoreChange(users=(record,), reason="display name")))
        update = voip_pb2.StateUpdate(
            user_renamed=voip_pb2.UserRenamed(user_id=s.user_id, name=name)
        )
        actions += self._change(update)
        actions.append(self._ack(s.id, rid))
        return actions

    def _on_set_self_mute(self, s: _Session, env: voip_pb2.Envelope, now: float) -> list[Action]:
        """Anyone may mute or deafen themselves; everyone sees it (the state is shared).

        A self-muted user's voice is not relayed and a self-deafened one is sent
        none, so the flags also save the bandwidth, not only the sound.
        """
        rid, req = env.request_id, env.set_self_mute
        deaf = req.self_deaf
        mute = req.self_mute or deaf
        user = self.state.users[s.user_id]
        if (user.self_mute, user.self_deaf) == (mute, deaf):
            return [self._ack(s.id, rid)]
        update = voip_pb2.StateUpdate(
            user_self_muted=voip_pb2.UserSelfMuted(
                user_id=s.user_id, self_mute=mute, self_deaf=deaf
            )
        )
        actions = self._change(update)
        actions += self._sync_route(s)
        actions.append(self._ack(s.id, rid))
        return actions

    # --- helpers ---------------------------------------------------------------------------

    def _change(self, update: voip_pb2.StateUpdate) -> list[Action]:
        """Apply one update to the shared state and send it to every authenticated session."""
        self.state = apply_change(self.state, update)
        return self._broadcast_update(update, state_hash(self.state))

    def _broadcast_update(
        self, update: voip_pb2.StateUpdate, digest: bytes, exclude: SessionId | None = None
    ) -> list[Action]:
        envelope = voip_pb2.Envelope(state_update=update, state_hash=digest)
        return [Send(sid, envelope) for sid in self._authenticated() if sid != exclude]

    def _authenticated(self) -> Iterable[SessionId]:
        return self._session_of_user.values()

    def _remove_user(self, s: _Session, now: float, *, persist: bool = True) -> list[Action]:
        """Take an authenticated session's user out of the shared state."""
        actions: list[Action] = [Route(s.id, s.user_id, None)]
        s.route = None
        s.perms = {}
        self._forget_loss_reports(s.id)
        if self._session_of_user.get(s.user_id) == s.id:
            del self._session_of_user[s.user_id]
        if s.user_id in self.state.users:
            actions += self._change(
                voip_pb2.StateUpdate(user_left=voip_pb2.UserLeft(user_id=s.user_id))
            )
        if persist:
            actions += self._persist_last_seen(s.user_id, now)
        return actions

    def _persist_last_seen(self, user_id: int, now: float) -> list[Action]:
        record = self._record_of(user_id)
        if record is None:
            return []
        record = replace(record, last_seen_ms=_ms(now))
        self._remember(record)
        return [Persist(StoreChange(users=(record,), reason="last seen"))]

    def _redeem_token(self, token: str) -> bool:
        """True (and the token is used up) if `token` is the unredeemed first-admin token."""
        expected = self._admin_token
        if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
            return False
        self._admin_token = ""
        return True

    def _record_of(self, user_id: int) -> UserRecord | None:
        return self._users.get(user_id)

    def _remember(self, record: UserRecord) -> None:
        self._users[record.id] = record
        self._user_id_by_key[record.public_key] = record.id

    def _close(
        self,
        s: _Session,
        code: int,
        message: str,
        event: SessionEvent,
        now: float,
        as_error: bool,
    ) -> list[Action]:
        actions: list[Action] = []
        if as_error and has_control_stream(s.state):
            actions.append(Send(s.id, error_envelope(code, message)))
        actions.append(Close(s.id, code, message))
        self._count(self.closes, _code_name(code))
        if s.state is SessionState.AUTHENTICATED:
            actions += self._remove_user(s, now)
        s.state = next_state(s.state, event)
        return actions

    @property
    def server_name(self) -> str:
        """The root room's name: renaming the root renames the server."""
        return self.state.rooms[self.root_id].name

    def _tree_limit(self, parent_id: int) -> str | None:
        """Why a new room under `parent_id` would break a room-tree limit, or None."""
        limits = self.limits
        if limits.max_rooms and len(self.state.rooms) >= limits.max_rooms:
            return f"the server has {limits.max_rooms} rooms, its limit; delete one first"
        depth, room = 1, self.state.rooms.get(parent_id)
        while room is not None and room.parent_id != ROOT_PARENT:
            depth += 1
            room = self.state.rooms.get(room.parent_id)
        if limits.max_room_depth and depth > limits.max_room_depth:
            return (
                f"rooms nest at most {limits.max_room_depth} deep below the root; "
                "create it higher up"
            )
        return None

    def _limit(self, s: _Session, request_id: int, message: str) -> Send:
        self._count(self.refused, "limit_reached")
        return self._error(s.id, request_id, voip_pb2.LIMIT_REACHED, message)

    @staticmethod
    def _count(counter: dict[str, int], key: str) -> None:
        counter[key] = counter.get(key, 0) + 1

    @staticmethod
    def _error(session: SessionId, request_id: int, code: int, message: str) -> Send:
        return Send(session, error_envelope(code, message, request_id))

    def _unknown_room(self, session: SessionId, request_id: int, room_id: int) -> Send:
        return self._error(
            session,
            request_id,
            voip_pb2.UNKNOWN_ROOM,
            f"room {room_id} does not exist (it may have been deleted); resync your room list",
        )

    @staticmethod
    def _ack(session: SessionId, request_id: int) -> Send:
        return Send(session, voip_pb2.Envelope(request_id=request_id, ack=voip_pb2.Ack()))


def _code_name(code: int) -> str:
    try:
        return voip_pb2.ErrorCode.Name(code)
    except ValueError:
        return str(code)


def _ms(now: float) -> int:
    return int(now * 1000)
