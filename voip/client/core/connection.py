"""`ClientCore`: one connection's protocol logic, sans-I/O (the client twin of `ServerCore`).

Bytes and `now` in, events and bytes out, exactly as aioquic's
`QuicConnection`: the glue feeds it what QUIC delivered
(`tls_established`, `receive_stream_data`, `receive_datagram`,
`connection_lost`) and what the user asked (`send_request`, `stop`), then
drains `next_event()`, sends `data_to_send()` on the control stream, closes
the QUIC connection when `close_wanted()` says so, and calls
`handle_timer(now)` at `get_timer()`. The timers are the hello deadline
(start of the attempt to Welcome), the keep-alive (an empty frame every
`Timeouts.keepalive` once welcomed, docs/PROTOCOL.md) and request timeouts.

It never reads a clock, opens a socket or starts a thread, so the tests
drive it against `ServerCore` in memory with a hand-driven clock.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass

from voip.client.core import events as ev
from voip.client.core.phases import (
    EXPECTED,
    Phase,
    PhaseEvent,
    accepts_requests,
    accepts_voice,
    in_handshake,
    next_phase,
)
from voip.client.core.settings import Credentials, Timeouts
from voip.client.trust_policy import AskUser, Mismatch, Refused, TrustDecision
from voip.errors import ProtocolError
from voip.proto import voip_pb2
from voip.protocol.framing import FrameDecoder, encode_envelope
from voip.protocol.handshake import make_hello
from voip.protocol.requests import ANSWER_KINDS, next_request_id, request_envelope
from voip.protocol.voice import VoiceFrame, decode_voice

log = logging.getLogger(__name__)

#: The first bytes on the control stream (it opens it; the server speaks
#: first) and, later, the keep-alive: one empty frame.
EMPTY_FRAME = b"\x00"
#: What answers a request on success (errors are matched apart).
_REPLY_KINDS = ANSWER_KINDS - {"error"}


@dataclass(slots=True)
class _Pending:
    command: str
    deadline: float


class ClientCore:
    """One connection attempt and, once welcomed, the connection. Single-threaded."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        address: str,
        now: float,
        timeouts: Timeouts | None = None,
        answer_challenge: bool = True,
    ) -> None:
        self.credentials = credentials
        self.address = address  # as the user sees it, for the sentences
        self.timeouts = timeouts if timeouts is not None else Timeouts()
        self._answer_challenge = answer_challenge
        self.phase = Phase.TLS
        self._deadline = now + self.timeouts.connect
        self._events: deque[ev.CoreEvent] = deque()
        self._out = bytearray()
        self._keepalive_at = now  # set at the welcome
        self._close: str | None = None
        self._close_taken = False
        self._failure: str | None = None
        self._goodbye: str | None = None
        self._ended = False
        self._welcomed = False  # reached READY (a voice path was opened)
        self._fingerprint = b""
        self._decoder = FrameDecoder()
        self._pending: dict[int, _Pending] = {}
        self._last_request_id = 0
        self.voice_dropped = 0  # undecodable datagrams

    # --- reading ---------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self.phase is Phase.READY

    @property
    def cert_fingerprint(self) -> bytes:
        """SHA-256 of the certificate this connection saw (what the hello signs)."""
        return self._fingerprint

    @property
    def failure(self) -> str | None:
        """Why the core gave up, if it did (the reason the user will see)."""
        return self._failure

    @property
    def pending_requests(self) -> dict[int, str]:
        """Requests sent and not answered yet: id -> command name."""
        return {rid: p.command for rid, p in self._pending.items()}

    def next_event(self) -> ev.CoreEvent | None:
        return self._events.popleft() if self._events else None

    def data_to_send(self) -> bytes:
        """Bytes for the control stream (the glue opens it with the first ones)."""
        data = bytes(self._out)
        self._out.clear()
        return data

    def close_wanted(self) -> str | None:
        """Once the core wants the QUIC connection closed: the reason (returned once)."""
        if self._close is None or self._close_taken:
            return None
        self._close_taken = True
        return self._close

    def get_timer(self) -> float | None:
        """When `handle_timer` must run next (None: no timer)."""
        if self.phase is Phase.CLOSED:
            return None
        if in_handshake(self.phase):
            return self._deadline
        timer = self._keepalive_at
        for pending in self._pending.values():
            timer = min(timer, pending.deadline)
        return timer

    # --- input from the network ----------------------------------------------------

    def tls_established(self, fingerprint: bytes, decision: TrustDecision, now: float) -> None:
        """QUIC and TLS are up; `decision` is what we make of the server's certificate."""
        if self.phase is not Phase.TLS:
            return
        self._fingerprint = fingerprint
        if isinstance(decision, Mismatch | Refused):
            self.fail(decision.message)
        elif isinstance(decision, AskUser):
            self._move(PhaseEvent.UNTRUSTED)
            self._want_close("the certificate is not trusted yet")
            self._events.append(ev.TrustRequired(decision.fingerprint_text, decision.reason))
        else:
            self._move(PhaseEvent.TRUSTED)
            self._write(EMPTY_FRAME)

    def receive_stream_data(self, data: bytes, end_stream: bool, now: float) -> None:
        if self.phase is Phase.CLOSED:
            return
        try:
            envelopes = self._decoder.feed_envelopes(data)
        except ProtocolError as exc:
            self.fail(f"the server sent an unreadable message ({exc})")
            return
        for envelope in envelopes:
            if self.phase is Phase.CLOSED:
                return
            self._receive(envelope, now)
        if end_stream:
            self.fail("the server closed the control stream")

    def receive_datagram(self, data: bytes) -> VoiceFrame | None:
        """A voice datagram, decoded; None if it cannot be played.

        Returned rather than queued as an event: voice never waits behind
        control work.
        """
        if not accepts_voice(self.phase):
            return None
        try:
            return decode_voice(data)
        except ProtocolError as exc:
            self.voice_dropped += 1
            log.debug("dropped a voice datagram: %s", exc)
            return None

    def connection_lost(
        self, now: float, *, error_code: int | None = None, reason_phrase: str = ""
    ) -> None:
        """The QUIC connection is gone (or never came); reported once as `ConnectionEnded`.

        `error_code` / `reason_phrase` are the QUIC close's, when there was one.
        """
        if self._ended:
            return
        self._ended = True
        self._move(PhaseEvent.ENDED)
        self._pending.clear()
        reason = self._end_reason(error_code, reason_phrase)
        self._events.append(ev.ConnectionEnded(reason, self._welcomed))

    def handle_timer(self, now: float) -> None:
        if self.phase is Phase.CLOSED:
            return
        if in_handshake(self.phase):
            if now >= self._deadline:
                self.fail(
                    f"no answer from {self.address} within {self.timeouts.connect:g} s; "
                    "check the address and that the server is running"
                )
            return
        for rid, pending in list(self._pending.items()):
            if now >= pending.deadline:
                del self._pending[rid]
                self._events.append(
                    ev.RequestFailed(
                        rid,
                        pending.command,
                        ev.REQUEST_TIMEOUT,
                        f"the server did not answer within {self.timeouts.request:g} s; "
                        "try again, or reconnect if it keeps happening",
                    )
                )
        if now >= self._keepalive_at:
            self._write(EMPTY_FRAME)
            self._keepalive_at = now + self.timeouts.keepalive

    # --- input from the user ----------------------------------------------------------

    def send_request(self, kind: str, command: str, now: float, **fields: object) -> int:
        """Send request `kind` (a row of voip.protocol.requests); returns its id.

        `command` names it in errors. Only when `ready`.
        """
        if not accepts_requests(self.phase):
            raise ProtocolError(f"{command} cannot be sent before the server welcomed us")
        rid = next_request_id(self._last_request_id)
        self._last_request_id = rid
        envelope = request_envelope(kind, rid, **fields)
        self._pending[rid] = _Pending(command, now + self.timeouts.request)
        self._write(encode_envelope(envelope))
        return rid

    def answer(self, hello: voip_pb2.ClientHello, now: float) -> None:
        """Send this hello for the challenge (only with ``answer_challenge=False``)."""
        self._move(PhaseEvent.HELLO_SENT)
        self._write(encode_envelope(voip_pb2.Envelope(client_hello=hello)))

    def make_hello(self, challenge: voip_pb2.Challenge) -> voip_pb2.ClientHello:
        """The hello for `challenge`, signed over it and the certificate we saw."""
        creds = self.credentials
        return make_hello(
            challenge=challenge,
            cert_fingerprint=self._fingerprint,
            public_key=creds.public_key,
            sign=creds.sign,
            display_name=creds.display_name,
            password=creds.password,
        )

    def stop(self, reason: str) -> None:
        """End the connection because the user (or shutdown) asked."""
        if self.phase is not Phase.CLOSED:
            self._move(PhaseEvent.STOPPED)
            self._want_close(reason)

    def fail(self, reason: str) -> None:
        """End the connection for a reason the user should see."""
        if self._failure is None:
            self._failure = reason
        if self.phase is not Phase.CLOSED:
            self._move(PhaseEvent.FAILED)
            self._want_close(reason[:200])

    # --- internals -------------------------------------------------------------------

    def _receive(self, envelope: voip_pb2.Envelope, now: float) -> None:
        kind = envelope.WhichOneof("payload")
        if self.phase is Phase.READY:
            self._receive_ready(kind, envelope)
            return
        if kind is None:
            return  # keep-alive
        expected = EXPECTED.get(self.phase)
        if expected is None:
            return  # TLS phase: the stream is not ours yet
        if kind == "error" and envelope.request_id:
            # answers a request, so it is no verdict on the handshake (this
            # core sends none before the welcome; a raw test client may)
            log.warning("ignoring an answer to request %d before the welcome", envelope.request_id)
        elif kind == "error":
            code = voip_pb2.ErrorCode.Name(envelope.error.code)
            self._events.append(ev.Refused(code, envelope.error.message))
            self.fail(f"the server refused the connection: {envelope.error.message}")
        elif kind == "goodbye":
            self.fail(f"the server closed the connection: {envelope.goodbye.message}")
        elif kind != expected[0]:
            self.fail(f"the server sent {kind} {expected[1]}; it is not a voip/1 server")
        elif kind == "challenge":
            self._events.append(ev.ChallengeReceived(envelope.challenge))
            if self._answer_challenge:
                self.answer(self.make_hello(envelope.challenge), now)
        else:
            self._move(PhaseEvent.WELCOMED)
            self._welcomed = True
            self._keepalive_at = now + self.timeouts.keepalive
            self._events.append(ev.Welcomed(envelope.welcome))

    def _receive_ready(self, kind: str | None, envelope: voip_pb2.Envelope) -> None:
        if kind == "server_state":
            self._events.append(ev.StateSnapshot(envelope.server_state, envelope.state_hash))
        elif kind == "state_update":
            self._events.append(ev.StateUpdated(envelope.state_update, envelope.state_hash))
        elif kind == "chat_message":
            self._events.append(ev.ChatReceived(envelope.chat_message))
        elif kind == "room_history":
            self._events.append(ev.HistoryReceived(envelope.room_history))
        elif kind == "file_shared":
            self._events.append(ev.FileOffered(envelope.file_shared.file))
        elif kind in _REPLY_KINDS and envelope.request_id in self._pending:
            pending = self._pending.pop(envelope.request_id)
            reply = None if kind == "ack" else getattr(envelope, kind)
            self._events.append(ev.RequestAcked(envelope.request_id, pending.command, reply))
        elif kind == "permissions":
            self._events.append(ev.PermissionsReceived(envelope.permissions))
        elif kind == "loss_feedback":
            fb = envelope.loss_feedback
            self._events.append(ev.LossFeedbackReceived(fb.reporter_id, fb.frames, fb.lost))
        elif kind == "error":
            failed = self._pending.pop(envelope.request_id, None)
            self._events.append(
                ev.RequestFailed(
                    envelope.request_id,
                    failed.command if failed is not None else "",
                    voip_pb2.ErrorCode.Name(envelope.error.code),
                    envelope.error.message,
                )
            )
        elif kind == "goodbye":
            self._goodbye = envelope.goodbye.message
            log.info("goodbye from %s: %s", self.address, envelope.goodbye.message)
            code = voip_pb2.ErrorCode.Name(envelope.goodbye.code)
            self._events.append(ev.GoodbyeReceived(code, envelope.goodbye.message))
        elif kind in _REPLY_KINDS:
            log.debug("late answer to request %d (%s)", envelope.request_id, kind)
        elif kind is not None:
            log.warning("ignoring unexpected %s from the server", kind)

    def _end_reason(self, error_code: int | None, reason_phrase: str) -> str:
        if self._failure is not None:
            return self._failure
        if self._goodbye is not None:
            return f"the server closed the connection: {self._goodbye}"
        if error_code is None:
            return f"the connection to {self.address} ended during the handshake"
        if reason_phrase == "Idle timeout":
            return (
                f"the server at {self.address} stopped answering (nothing heard for "
                f"{self.timeouts.idle:g} s); it may be down or the network is gone"
            )
        phrase = f": {reason_phrase}" if reason_phrase else ""
        return (
            f"the server at {self.address} closed the connection "
            f"(QUIC error {error_code}{phrase})"
        )

    def _move(self, event: PhaseEvent) -> None:
        self.phase = next_phase(self.phase, event)

    def _want_close(self, reason: str) -> None:
        if self._close is None:
            self._close = reason

    def _write(self, data: bytes) -> None:
        self._out += data
