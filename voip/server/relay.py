"""The voice hot path: one datagram in, the same stamped bytes out to the room.

Runs in the event-loop thread, straight from aioquic's datagram event: no
actor mailbox, no lock, no per-recipient serialization. The room index maps
a room id to a tuple of endpoints (the QUIC connection protocols) and is
rebuilt only when someone joins or leaves, which is rare next to 50 voice
datagrams per second per talker.

Sending does not transmit: it queues the DATAGRAM frame on the recipient's
QUIC connection and marks it dirty; the owner flushes every dirty connection
on a short timer (or once per loop iteration), so datagrams from several
talkers bound for one listener share QUIC packets. That, and fewer ACKs, is
what the relay benchmark showed to matter (docs/ARCHITECTURE.md, Server;
benchmarks/README.md, "relay").

Each sender has a token bucket (`voice_per_second`, `voice_burst`): a talker
sends 50 datagrams a second, one above the rate is cut down to it. What is
relayed is re-encoded from the known `VoiceDatagram` fields only, so unknown
or mistyped fields a client added never reach the listeners.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from voip.errors import MalformedMessage
from voip.protocol.voice import MAX_VOICE_DATAGRAM, parse_voice_message, stamp

logger = logging.getLogger(__name__)

#: Log the first drop of an endpoint, then one in this many (no clock needed).
DROP_LOG_EVERY = 1000


class Endpoint(Protocol):
    """What the relay needs from a connection (the QUIC protocol implements it)."""

    #: (user_id, room_id) while authenticated and allowed to speak, else None.
    relay_route: tuple[int, int] | None
    dropped_datagrams: int
    #: The sender's voice bucket: tokens left, and the clock when they were counted.
    voice_tokens: float
    voice_stamp: float

    def queue_datagram(self, data: bytes) -> None: ...

    def send_pending(self, now: float) -> None: ...


@dataclass
class RelayStats:
    """Counters for benchmarks and the shutdown log; plain ints, read in the loop thread."""

    received: int = 0  # datagrams that arrived
    relayed: int = 0  # incoming datagrams forwarded to at least one peer
    sent: int = 0  # outgoing copies (one per recipient)
    dropped_malformed: int = 0
    dropped_oversized: int = 0
    dropped_unauthenticated: int = 0
    dropped_not_allowed: int = 0  # sender may not speak here (permission, server mute)
    dropped_stale: int = 0  # outgoing copies held back by congestion control/pacing too long
    dropped_rate: int = 0  # incoming datagrams above the sender's voice rate
    queue_full: int = 0  # flushes that found a listener's datagram queue full (oldest dropped)
    relayed_bytes: int = 0  # bytes of the outgoing copies
    flushes: int = 0  # flush passes
    transmits: int = 0  # connections transmitted by those passes

    @property
    def dropped(self) -> int:
        return (
            self.dropped_malformed
            + self.dropped_oversized
            + self.dropped_unauthenticated
            + self.dropped_not_allowed
            + self.dropped_rate
        )

    def as_dict(self) -> dict[str, int]:
        return {
            "received": self.received,
            "relayed": self.relayed,
            "sent": self.sent,
            "dropped": self.dropped,
            "dropped_malformed": self.dropped_malformed,
            "dropped_oversized": self.dropped_oversized,
            "dropped_unauthenticated": self.dropped_unauthenticated,
            "dropped_not_allowed": self.dropped_not_allowed,
            "dropped_stale": self.dropped_stale,
            "dropped_rate": self.dropped_rate,
            "queue_full": self.queue_full,
            "relayed_bytes": self.relayed_bytes,
            "flushes": self.flushes,
            "transmits": self.transmits,
        }


class Relay:
    """Room index plus the datagram path. Single-threaded (the loop thread)."""

    def __init__(
        self,
        max_datagram: int,
        wake: Callable[[], None],
        *,
        voice_burst: float = 30.0,
        voice_per_second: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`max_datagram`: largest stamped datagram that fits one QUIC packet.

        `wake` is called when the first connection becomes dirty; the owner
        must then call `flush()` soon (call_soon or a short timer).
        """
        self.max_datagram = max_datagram
        self.voice_burst = voice_burst
        self.voice_per_second = voice_per_second
        self._clock = clock
        self.stats = RelayStats()
        self.dirty: set[Endpoint] = set()
        self._wake = wake
        self._rooms: dict[int, tuple[Endpoint, ...]] = {}  # room -> who hears it
        self._endpoint_room: dict[Endpoint, int] = {}
        self._silenced: set[Endpoint] = set()  # in a room but may not speak there

    # --- routing (control path) -----------------------------------------------------

    def route(
        self,
        endpoint: Endpoint,
        user_id: int,
        room_id: int | None,
        *,
        speak: bool = True,
        hear: bool = True,
    ) -> None:
        """Put `endpoint` in `room_id` (None: take it out of every room).

        `speak` False: its datagrams are dropped (the core decided it may not
        speak there, or it is server-muted); `hear` False: it receives none.
        The hot path reads only the result: `relay_route` is None unless it speaks.
        """
        old = self._endpoint_room.pop(endpoint, None)
        if old is not None:
            remaining = tuple(e for e in self._rooms.get(old, ()) if e is not endpoint)
            if remaining:
                self._rooms[old] = remaining
            else:
                self._rooms.pop(old, None)
        self._silenced.discard(endpoint)
        if room_id is None:
            endpoint.relay_route = None
            return
        self._endpoint_room[endpoint] = room_id
        if hear:
            self._rooms[room_id] = (*self._rooms.get(room_id, ()), endpoint)
        if speak:
            endpoint.relay_route = (user_id, room_id)
        else:
            endpoint.relay_route = None
            self._silenced.add(endpoint)

    def members(self, room_id: int) -> tuple[Endpoint, ...]:
        return self._rooms.get(room_id, ())

    def mark_dirty(self, endpoint: Endpoint) -> None:
        """Control messages use the same flush as voice."""
        if not self.dirty:
            self._wake()
        self.dirty.add(endpoint)

    def forget(self, endpoint: Endpoint) -> None:
        self.route(endpoint, 0, None)
        self.dirty.discard(endpoint)

    # --- the hot path ------------------------------------------------------------------

    def on_datagram(self, sender: Endpoint, data: bytes) -> None:
        stats = self.stats
        stats.received += 1
        route = sender.relay_route
        if route is None:
            if sender in self._silenced:
                stats.dropped_not_allowed += 1
                self._dropped(sender, "the sender may not speak in its room")
            else:
                stats.dropped_unauthenticated += 1
                self._dropped(sender, "it arrived before authentication")
            return
        if len(data) > MAX_VOICE_DATAGRAM:
            stats.dropped_oversized += 1
            self._dropped(sender, f"{len(data)} bytes exceed {MAX_VOICE_DATAGRAM}")
            return
        now = self._clock()
        tokens = sender.voice_tokens + (now - sender.voice_stamp) * self.voice_per_second
        if tokens > self.voice_burst:
            tokens = self.voice_burst
        sender.voice_stamp = now
        if tokens < 1.0:
            sender.voice_tokens = tokens
            stats.dropped_rate += 1
            self._dropped(sender, "the sender is above the voice rate")
            return
        sender.voice_tokens = tokens - 1.0
        try:
            message = parse_voice_message(data)
        except MalformedMessage as exc:
            stats.dropped_malformed += 1
            self._dropped(sender, str(exc))
            return
        out = stamp(message, route[0], route[1])
        if len(out) > self.max_datagram:
            stats.dropped_oversized += 1
            self._dropped(sender, f"{len(out)} bytes do not fit one QUIC packet")
            return
        dirty = self.dirty
        was_clean = not dirty
        count = 0
        for peer in self._rooms.get(route[1], ()):
            if peer is not sender:
                peer.queue_datagram(out)
                dirty.add(peer)
                count += 1
        if count:
            stats.relayed += 1
            stats.sent += count
            stats.relayed_bytes += count * len(out)
            if was_clean:
                self._wake()

    def flush(self, now: float) -> None:
        """Send for every connection that has something queued; `now` is the loop's clock."""
        dirty = self.dirty
        if not dirty:
            return
        self.dirty = set()
        self.stats.flushes += 1
        self.stats.transmits += len(dirty)
        for endpoint in dirty:
            endpoint.send_pending(now)

    def _dropped(self, sender: Endpoint, why: str) -> None:
        sender.dropped_datagrams += 1
        n = sender.dropped_datagrams
        if n == 1 or n % DROP_LOG_EVERY == 0:
            logger.debug(
                "dropped a voice datagram from %s (%d so far from it, %d in total): %s",
                sender,
                n,
                self.stats.dropped,
                why,
            )
