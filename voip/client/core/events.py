"""Everything the client core reports, in one module (aioquic's ``events.py``, h11's ``_events``).

Frozen, slotted dataclasses: they cross from the connection's loop thread to
the state owner, so nobody may change one after it is made. Protobuf
messages they carry are never mutated after parsing.

Adding an event: a dataclass here, added to `CoreEvent`, emitted by
`ClientCore`; the model (`voip.client.model.ClientModel.apply`) turns it into
`State`.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import Message

from voip.proto import voip_pb2


@dataclass(frozen=True, slots=True)
class TrustRequired:
    """The server's certificate is neither verified nor pinned: the user decides.

    The core closes this connection; accepting means connecting again.
    """

    fingerprint_text: str
    #: Why it does not verify, in plain words (no trusted authority vouches for it, ...).
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ChallengeReceived:
    """The server's challenge (answered at once unless the core was told not to)."""

    challenge: voip_pb2.Challenge


@dataclass(frozen=True, slots=True)
class Refused:
    """The server refused the handshake; `code` is the wire ErrorCode name."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Welcomed:
    """Authenticated: the voice path is open and requests may be sent."""

    welcome: voip_pb2.Welcome

    @property
    def user_id(self) -> int:
        return self.welcome.user_id


@dataclass(frozen=True, slots=True)
class StateSnapshot:
    """A full copy of the server's state (after Welcome, or answering a resync)."""

    state: voip_pb2.ServerState
    state_hash: bytes


@dataclass(frozen=True, slots=True)
class StateUpdated:
    """One change to the server's state; `state_hash` is the hash after it."""

    update: voip_pb2.StateUpdate
    state_hash: bytes


@dataclass(frozen=True, slots=True)
class ChatReceived:
    message: voip_pb2.ChatMessage


@dataclass(frozen=True, slots=True)
class HistoryReceived:
    """The recent chat (and shared files) of the room we just entered."""

    history: voip_pb2.RoomHistory


@dataclass(frozen=True, slots=True)
class FileOffered:
    """A file was shared in our room."""

    file: voip_pb2.SharedFile


@dataclass(frozen=True, slots=True)
class RequestAcked:
    """A request succeeded; a query's `reply` is its answer message (None for an ack)."""

    request_id: int
    command: str
    reply: Message | None = None


@dataclass(frozen=True, slots=True)
class PermissionsReceived:
    """The server says what this client may do now (docs/PERMISSIONS.md)."""

    permissions: voip_pb2.Permissions


@dataclass(frozen=True, slots=True)
class LossFeedbackReceived:
    """A listener told the server how much of our voice it lost (docs/PROTOCOL.md)."""

    reporter_id: int
    frames: int
    lost: int


@dataclass(frozen=True, slots=True)
class RequestFailed:
    """A request was refused (`code`: the wire ErrorCode name) or never answered.

    `command` names what was asked ("" when the server answered an id this
    client no longer waits for).
    """

    request_id: int
    command: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class GoodbyeReceived:
    """The server says it is closing this connection, and why."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class ConnectionEnded:
    """The connection is over (always the last event, exactly once).

    `reason` is a sentence for the user; `was_ready` tells whether it had been
    welcomed (so a voice path was open).
    """

    reason: str
    was_ready: bool


CoreEvent = (
    TrustRequired
    | ChallengeReceived
    | Refused
    | Welcomed
    | StateSnapshot
    | StateUpdated
    | ChatReceived
    | HistoryReceived
    | FileOffered
    | RequestAcked
    | PermissionsReceived
    | LossFeedbackReceived
    | RequestFailed
    | GoodbyeReceived
    | ConnectionEnded
)

#: The error code of a request the server did not answer in time
#: (`voip.client.state.LocalErrorCode.TIMEOUT`).
REQUEST_TIMEOUT = "TIMEOUT"
