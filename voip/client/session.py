"""One QUIC connection to a server, and the controller that starts and ends them.

Everything here runs in the connection actor's asyncio loop thread, so none
of it needs locks: the actor forwards commands into the loop with
`call_soon_threadsafe`, and results leave through a `SessionListener`, whose
implementation only `tell`s other actors. The one exception is
`Session.send_voice`, the thread-safe datagram sender handed to the audio
side.

The protocol itself (handshake, requests, keep-alive, deadlines, the
sentences a user reads) is `voip.client.core.ClientCore`; a `Session` only
resolves and connects (`voip.client.transport`), decides about the
certificate (`voip.client.trust`), and turns the core's events into
listener calls. Every connection's end is reported once.

While connected it also sends a loss report every couple of seconds (what
the playback side's `LossMeter` counted of each talker; docs/PROTOCOL.md,
"Loss reports") and hands the feedback listeners sent about us to the
capture side, which adapts its protection.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from typing import Protocol

from aioquic.asyncio import connect

from voip.audio.protection import REPORT_SECONDS, LossMeter
from voip.client import commands as c
from voip.client.address import ServerAddress, parse_address
from voip.client.connection_events import (
    ConnectionEvent,
    ConnectStarted,
    SessionClosed,
    SessionLost,
    SessionWelcomed,
    TrustAsked,
)
from voip.client.core import ClientCore, Credentials, Timeouts
from voip.client.core import events as ev
from voip.client.state import LocalErrorCode
from voip.client.transport import ACK_DELAY, CoreProtocol, client_configuration
from voip.client.trust import KnownServers, examine
from voip.client.trust_policy import TrustDecision, Verified, decide, pin_moved_notice
from voip.errors import CertificateError, IdentityError
from voip.identity import Identity
from voip.proto import voip_pb2
from voip.protocol.voice import VoiceFrame

log = logging.getLogger(__name__)

__all__ = ["ACK_DELAY", "ConnectionClient", "Session", "SessionListener", "Timeouts"]



class SessionListener(Protocol):
    """Where the session's results go (implemented with tells by the connection actor)."""

    def connection(self, event: ConnectionEvent) -> None: ...
    def server_event(self, event: ev.CoreEvent) -> None: ...

    def peer_list(self, peers: voip_pb2.PeerList) -> None: ...
    def error(self, code: str, message: str, command: str) -> None: ...
    def voice_path(self, sender: Callable[[bytes], None] | None, user_id: int | None) -> None: ...
    def loss_feedback(self, reporter_id: int, frames: int, lost: int) -> None: ...
    def remember(self, last_server: str, display_name: str) -> None: ...


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
        self.accepted_fingerprint = accepted_fingerprint
        self.loop = client.loop
        self.core = ClientCore(
            Credentials(
                display_name=command.display_name,
                public_key=identity.public_key,
                sign=identity.sign,
                password=command.password,
            ),
            address=str(address),
            now=self.loop.time(),
            timeouts=client.timeouts,
        )
        self.task: asyncio.Task[None] | None = None
        self.stopped = False
        self._proto: CoreProtocol | None = None
        #: Said once when connected: a CA-verified certificate took over the pin.
        self._certificate_note = ""
        self._loss_timer: asyncio.TimerHandle | None = None

    @property
    def ready(self) -> bool:
        return self.core.ready

    # --- the life of the connection ------------------------------------------------

    async def run(self) -> None:
        core = self.core
        # Before there is a protocol the session runs the core's timer (the
        # hello deadline covers name resolution too). The deadline closes the
        # connection instead of cancelling the task once aioquic's connect()
        # runs: cancelling inside it leaves a shielded waiter whose
        # ConnectionError nobody retrieves.
        early = self.loop.call_at(core.get_timer() or self.loop.time(), self._early_timer)
        try:
            async with connect(
                self.address.host,
                self.address.port,
                configuration=client_configuration(self.address.host, core.timeouts.idle),
                create_protocol=self._make_protocol,
                wait_connected=False,
            ) as proto:
                assert isinstance(proto, CoreProtocol)
                early.cancel()
                self._proto = proto
                proto.pump()
                await proto.wait_connected()
                proto._quic._ack_delay = ACK_DELAY  # see ACK_DELAY
                proto.tls_established(self._decide)
                await proto.wait_closed()
        except ConnectionError:
            pass  # the core knows why, or the QUIC close says it
        except OSError as exc:
            core.fail(f"cannot reach {self.address}: {exc.strerror or exc}; check the address")
        except asyncio.CancelledError:
            if self.stopped or core.failure is None:
                raise
            # the deadline hit during name resolution: the core has the reason
        finally:
            early.cancel()
            if self._proto is not None:
                self._proto.connection_lost_to_core()
            else:
                core.connection_lost(self.loop.time())
                while (event := core.next_event()) is not None:
                    self._on_event(event)

    def _early_timer(self) -> None:
        if self._proto is not None:
            return
        self.core.handle_timer(self.loop.time())
        if self.core.failure is not None and self.task is not None:
            self.task.cancel()
        else:
            timer = self.core.get_timer()
            if timer is not None:
                self.loop.call_at(timer, self._early_timer)

    def _make_protocol(self, *args: object, **kwargs: object) -> CoreProtocol:
        return CoreProtocol(
            *args,
            core=self.core,
            on_event=self._on_event,
            on_voice=self.client.voice_sink,
            **kwargs,
        )

    def _decide(self, fingerprint: bytes) -> TrustDecision:
        assert self._proto is not None
        peer = self._proto.peer_certificate()
        assert peer is not None  # checked by CoreProtocol.tls_established
        cert, chain = peer
        key = self.address.key
        pinned = self.client.known.pinned(key) or self.accepted_fingerprint
        now = dt.datetime.now(dt.UTC)
        facts = examine(cert, chain, self.address.host, self.command.ca_file, now)
        decision = decide(key, self.address.host, facts, pinned, now)
        log.info("certificate of %s: %s", key, decision)
        if isinstance(decision, Verified) and decision.replaced_pin is not None:
            self._certificate_note = self.client.move_pin(
                key, decision.replaced_pin, facts.fingerprint_text
            )
        return decision

    def stop(self, reason: str) -> None:
        """End the session because the user (or shutdown) asked; reported by nobody."""
        self.stopped = True
        self.core.stop(reason)
        if self._proto is not None:
            self._proto.pump()
        elif self.task is not None:
            self.task.cancel()

    # --- the core's events ---------------------------------------------------------------

    def _on_event(self, event: ev.CoreEvent) -> None:
        listener = self.client.listener
        match event:
            case ev.RequestAcked(reply=voip_pb2.PeerList() as peers):
                listener.peer_list(peers)
            case ev.RequestFailed(command=command, code=code, message=message):
                listener.error(code, message, command)
            case ev.Welcomed(welcome=welcome):
                listener.connection(
                    SessionWelcomed(self.address.key, welcome, self._certificate_note)
                )
                listener.voice_path(self.send_voice, welcome.user_id)
                if self.client.loss_meter is not None:
                    self._loss_timer = self.loop.call_later(REPORT_SECONDS, self._report_loss)
            case ev.LossFeedbackReceived(reporter_id=reporter, frames=frames, lost=lost):
                listener.loss_feedback(reporter, frames, lost)
            case ev.RequestFailed(command="LossReport", code=code, message=message):
                log.debug("loss report refused (%s): %s", code, message)
            case ev.Refused(code=code, message=message):
                listener.error(code, message, "Connect")
            case ev.TrustRequired(fingerprint_text=text, reason=reason):
                self.client.awaiting_trust(self, text, reason)
            case ev.ConnectionEnded(reason=reason, was_ready=was_ready):
                if self._loss_timer is not None:
                    self._loss_timer.cancel()
                self.client.session_ended(self, reason, was_ready)
            case ev.ChallengeReceived() | ev.RequestAcked(reply=None):
                pass  # handled inside the core (a query's reply goes on to the model)
            case _:
                listener.server_event(event)  # the model turns it into State

    # --- sending ----------------------------------------------------------------------

    def send_request(self, command: c.ServerCommand | c.RequestResync) -> None:
        kind, fields = c.request_of(command)
        self.core.send_request(kind, c.command_name(command), self.loop.time(), **fields)
        if self._proto is not None:
            self._proto.pump()

    def _report_loss(self) -> None:
        """Send what the playback side lost of each talker since the last report."""
        meter = self.client.loss_meter
        if meter is None or self.stopped or not self.core.ready:
            return
        now = self.loop.time()
        due = meter.due(now)
        if due:
            talkers = [voip_pb2.TalkerLoss(talker_id=t, frames=min(n, 1000), lost=min(lost, n))
                       for t, (n, lost) in sorted(due.items())[:32] if t != 0]
            if talkers:
                self.core.send_request("loss_report", "LossReport", now, talkers=talkers)
                if self._proto is not None:
                    self._proto.pump()
        self._loss_timer = self.loop.call_later(REPORT_SECONDS, self._report_loss)

    def send_voice(self, data: bytes) -> None:
        """Thread-safe, non-blocking: queue one voice datagram on the loop."""
        # RuntimeError: the loop is closed, so the connection is gone.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self._send_datagram, data)

    def _send_datagram(self, data: bytes) -> None:
        if self._proto is not None:
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
        loss_meter: LossMeter | None = None,
    ) -> None:
        self.loop = loop
        #: The playback side's per-talker loss counts (None: send no reports).
        self.loss_meter = loss_meter
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
        self.listener.connection(SessionClosed())

    def accept_certificate(self) -> None:
        if self._pending_trust is None:
            self._nothing_to_decide("AcceptCertificate")
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
            self._nothing_to_decide("RejectCertificate")
            return
        self._pending_trust = None
        self.listener.connection(SessionClosed())

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

    def awaiting_trust(self, session: Session, fingerprint_text: str, reason: str) -> None:
        if session is not self._session:
            return
        self._pending_trust = (session.command, session.address, fingerprint_text)
        self.listener.connection(TrustAsked(session.address.key, fingerprint_text, reason))

    def move_pin(self, address: str, old: str, new: str) -> str:
        """A verified certificate takes over `address`'s pin; returns what to tell the user."""
        notice = pin_moved_notice(address, old, new)
        log.warning("%s", notice)
        try:
            self.known.pin(address, new)
        except CertificateError as exc:
            self.listener.error(LocalErrorCode.CERTIFICATE.value, str(exc), "")
        return notice

    def session_ended(self, session: Session, reason: str, was_ready: bool) -> None:
        if was_ready:
            self.listener.voice_path(None, None)
        if session is not self._session:
            return  # replaced or stopped by the user: already reported
        self._session = None
        if session.stopped or self._pending_trust is not None:
            return
        log.info("connection to %s lost: %s", session.address, reason)
        self.listener.connection(SessionLost(reason, session.address.key))

    # --- internals -----------------------------------------------------------------------------

    def _nothing_to_decide(self, command: str) -> None:
        self.listener.error(
            LocalErrorCode.CERTIFICATE.value,
            "no server certificate is waiting for a decision; connect first",
            command,
        )

    def _start(self, command: c.Connect, address: ServerAddress, accepted: str | None) -> None:
        try:
            identity = self._identity()
        except IdentityError as exc:
            self.listener.error(LocalErrorCode.CONFIG.value, str(exc), "Connect")
            self.listener.connection(SessionLost(str(exc), address.key))
            return
        self.listener.connection(ConnectStarted(address.key))
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
