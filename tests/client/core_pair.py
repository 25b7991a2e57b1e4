"""`ClientCore`s against a `ServerCore` in memory, with a hand-driven clock.

The h11 ``ConnectionPair`` / aioquic ``client_and_server()`` idea: no
sockets, no threads, no sleeping. `Network.flow()` moves every byte the
client cores want to send into the server core and every envelope the
server core sends back, until both are quiet; `advance(seconds)` moves the
clock and fires the client timers. Loaded by path (tests/support/loading.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from nacl.signing import SigningKey

from voip.client.core import ClientCore, Credentials, Timeouts
from voip.client.core import events as ev
from voip.client.trust_policy import TrustDecision, Verified
from voip.proto import voip_pb2
from voip.protocol.framing import FrameDecoder, encode_envelope, parse_envelope
from voip.protocol.state import Room
from voip.server.core import Action, Close, CoreSettings, Send, ServerCore
from voip.server.records import Snapshot

FP = hashlib.sha256(b"the server's certificate").digest()
START = 1000.0


def snapshot() -> Snapshot:
    return Snapshot(users=(), rooms=(Room(1, "Lobby", 0),), next_user_id=1, next_room_id=2)


@dataclass
class End:
    """One client: its core, what it reported, and the server's view of its stream."""

    sid: int
    core: ClientCore
    events: list[ev.CoreEvent] = field(default_factory=list)
    sent: list[bytes] = field(default_factory=list)  # each data_to_send() the server got
    closed_by_server: Close | None = None
    stream_open: bool = False
    decoder: FrameDecoder = field(default_factory=FrameDecoder)
    gone: bool = False
    silent: bool = False  # a "server" that never answers this client

    def of(self, kind: type[ev.CoreEvent]) -> list[ev.CoreEvent]:
        return [e for e in self.events if isinstance(e, kind)]

    def last(self, kind: type[ev.CoreEvent]) -> ev.CoreEvent:
        found = self.of(kind)
        assert found, f"no {kind.__name__} among {[type(e).__name__ for e in self.events]}"
        return found[-1]

    @property
    def ended(self) -> ev.ConnectionEnded | None:
        found = self.of(ev.ConnectionEnded)
        return found[-1] if found else None  # type: ignore[return-value]


class Network:
    """One server core and the client cores talking to it."""

    def __init__(
        self, server_password: str = "", timeouts: Timeouts | None = None
    ) -> None:
        self.now = START
        self.server = ServerCore(CoreSettings(password=server_password), snapshot())
        self.timeouts = timeouts or Timeouts()
        self.ends: dict[int, End] = {}
        self._next_sid = 1
        #: Set to drop what clients send instead of delivering it (a server
        #: that swallows requests).
        self.drop_client_envelopes: Callable[[voip_pb2.Envelope], bool] = lambda e: False

    # --- building ---------------------------------------------------------------------

    def client(self, name: str = "alice", password: str = "", key: SigningKey | None = None) -> End:
        key = key or SigningKey.generate()
        core = ClientCore(
            Credentials(
                display_name=name,
                public_key=bytes(key.verify_key),
                sign=lambda data: bytes(key.sign(data).signature),
                password=password,
            ),
            address="voip.test:7731",
            now=self.now,
            timeouts=self.timeouts,
        )
        end = End(self._next_sid, core)
        self._next_sid += 1
        self.ends[end.sid] = end
        return end

    def tls(self, end: End, decision: TrustDecision | None = None) -> End:
        """QUIC and TLS are up on both sides; the client decides about the certificate."""
        self._apply(self.server.connect(end.sid, FP))
        end.core.tls_established(FP, decision or Verified(), self.now)
        self.flow()
        return end

    def join(self, name: str = "alice", password: str = "") -> End:
        end = self.tls(self.client(name, password))
        assert end.core.ready, end.events
        return end

    # --- moving bytes and time ------------------------------------------------------

    def flow(self) -> None:
        moved = True
        while moved:
            moved = False
            for end in list(self.ends.values()):
                moved |= self._pump(end)

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for end in self.ends.values():
            timer = end.core.get_timer()
            if timer is not None and timer <= self.now:
                end.core.handle_timer(self.now)
        self.flow()

    def send_to_client(self, end: End, data: bytes, end_stream: bool = False) -> None:
        """Bytes from "the server" that ServerCore would never send (broken servers)."""
        end.core.receive_stream_data(data, end_stream, self.now)
        self.flow()

    def _pump(self, end: End) -> bool:
        moved = False
        core = end.core
        data = core.data_to_send()
        if data and not end.gone:
            moved = True
            end.sent.append(data)
            if end.silent:
                return True
            if not end.stream_open:
                end.stream_open = True
                self._apply(self.server.open_stream(end.sid))
            for body in end.decoder.feed(data):
                envelope = parse_envelope(body)
                if not self.drop_client_envelopes(envelope):
                    self._apply(self.server.receive(end.sid, envelope, self.now))
        reason = core.close_wanted()
        if reason is not None and not end.gone:
            moved = True
            self._gone(end)
            self._apply(self.server.disconnect(end.sid, self.now))
            core.connection_lost(self.now, error_code=0, reason_phrase=reason)
        while (event := core.next_event()) is not None:
            moved = True
            end.events.append(event)
        return moved

    def _apply(self, actions: list[Action]) -> None:
        for action in actions:
            end = self.ends.get(getattr(action, "session", -1))
            if end is None or end.gone:
                continue
            if isinstance(action, Send):
                end.core.receive_stream_data(encode_envelope(action.envelope), False, self.now)
            elif isinstance(action, Close):
                end.closed_by_server = action
                self._gone(end)
                self._apply(self.server.disconnect(end.sid, self.now))
                end.core.connection_lost(
                    self.now, error_code=action.code, reason_phrase=action.reason
                )

    @staticmethod
    def _gone(end: End) -> None:
        end.gone = True
