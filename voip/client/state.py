"""The client's state snapshot: everything a front end draws, in one immutable value.

A front end never asks an actor anything: it reads the latest `State` (a tree
of frozen dataclasses holding tuples, so it can be shared between threads
without copying or locking) and sends commands. Each change produces a new
`State` with a higher `version`, so a UI can skip redraws when nothing moved.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field

from voip.audio.transmission import TransmissionMode
from voip.client.access_state import AccessState

#: How many chat lines and error notices a snapshot keeps (oldest dropped first).
MAX_CHAT_LINES = 500
MAX_ERRORS = 50

MIN_VOLUME = 0.0
MAX_VOLUME = 2.0
DEFAULT_VAD_THRESHOLD_DB = -40.0
DEFAULT_PTT_KEY = "space"


# --- connection ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Disconnected:
    """No connection and none wanted (the start, or after Disconnect/RejectCertificate)."""


@dataclass(frozen=True, slots=True)
class Connecting:
    server_addr: str


@dataclass(frozen=True, slots=True)
class AwaitingTrust:
    """The server's certificate is unknown: the user must accept or reject it.

    `fingerprint_text` is the ``SHA256:AB:CD:...`` form the server logs at
    start, so the user can compare it out of band; `reason` says why it does
    not verify (self-signed, or an authority this client does not trust).
    """

    server_addr: str
    fingerprint_text: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Connected:
    server_name: str
    user_id: int
    server_addr: str = ""
    root_room_id: int = 0
    max_chat_length: int = 0
    motd: str = ""
    #: Said once on connecting: e.g. a CA-verified certificate took over this address's pin.
    certificate_note: str = ""


@dataclass(frozen=True, slots=True)
class ConnectionLost:
    """The connection failed or ended without the user asking; `error` says why."""

    error: str
    server_addr: str = ""


ConnectionState = Disconnected | Connecting | AwaitingTrust | Connected | ConnectionLost


# --- rooms, users, chat, errors -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class RoomView:
    id: int
    name: str
    parent_id: int  # 0 for the root room
    depth: int  # 0 for the root room


@dataclass(frozen=True, slots=True)
class UserView:
    id: int
    name: str
    room_id: int
    talking: bool = False
    is_me: bool = False
    roles: tuple[str, ...] = ()  # sorted; "everyone" is implicit
    self_mute: bool = False  # muted by themselves (self_deaf implies it)
    self_deaf: bool = False
    server_mute: bool = False  # muted by a moderator (not the user's own mute)
    server_deaf: bool = False  # deafened by a moderator


@dataclass(frozen=True, slots=True)
class ChatLine:
    sender_id: int  # 0 for local lines
    sender_name: str
    room_id: int
    text: str
    server_time_ms: int  # local wall clock for local lines
    local: bool = False  # a system/error line made by this client, not a message
    from_history: bool = False  # said before we entered the room (the server's history)
    file_hash: bytes = b""  # a file offered in the room: its v2 info-hash (see `files`)


@dataclass(frozen=True, slots=True)
class SharedFileView:
    """A file offered in a room (docs/SHARING.md)."""

    info_hash: bytes
    name: str
    size: int
    room_id: int
    sharer_id: int
    sharer_name: str
    server_time_ms: int
    server_seeds: bool


@dataclass(frozen=True, slots=True)
class TransferView:
    """A file this client shares or fetches, with its progress."""

    info_hash: bytes
    name: str
    path: str  # where the file is on this machine ("" until known)
    total_bytes: int = 0
    done_bytes: int = 0
    download_rate: float = 0.0  # bytes per second
    upload_rate: float = 0.0
    peers: int = 0
    complete: bool = False
    rejected_pieces: int = 0  # pieces that failed their hash check (fetched again)
    error: str = ""

    @property
    def progress(self) -> float:
        return (
            1.0
            if self.complete
            else (self.done_bytes / self.total_bytes if self.total_bytes else 0.0)
        )


@dataclass(frozen=True, slots=True)
class ErrorNotice:
    """One failure to show the user once.

    `code` is the wire `ErrorCode` name for refusals by the server
    (``UNKNOWN_ROOM``, ``PERMISSION_DENIED``...) or one of the local codes in
    `LocalErrorCode`; `message` is a sentence saying what happened and what
    to do; `command` names the command that failed ("" if none).
    """

    id: int
    code: str
    message: str
    command: str = ""


class LocalErrorCode(enum.StrEnum):
    """Error codes the client itself produces (the server's come from the wire)."""

    NOT_CONNECTED = "NOT_CONNECTED"
    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    CONFIG = "CONFIG"
    AUDIO = "AUDIO"
    CERTIFICATE = "CERTIFICATE"
    PROTOCOL = "PROTOCOL"
    TIMEOUT = "TIMEOUT"  # a request the server did not answer (voip.client.core.events)
    INTERNAL = "INTERNAL"


# --- audio ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AudioDeviceView:
    name: str
    index: int = -1
    host_api: str = ""
    channels: int = 0
    is_default: bool = False


@dataclass(frozen=True, slots=True)
class AudioState:
    input_devices: tuple[AudioDeviceView, ...] = ()
    output_devices: tuple[AudioDeviceView, ...] = ()
    input_device: str | None = None  # None: the system default
    output_device: str | None = None
    input_volume: float = 1.0  # 0..2
    output_volume: float = 1.0  # 0..2
    transmission_mode: TransmissionMode = TransmissionMode.PUSH_TO_TALK
    vad_threshold_db: float = DEFAULT_VAD_THRESHOLD_DB
    ptt_key: str = DEFAULT_PTT_KEY
    # The capture chain (docs/AUDIO.md, "Voice processing"); applied to live
    # microphones, not to arrays and files (the bot's voice, tests).
    noise_suppression: str = "speex"  # speex | rnnoise | deepfilter | off
    gain_control: bool = True
    echo_cancellation: bool = False
    is_transmitting: bool = False  # what is really being sent right now
    input_level_db: float = -120.0
    talking_users: frozenset[int] = frozenset()
    loopback_test: bool = False
    #: Muted / deafened by the user (deafened implies muted): nothing is sent, and
    #: while deafened nothing is played. Sent to the server while connected.
    self_mute: bool = False
    self_deaf: bool = False
    error: str | None = None  # e.g. a device that vanished


@dataclass(frozen=True, slots=True)
class ConfigView:
    """What the connect dialog pre-fills."""

    last_server: str = ""
    display_name: str = ""


# --- the snapshot -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class State:
    version: int = 0
    connection: ConnectionState = field(default_factory=Disconnected)
    rooms: tuple[RoomView, ...] = ()  # tree order: parent before children, siblings by name
    users: tuple[UserView, ...] = ()  # by name
    my_user_id: int | None = None
    my_room_id: int | None = None
    chat: tuple[ChatLine, ...] = ()  # oldest first, at most MAX_CHAT_LINES
    errors: tuple[ErrorNotice, ...] = ()  # oldest first, not yet dismissed
    audio: AudioState = field(default_factory=AudioState)
    config: ConfigView = field(default_factory=ConfigView)
    files: tuple[SharedFileView, ...] = ()  # offered in rooms we were in, oldest first
    transfers: tuple[TransferView, ...] = ()
    #: How often the client found its copy of the server state diverged and
    #: asked for a full snapshot (diagnostics; normally 0).
    resync_count: int = 0
    #: Effective permissions per room and the moderation queries' answers.
    access: AccessState = field(default_factory=AccessState)

    @property
    def is_connected(self) -> bool:
        return isinstance(self.connection, Connected)

    def room(self, room_id: int) -> RoomView | None:
        for room in self.rooms:
            if room.id == room_id:
                return room
        return None

    def user(self, user_id: int) -> UserView | None:
        for user in self.users:
            if user.id == user_id:
                return user
        return None

    @property
    def me(self) -> UserView | None:
        return None if self.my_user_id is None else self.user(self.my_user_id)

    @property
    def root_room(self) -> RoomView | None:
        return self.rooms[0] if self.rooms else None

    def users_in(self, room_id: int) -> tuple[UserView, ...]:
        return tuple(u for u in self.users if u.room_id == room_id)

    def children(self, room_id: int) -> tuple[RoomView, ...]:
        return tuple(r for r in self.rooms if r.parent_id == room_id)

    def room_tree(self) -> Iterator[tuple[RoomView, tuple[UserView, ...]]]:
        """Each room in tree order with the users in it (indent by `room.depth`)."""
        for room in self.rooms:
            yield room, self.users_in(room.id)

    def chat_in(self, room_id: int) -> tuple[ChatLine, ...]:
        """The lines of one room, plus local lines (which belong to no room)."""
        return tuple(c for c in self.chat if c.room_id == room_id or c.local)

    def file(self, info_hash: bytes) -> SharedFileView | None:
        for f in self.files:
            if f.info_hash == info_hash:
                return f
        return None

    def transfer(self, info_hash: bytes) -> TransferView | None:
        for t in self.transfers:
            if t.info_hash == info_hash:
                return t
        return None

    def find_room(self, name: str) -> RoomView | None:
        """The first room (in tree order) called `name`; handy for bots and tests."""
        for room in self.rooms:
            if room.name == name:
                return room
        return None

    @property
    def last_error(self) -> ErrorNotice | None:
        return self.errors[-1] if self.errors else None
