"""One QUIC connection to a server, and the controller that starts and ends them.

Everything here runs in the connection actor's asyncio loop thread, so none
of it needs locks: the actor forwards commands into the loop with
`call_soon_threadsafe`, and results leave through a `SessionListener`, whose
implementation only `tell`s other actors. The one exception is
`Session.send_voice`, the thread-safe datagram sender handed to the audio
side.

A session: QUIC + TLS handshake (certificate checked by us afterwards, see
`voip.client.trust`), then the control stream opened with an empty frame,
challenge, hello, welcome, full state; then envelopes until the connection
ends, which is always reported once with a reason the user can act on.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aioquic.asyncio import connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import (
    ConnectionTerminated,
    DatagramFrameReceived,
    QuicEvent,
    StreamDataReceived,
)
from cryptography.hazmat.primitives.serialization import Encoding

from voip.client import commands as c
from voip.client.address import ServerAddress, parse_address
from voip.client.state import (
    AwaitingTrust,
    Connected,
    Connecting,
    ConnectionLost,
    ConnectionState,
    Disconnected,
    LocalErrorCode,
)
from voip.client.trust import (
    KnownServers,
    Mismatch,
    Unknown,
    certificate_verifies,
    decide,
    fingerprint,
)
from voip.errors import CertificateError, IdentityError, ProtocolError
from voip.identity import Identity
from voip.proto import voip_pb2
from voip.protocol.framing import FrameDecoder, encode_envelope
from voip.protocol.handshake import ALPN, make_hello
from voip.protocol.voice import VoiceFrame, decode_voice

log = logging.getLogger(__name__)

MAX_DATAGRAM_FRAME_SIZE = 65536
#: ACK delay after the handshake (aioquic's default is 1 ms). Voice datagrams
#: are unreliable (their ACKs only feed congestion control) and the control
#: stream tolerates 20 ms more before a retransmission; 20 ms
#: (under the 25 ms max_ack_delay aioquic advertises) means about one ACK per
#: voice frame instead of one per packet: the relay server's receive cost
#: (benchmarks/README.md, relay). aioquic 1.7.2 keeps it private.
ACK_DELAY = 0.020
_EMPTY_FRAME = b"\x00"
_REQUEST_ID_LIMIT = (1 << 32) - 1


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect: float = 10.0  # QUIC handshake to Welcome
    # QUIC idle timeout (docs/PROTOCOL.md): with a keep-alive every idle/3, a
    # server that vanished without a goodbye is noticed within about 1.3 x this.
    idle: float = 15.0

    @property
    def keepalive(self) -> float:
        """How often to send an empty frame: well inside the idle timeout and NAT bindings."""
        return min(20.0, self.idle / 3)


class SessionListener(Protocol):
    """Where the session's results go (implemented with tells by the connection actor)."""

    def connection(self, state: ConnectionState) -> None: ...
    def envelope(self, envelope: voip_pb2.Envelope) -> None: ...
    def error(self, code: str, message: str, command: str) -> None: ...
    def voice_path(self, sender: Callable[[bytes], None] | None, user_id: int | None) -> None: ...
    def remember(self, last_server: str, display_name: str) -> None: ...


class SessionFailed(Exception):
    """The session cannot go on; the message is the ConnectionLost reason."""


class Phase(enum.Enum):
    TLS = "tls"
    CHALLENGE = "challenge"
    WELCOME = "welcome"
    READY = "ready"
    CLOSED = "closed"


_REQUEST_FIELDS: dict[type, str] = {
    c.JoinRoom: "join_room",
    c.CreateRoom: "create_room",
    c.DeleteRoom: "delete_room",
    c.RenameRoom: "rename_room",
    c.SendChat: "send_chat",
    c.SetDisplayName: "set_display_name",
    c.RequestResync: "resync_request",
}


def request_envelope(
    command: c.ServerCommand | c.RequestResync, request_id: int
) -> voip_pb2.Envelope:
    """The wire form of a request command."""
    env = voip_pb2.Envelope(request_id=request_id)
    match command:
        case c.JoinRoom(room_id=rid):
            env.join_room.room_id = rid
        case c.CreateRoom(parent_id=pid, name=name):
            env.create_room.parent_id = pid
            env.create_room.name = name
        case c.DeleteRoom(room_id=rid):
            env.delete_room.room_id = rid
        case c.RenameRoom(room_id=rid, name=name):
            env.rename_room.room_id = rid
            env.rename_room.name = name
        case c.SendChat(text=text):
            env.send_chat.text = text
        case c.SetDisplayName(name=name):
            env.set_display_name.name = name
        case c.RequestResync():
            env.resync_request.SetInParent()
        case _:
            raise TypeError(f"{command!r} is not a request")
    return env


class ClientProtocol(QuicConnectionProtocol):
    """aioquic glue: frames on the control stream in, datagrams in, termination."""

    def __init__(self, *args: Any, session: Session, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._session = session
        self._decoder = FrameDecoder()
        self.control_stream: int | None = None

    def peer_certificate_der(self) -> tuple[Any, list[Any], bytes]:
        tls = self._quic.tls
        cert = tls._peer_certificate  # aioquic exposes no public accessor
        if cert is None:
            raise SessionFailed("the server presented no certificate")
        return cert, list(tls._peer_certificate_chain), cert.public_bytes(Encoding.DER)

    def open_control(self) -> None:
        self.control_stream = self._quic.get_next_available_stream_id()
        self.send_frame(_EMPTY_FRAME)

    def send_frame(self, data: bytes) -> None:
        if self.control_stream is None:
            raise RuntimeError("control stream not open")
        self._quic.send_stream_data(self.control_stream, data)
        self.transmit()

    def send_datagram(self, data: bytes) -> None:
        self._quic.send_datagram_frame(data)
        self.transmit()

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, StreamDataReceived):
            if event.stream_id != self.control_stream:
                log.debug("ignoring data on unexpected stream %d", event.stream_id)
                return
            try:
                envelopes = self._decoder.feed_envelopes(event.data)
            except ProtocolError as exc:
                self._session.fail(f"the server sent an unreadable message ({exc})")
                return
            for envelope in envelopes:
                self._session.on_envelope(envelope)
            if event.end_stream:
                self._session.fail("the server closed the control stream")
        elif isinstance(event, DatagramFrameReceived):
            self._session.on_datagram(event.data)
        elif isinstance(event, ConnectionTerminated):
            self._session.on_terminated(event)


class Session:
    """One connection attempt and, if it succeeds, the connection."""

    def __init__(
        self,
        client: ConnectionClient,
        command: c.Connect,
        address: ServerAddress,
        identity: Identity,
        accepted_fingerprint: str | None,
    ) -> None:
        self.client = client
        self.command = command
        self.address = address
        self.identity = identity
        self.accepted_fingerprint = accepted_fingerprint
        self.loop = client.loop
        self.phase = Phase.TLS
        self.task: asyncio.Task[None] | None = None
        self.stopped = False
        self._proto: ClientProtocol | None = None
        self._cert_fingerprint = b""
        self._welcomed: asyncio.Future[None] = self.loop.create_future()
        self._failure: str | None = None
        self._goodbye: voip_pb2.Goodbye | None = None
        self._terminated: ConnectionTerminated | None = None
        self._pending: dict[int, str] = {}
        self._next_request_id = 1
        self.voice_dropped = 0

    @property
    def ready(self) -> bool:
        return self.phase is Phase.READY

    # --- the life of the connection ------------------------------------------------

    async def run(self) -> None:
        reason: str | None = None
        timeouts = self.client.timeouts
        # The handshake deadline closes the connection instead of cancelling the
        # task: cancelling inside aioquic's connect() leaves a shielded waiter
        # whose ConnectionError nobody retrieves.
        deadline = self.loop.call_later(timeouts.connect, self._connect_timed_out)
        try:
            async with connect(
                self.address.host,
                self.address.port,
                configuration=self._configuration(),
                create_protocol=self._make_protocol,
                wait_connected=False,
            ) as proto:
                assert isinstance(proto, ClientProtocol)
                self._proto = proto
                proto.transmit()
                await proto.wait_connected()
                proto._quic._ack_delay = ACK_DELAY  # see ACK_DELAY
                if not self._certificate_trusted(proto):
                    return
                self.phase = Phase.CHALLENGE
                proto.open_control()
                await self._welcomed
                deadline.cancel()
                keepalive = asyncio.create_task(self._keepalive())
                try:
                    await proto.wait_closed()
                finally:
                    keepalive.cancel()
                reason = self._close_reason()
        except SessionFailed as exc:
            reason = str(exc)
        except ConnectionError:
            reason = self._close_reason()
        except OSError as exc:
            reason = f"cannot reach {self.address}: {exc.strerror or exc}; check the address"
        except asyncio.CancelledError:
            if self.stopped or self._failure is None:
                raise
            reason = self._failure  # the deadline hit during name resolution
        finally:
            deadline.cancel()
            was_ready = self.phase is Phase.READY
            self.phase = Phase.CLOSED
            self.client.session_ended(self, reason, was_ready)

    def _connect_timed_out(self) -> None:
        if self.phase in (Phase.READY, Phase.CLOSED):
            return
        timeout = self.client.timeouts.connect
        self.fail(
            f"no answer from {self.address} within {timeout:g} s; check the address and "
            "that the server is running"
        )
        if self._proto is None and self.task is not None:
            self.task.cancel()

    def _configuration(self) -> QuicConfiguration:
        configuration = QuicConfiguration(
            is_client=True,
            alpn_protocols=[ALPN],
            max_datagram_frame_size=MAX_DATAGRAM_FRAME_SIZE,
            idle_timeout=self.client.timeouts.idle,
            server_name=self.address.host,
        )
        # We check the certificate ourselves once the handshake is done: a
        # self-signed one is not an error but a question for the user.
        configuration.verify_mode = ssl.CERT_NONE
        return configuration

    def _make_protocol(self, *args: Any, **kwargs: Any) -> ClientProtocol:
        return ClientProtocol(*args, session=self, **kwargs)

    def _certificate_trusted(self, proto: ClientProtocol) -> bool:
        cert, chain, der = proto.peer_certificate_der()
        self._cert_fingerprint = fingerprint(der)
        key = self.address.key
        pinned = self.client.known.pinned(key) or self.accepted_fingerprint
        verifies = pinned is None and certificate_verifies(
            cert, chain, self.address.host, self.command.ca_file
        )
        decision = decide(key, self._cert_fingerprint, verifies, pinned)
        log.info("certificate of %s: %s", key, type(decision).__name__)
        if isinstance(decision, Mismatch):
            raise SessionFailed(str(decision.error))
        if isinstance(decision, Unknown):
            self.client.awaiting_trust(self, decision.fingerprint_text)
            return False
        return True

    async def _keepalive(self) -> None:
        interval = self.client.timeouts.keepalive
        while self.phase is Phase.READY and self._proto is not None:
            await asyncio.sleep(interval)
            if self.phase is Phase.READY:
                self._proto.send_frame(_EMPTY_FRAME)

    def stop(self, reason: str) -> None:
        """End the session because the user (or shutdown) asked; reported by nobody."""
        self.stopped = True
        if self._proto is not None and self.phase is not Phase.CLOSED:
            self._proto.close(error_code=0, reason_phrase=reason)
        elif self.task is not None:
            self.task.cancel()

    def fail(self, reason: str) -> None:
        """End the session for a reason the user should see."""
        if self._failure is None:
            self._failure = reason
        if not self._welcomed.done():
            self._welcomed.set_exception(SessionFailed(reason))
            self._welcomed.exception()  # mark retrieved; run() re-raises it
        if self._proto is not None:
            self._proto.close(error_code=0, reason_phrase=reason[:200])

    def _close_reason(self) -> str:
        if self._failure is not None:
            return self._failure
        if self._goodbye is not None:
            return f"the server closed the connection: {self._goodbye.message}"
        event = self._terminated
        if event is None:
            return f"the connection to {self.address} ended during the handshake"
        if event.reason_phrase == "Idle timeout":
            return (
                f"the server at {self.address} stopped answering (nothing heard for "
                f"{self.client.timeouts.idle:g} s); it may be down or the network is gone"
            )
        phrase = f": {event.reason_phrase}" if event.reason_phrase else ""
        return (
            f"the server at {self.address} closed the connection "
            f"(QUIC error {event.error_code}{phrase})"
        )

    # --- events from the protocol ---------------------------------------------------------

    def on_terminated(self, event: ConnectionTerminated) -> None:
        self._terminated = event
        if not self._welcomed.done():
            reason = self._failure or self._close_reason()
            self._welcomed.set_exception(SessionFailed(reason))
            self._welcomed.exception()

    def on_datagram(self, data: bytes) -> None:
        if self.phase is not Phase.READY:
            return
        try:
            frame: VoiceFrame = decode_voice(data)
        except ProtocolError as exc:
            self.voice_dropped += 1
            log.debug("dropped a voice datagram: %s", exc)
            return
        self.client.voice_sink(frame)

    def on_envelope(self, envelope: voip_pb2.Envelope) -> None:
        kind = envelope.WhichOneof("payload")
        if self.phase is Phase.CHALLENGE:
            if kind == "challenge":
                self._answer_challenge(envelope.challenge)
            elif kind == "error":
                self._refused(envelope.error)
            elif kind == "goodbye":
                self.fail(f"the server closed the connection: {envelope.goodbye.message}")
            elif kind is not None:
                self.fail(f"the server sent {kind} before its challenge; it is not a voip/1 server")
        elif self.phase is Phase.WELCOME:
            if kind == "welcome":
                self._welcome(envelope.welcome)
            elif kind == "error":
                self._refused(envelope.error)
            elif kind == "goodbye":
                self.fail(f"the server closed the connection: {envelope.goodbye.message}")
            elif kind is not None:
                self.fail(f"the server sent {kind} instead of welcome; it is not a voip/1 server")
        elif self.phase is Phase.READY:
            self._on_ready_envelope(kind, envelope)

    def _answer_challenge(self, challenge: voip_pb2.Challenge) -> None:
        hello = make_hello(
            challenge=challenge,
            cert_fingerprint=self._cert_fingerprint,
            public_key=self.identity.public_key,
            sign=self.identity.sign,
            display_name=self.command.display_name,
            password=self.command.password,
        )
        self.phase = Phase.WELCOME
        assert self._proto is not None
        self._proto.send_frame(encode_envelope(voip_pb2.Envelope(client_hello=hello)))

    def _refused(self, error: voip_pb2.Error) -> None:
        code = voip_pb2.ErrorCode.Name(error.code)
        self.client.listener.error(code, error.message, "Connect")
        self.fail(f"the server refused the connection: {error.message}")

    def _welcome(self, welcome: voip_pb2.Welcome) -> None:
        self.phase = Phase.READY
        self.client.listener.connection(
            Connected(
                server_name=welcome.server_name,
                user_id=welcome.user_id,
                server_addr=self.address.key,
                root_room_id=welcome.root_room_id,
                max_chat_length=welcome.max_chat_length,
                motd=welcome.motd,
            )
        )
        self.client.listener.voice_path(self.send_voice, welcome.user_id)
        self._welcomed.set_result(None)

    def _on_ready_envelope(self, kind: str | None, envelope: voip_pb2.Envelope) -> None:
        if kind in ("server_state", "state_update", "chat_message"):
            self.client.listener.envelope(envelope)
        elif kind == "ack":
            self._pending.pop(envelope.request_id, None)
        elif kind == "error":
            command = self._pending.pop(envelope.request_id, "")
            self.client.listener.error(
                voip_pb2.ErrorCode.Name(envelope.error.code), envelope.error.message, command
            )
        elif kind == "goodbye":
            self._goodbye = envelope.goodbye
            log.info("goodbye from %s: %s", self.address, envelope.goodbye.message)
        elif kind is None:
            pass  # an empty envelope: keep-alive
        else:
            log.warning("ignoring unexpected %s from the server", kind)

    # --- sending ----------------------------------------------------------------------

    def send_request(self, command: c.ServerCommand | c.RequestResync) -> None:
        request_id = self._next_request_id
        self._next_request_id = request_id % _REQUEST_ID_LIMIT + 1
        self._pending[request_id] = c.command_name(command)
        assert self._proto is not None
        self._proto.send_frame(encode_envelope(request_envelope(command, request_id)))

    def send_voice(self, data: bytes) -> None:
        """Thread-safe, non-blocking: queue one voice datagram on the loop."""
        # RuntimeError: the loop is closed, so the connection is gone.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self._send_datagram, data)

    def _send_datagram(self, data: bytes) -> None:
        if self.phase is Phase.READY and self._proto is not None:
            self._proto.send_datagram(data)


class ConnectionClient:
    """Starts and ends sessions; remembers the certificate waiting for the user."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        listener: SessionListener,
        identity: Callable[[], Identity],
        known: KnownServers,
        voice_sink: Callable[[VoiceFrame], None],
        timeouts: Timeouts,
    ) -> None:
        self.loop = loop
        self.listener = listener
        self._identity = identity
        self.known = known
        self.voice_sink = voice_sink
        self.timeouts = timeouts
        self._session: Session | None = None
        # Every session task still running, including ones already stopped
        # and closing (after Disconnect), so shutdown can wait for all.
        self._tasks: set[asyncio.Task[None]] = set()
        self._pending_trust: tuple[c.Connect, ServerAddress, str] | None = None

    @property
    def session(self) -> Session | None:
        return self._session

    # --- commands (called in the loop thread) -----------------------------------------

    def connect(self, command: c.Connect) -> None:
        self._stop_session("reconnecting")
        self._pending_trust = None
        try:
            address = parse_address(command.address)
        except ValueError as exc:
            self.listener.error(LocalErrorCode.INVALID_ARGUMENT.value, str(exc), "Connect")
            return
        self.listener.remember(command.address.strip(), command.display_name)
        self.known.reload()
        if self.known.load_problem:
            self.listener.error(
                LocalErrorCode.CERTIFICATE.value, self.known.load_problem, "Connect"
            )
        self._start(command, address, None)

    def disconnect(self) -> None:
        self._stop_session("the user disconnected")
        self._pending_trust = None
        self.listener.connection(Disconnected())

    def accept_certificate(self) -> None:
        if self._pending_trust is None:
            self.listener.error(
                LocalErrorCode.CERTIFICATE.value,
                "no server certificate is waiting for a decision; connect first",
                "AcceptCertificate",
            )
            return
        command, address, fingerprint_text = self._pending_trust
        self._pending_trust = None
        try:
            self.known.pin(address.key, fingerprint_text)
        except CertificateError as exc:
            self.listener.error(LocalErrorCode.CERTIFICATE.value, str(exc), "AcceptCertificate")
        self._start(command, address, fingerprint_text)

    def reject_certificate(self) -> None:
        if self._pending_trust is None:
            self.listener.error(
                LocalErrorCode.CERTIFICATE.value,
                "no server certificate is waiting for a decision; connect first",
                "RejectCertificate",
            )
            return
        self._pending_trust = None
        self.listener.connection(Disconnected())

    def request(self, command: c.ServerCommand | c.RequestResync) -> None:
        session = self._session
        if session is None or not session.ready:
            self.listener.error(
                LocalErrorCode.NOT_CONNECTED.value,
                "not connected to a server; connect first",
                c.command_name(command),
            )
            return
        session.send_request(command)

    def resync(self) -> None:
        """Automatic resync after a hash mismatch (quiet when not connected)."""
        if self._session is not None and self._session.ready:
            self._session.send_request(c.RequestResync())

    async def shutdown(self) -> None:
        self._stop_session("the client is shutting down")
        pending = [task for task in self._tasks if not task.done()]
        if not pending:
            return
        _done, still_running = await asyncio.wait(pending, timeout=5.0)
        for task in still_running:
            log.debug("session still closing after 5 s at shutdown; cancelling it")
            task.cancel()
        if still_running:
            await asyncio.wait(still_running, timeout=1.0)

    # --- from sessions ----------------------------------------------------------------------

    def awaiting_trust(self, session: Session, fingerprint_text: str) -> None:
        if session is not self._session:
            return
        self._pending_trust = (session.command, session.address, fingerprint_text)
        self.listener.connection(AwaitingTrust(session.address.key, fingerprint_text))

    def session_ended(self, session: Session, reason: str | None, was_ready: bool) -> None:
        if was_ready:
            self.listener.voice_path(None, None)
        if session is not self._session:
            return  # replaced or stopped by the user: already reported
        self._session = None
        if session.stopped or self._pending_trust is not None:
            return
        if reason is None:
            reason = f"the connection to {session.address} ended"
        log.info("connection to %s lost: %s", session.address, reason)
        self.listener.connection(ConnectionLost(reason, session.address.key))

    # --- internals -----------------------------------------------------------------------------

    def _start(self, command: c.Connect, address: ServerAddress, accepted: str | None) -> None:
        try:
            identity = self._identity()
        except IdentityError as exc:
            self.listener.error(LocalErrorCode.CONFIG.value, str(exc), "Connect")
            self.listener.connection(ConnectionLost(str(exc), address.key))
            return
        self.listener.connection(Connecting(address.key))
        session = Session(self, command, address, identity, accepted)
        self._session = session
        session.task = self.loop.create_task(session.run())
        self._tasks.add(session.task)
        session.task.add_done_callback(self._tasks.discard)

    def _stop_session(self, reason: str) -> None:
        session = self._session
        self._session = None
        if session is not None:
            session.stop(reason)
