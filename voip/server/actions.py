"""What `ServerCore` asks the I/O glue to do: frozen action records.

They live apart from the core so that the core's mixins (access control,
moderation) build them without importing the core itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from voip.proto import voip_pb2
from voip.server.records import StoreChange

SessionId = int


@dataclass(frozen=True, slots=True)
class Send:
    session: SessionId
    envelope: voip_pb2.Envelope


@dataclass(frozen=True, slots=True)
class Close:
    """Close the QUIC connection with `code` (an ErrorCode value) as application error."""

    session: SessionId
    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class Persist:
    change: StoreChange


@dataclass(frozen=True, slots=True)
class Route:
    """Voice routing for a session: relay its datagrams in `room_id` (None: stop).

    `speak`: its datagrams are relayed (it holds the speak permission there
    and is not server-muted); `hear`: it receives the room's voice (it is not
    server-deafened).
    """

    session: SessionId
    user_id: int
    room_id: int | None
    speak: bool = True
    hear: bool = True


@dataclass(frozen=True, slots=True)
class Seed:
    """Keep (fetch, then seed) the file of this torrent in the server's seed store.

    `peers` are addresses to fetch from (host, port); sent again when a
    member with the file announces.
    """

    info_hash: bytes
    torrent: bytes
    peers: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Unseed:
    """Stop seeding this file and delete the server's copy."""

    info_hash: bytes


Action = Send | Close | Persist | Route | Seed | Unseed


def error_envelope(
    code: int, message: str, request_id: int = 0, retry_after_ms: int = 0
) -> voip_pb2.Envelope:
    """An Error envelope; `code` is an ErrorCode value (plain int in our signatures)."""
    return voip_pb2.Envelope(
        request_id=request_id,
        error=voip_pb2.Error(
            code=cast("voip_pb2.ErrorCode", code), message=message, retry_after_ms=retry_after_ms
        ),
    )


def goodbye_envelope(code: int, message: str) -> voip_pb2.Envelope:
    return voip_pb2.Envelope(
        goodbye=voip_pb2.Goodbye(code=cast("voip_pb2.ErrorCode", code), message=message)
    )
