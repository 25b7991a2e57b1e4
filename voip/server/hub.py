"""Glue in the loop thread: QUIC connections <-> `ServerCore`, relay and store.

The hub numbers connections, feeds their events to the core, and performs
the actions the core returns: frame and queue envelopes, close connections,
hand store changes to the store actor (`persist`, which must not block), and
keep the relay's room index in step. It also owns the flush policy: queued
control messages, voice datagrams and due ACKs are sent in one pass over the
connections, never per recipient.

The pass is adaptive (`flush_gap`): after a flush that took `t` seconds the
next one may start `BATCH_FACTOR * t` later, capped at `flush_interval`
(20 ms by default, one voice frame). A lightly loaded server therefore sends
each datagram at once (no added latency), while a loaded one batches every
talker's datagram for a listener into one packet per frame, which is what
keeps the CPU per relayed datagram down (benchmarks/README.md, relay).
`flush_interval` 0 flushes once per loop iteration, without batching.

The fan-out isolates recipients: a send that fails (the client reset or
stopped its control stream) or leaves a recipient's unacknowledged control
bytes above `Limits.max_control_backlog` (it stopped reading) does not stop
the loop over the others. Once the batch is done, each such recipient is
closed with a reason and its departure goes to everyone else, in the same
way. The hub also runs the hello deadline of every connection and raises a
connection's frame limit when it authenticates.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from aioquic.quic.connection import QuicConnection

from voip.proto import voip_pb2
from voip.protocol.framing import DEFAULT_MAX_FRAME, encode_envelope
from voip.server.actions import Seed, Unseed
from voip.server.certs.web_cert import WebIdentity
from voip.server.core import Action, Close, Persist, Route, Send, ServerCore
from voip.server.limits import log_text
from voip.server.metrics import ServerCounters
from voip.server.quic import ServerProtocol
from voip.server.records import StoreChange
from voip.server.relay import Relay

logger = logging.getLogger(__name__)


#: How many times its own duration the server waits after a flush before the
#: next one: flushing then takes at most 1/(1+BATCH_FACTOR) of the loop.
BATCH_FACTOR = 2.0


def flush_gap(last_flush_seconds: float, max_interval: float) -> float:
    """Earliest start of the next flush after one that took `last_flush_seconds`."""
    if max_interval <= 0:
        return 0.0
    return min(max_interval, BATCH_FACTOR * max(0.0, last_flush_seconds))


class Hub:
    def __init__(
        self,
        core: ServerCore,
        *,
        persist: Callable[[StoreChange], None],
        max_datagram: int,
        flush_interval: float = 0.0,
        ack_delay: float | None = None,
        clock: Callable[[], float] = time.time,
        seed: Callable[[Seed | Unseed], None] | None = None,
    ) -> None:
        self.core = core
        self.limits = core.limits
        self.relay = Relay(
            max_datagram,
            self._schedule_flush,
            voice_burst=self.limits.voice_burst,
            voice_per_second=self.limits.voice_per_second,
        )
        self.protocols: dict[int, ServerProtocol] = {}
        self._persist = persist
        self._seed = seed
        self._flush_interval = flush_interval
        self._ack_delay = ack_delay
        self._clock = clock
        self._next_id = 1
        self._flush_handle: asyncio.Handle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._next_flush_at = 0.0  # loop time before which no flush starts
        #: The certificate browsers get instead of the server's (None: the same one).
        self.web_identity: WebIdentity | None = None
        self.connections_started = 0
        self.slow_disconnects = 0

    # --- aioquic hooks ------------------------------------------------------------------

    def create_protocol(self, quic: QuicConnection, stream_handler: Any = None) -> ServerProtocol:
        """The `create_protocol` factory given to aioquic's `serve`."""
        limits = self.limits
        p = ServerProtocol(
            quic,
            stream_handler,
            hub=self,
            max_frame=limits.pre_auth_max_frame,
            max_datagram_queue=limits.max_datagram_queue,
        )
        self.connections_started += 1
        # The hello deadline runs from the connection's first packet, TLS included.
        loop = self._loop or asyncio.get_running_loop()
        self._loop = loop
        loop.call_later(limits.hello_timeout, self._hello_deadline, p)
        return p

    def _hello_deadline(self, p: ServerProtocol) -> None:
        if p.closing or p.authenticated:
            return
        if self.core.session_state(p.session_id) is not None:
            self.apply(self.core.hello_deadline(p.session_id, self._clock()))
        else:  # the TLS handshake never finished
            self.core.refused["hello_timeout"] = self.core.refused.get("hello_timeout", 0) + 1
            p.close_with(voip_pb2.HELLO_TIMEOUT, "the connection did not log in in time")

    def next_session_id(self) -> int:
        sid = self._next_id
        self._next_id += 1
        return sid

    def connected(self, p: ServerProtocol) -> None:
        if self._ack_delay is not None:
            # aioquic 1.7.2 keeps the ACK delay private; after the handshake a
            # longer delay (within the advertised max_ack_delay of 25 ms) means
            # fewer ACK-only packets to talkers. See RECIPES "relay cost".
            p._quic._ack_delay = self._ack_delay
        self.protocols[p.session_id] = p
        self.apply(
            self.core.connect(
                p.session_id, p.served_fingerprint(), self._clock(), p.peer_address()
            )
        )

    def stream_opened(self, p: ServerProtocol) -> None:
        self.apply(self.core.open_stream(p.session_id))

    def received(self, p: ServerProtocol, envelope: voip_pb2.Envelope) -> None:
        self.apply(self.core.receive(p.session_id, envelope, self._clock()))
        if not p.authenticated and self.core.user_of(p.session_id) is not None:
            p.authenticated = True
            p.set_max_frame(DEFAULT_MAX_FRAME)

    def violation(self, p: ServerProtocol, message: str) -> None:
        self.apply(self.core.violation(p.session_id, message, self._clock()))

    def stream_ended(self, p: ServerProtocol) -> None:
        """The client finished its control stream on a frame boundary: that is a goodbye."""
        self.apply(self.core.disconnect(p.session_id, self._clock()))
        self.relay.forget(p)
        p.close_with(0, "the client closed its control stream; goodbye")

    def stream_aborted(self, p: ServerProtocol, message: str) -> None:
        self.apply(
            self.core.abort(p.session_id, voip_pb2.CONTROL_STREAM_CLOSED, message, self._clock())
        )

    def disconnected(self, p: ServerProtocol, code: int, reason: str) -> None:
        logger.debug("session %d ended (code %d: %s)", p.session_id, code, log_text(reason))
        self.protocols.pop(p.session_id, None)
        self.apply(self.core.disconnect(p.session_id, self._clock()))
        self.relay.forget(p)

    # --- doing what the core says -------------------------------------------------------

    def apply(self, actions: list[Action]) -> None:
        """Do what the core said; recipients that fail are closed after the batch."""
        failed = self._apply(actions)
        while failed:
            session, (code, message) = failed.popitem()
            failed.update(self._apply(self.core.abort(session, code, message, self._clock())))

    def _apply(self, actions: list[Action]) -> dict[int, tuple[int, str]]:
        encoded: dict[int, bytes] = {}  # one encoding per envelope, however many recipients
        failed: dict[int, tuple[int, str]] = {}
        max_backlog = self.limits.max_control_backlog
        for action in actions:
            if isinstance(action, Send):
                p = self.protocols.get(action.session)
                if p is None or p.closing or action.session in failed:
                    continue
                if not p.control_open:
                    # aioquic raises on a stream the peer never opened; the core
                    # should not ask for this (a bug), but it must not kill the loop.
                    logger.warning(
                        "session %d: dropped a %s envelope, its control stream is not open",
                        action.session,
                        action.envelope.WhichOneof("payload"),
                    )
                    continue
                key = id(action.envelope)
                data = encoded.get(key)
                if data is None:
                    data = encoded[key] = encode_envelope(action.envelope)
                try:
                    p.send_control(data)
                except Exception as exc:
                    failed[action.session] = (
                        voip_pb2.CONTROL_STREAM_CLOSED,
                        f"the control stream cannot be written ({exc}); the session is closed",
                    )
                    continue
                if p.control_backlog() > max_backlog:
                    self.slow_disconnects += 1
                    failed[action.session] = (
                        voip_pb2.TOO_SLOW,
                        f"the client stopped reading: more than {max_backlog} bytes were "
                        "waiting for it; reconnect when the network is better",
                    )
                    continue
                self.relay.mark_dirty(p)
            elif isinstance(action, Close):
                p = self.protocols.get(action.session)
                if p is not None and not p.closing:
                    self.relay.forget(p)
                    p.close_with(action.code, action.reason)
            elif isinstance(action, Persist):
                self._persist(action.change)
            elif isinstance(action, Seed | Unseed):
                if self._seed is not None:
                    self._seed(action)
            elif isinstance(action, Route):
                p = self.protocols.get(action.session)
                if p is not None and not (p.closing and action.room_id is not None):
                    self.relay.route(
                        p, action.user_id, action.room_id, speak=action.speak, hear=action.hear
                    )
        return failed

    def seed_failed(self, info_hash: bytes, message: str) -> None:
        """The seeder could not keep a file (called in the loop thread)."""
        self.apply(self.core.seed_failed(info_hash, message, self._clock()))

    # --- flushing ---------------------------------------------------------------------------

    def _schedule_flush(self) -> None:
        if self._flush_handle is not None:
            return
        loop = self._loop or asyncio.get_running_loop()
        self._loop = loop
        wait = self._next_flush_at - loop.time()
        if wait > 0:
            self._flush_handle = loop.call_later(wait, self._flush)
        else:
            self._flush_handle = loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_handle = None
        loop = self._loop or asyncio.get_running_loop()
        started = loop.time()
        self.relay.flush(started)
        ended = loop.time()
        self._next_flush_at = ended + flush_gap(ended - started, self._flush_interval)

    # --- shutdown ---------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Goodbye to everyone, then close every connection (called in the loop thread)."""
        self.apply(self.core.shutdown(self._clock()))
        self._flush()

    def stats(self) -> dict[str, int]:
        counters = self.relay.stats.as_dict()
        counters["connections"] = len(self.protocols)
        return counters

    def metrics(self) -> ServerCounters:
        """Everything an operator counts, copied (called in the loop thread)."""
        core = self.core
        state = core.state
        per_room: dict[int, int] = dict.fromkeys(state.rooms, 0)
        for user in state.users.values():
            per_room[user.room_id] = per_room.get(user.room_id, 0) + 1
        return ServerCounters(
            connections_started=self.connections_started,
            connections=len(self.protocols),
            users=len(state.users),
            room_users={(rid, state.rooms[rid].name): n for rid, n in per_room.items()},
            authentications=core.authentications,
            auth_failures=dict(core.auth_failures),
            refused=dict(core.refused),
            closes=dict(core.closes),
            slow_disconnects=self.slow_disconnects,
            relay=self.relay.stats.as_dict(),
        )
