"""The aioquic glue for a `ClientCore` (the client twin of ``server/quic.py``).

Like aioquic's ``asyncio/protocol.py``: QUIC events go into the core, then
`pump` drains the core's events to a handler, writes what it wants on the
control stream, closes the connection when it says so, transmits and
re-arms the core's timer. Nothing here decides anything. The real client
(`voip.client.session`), the server tests' client and the relay benchmark's
load clients all connect through `CoreProtocol`, so the handshake is
written once, in the core.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from typing import Any

from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import (
    ConnectionTerminated,
    DatagramFrameReceived,
    QuicEvent,
    StreamDataReceived,
)
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from voip.client.core import ClientCore
from voip.client.core.events import CoreEvent
from voip.client.trust_policy import TrustDecision
from voip.protocol.fingerprint import certificate_fingerprint
from voip.protocol.handshake import ALPN
from voip.protocol.voice import VoiceFrame

log = logging.getLogger(__name__)

MAX_DATAGRAM_FRAME_SIZE = 65536
#: ACK delay after the handshake (aioquic's default is 1 ms). Voice datagrams
#: are unreliable (their ACKs only feed congestion control) and the control
#: stream tolerates 20 ms more before a retransmission; 20 ms
#: (under the 25 ms max_ack_delay aioquic advertises) means about one ACK per
#: voice frame instead of one per packet: the relay server's receive cost
#: (benchmarks/README.md, relay). aioquic 1.7.2 keeps it private.
ACK_DELAY = 0.020


def client_configuration(server_name: str, idle_timeout: float) -> QuicConfiguration:
    """QUIC settings of every client: ALPN, datagrams, and no TLS verification by aioquic.

    The certificate is checked by us once the handshake is done
    (`voip.client.trust`): a self-signed one is not an error but a question
    for the user.
    """
    configuration = QuicConfiguration(
        is_client=True,
        alpn_protocols=[ALPN],
        max_datagram_frame_size=MAX_DATAGRAM_FRAME_SIZE,
        idle_timeout=idle_timeout,
        server_name=server_name,
    )
    configuration.verify_mode = ssl.CERT_NONE
    return configuration


class CoreProtocol(QuicConnectionProtocol):
    """One QUIC connection driven by a `ClientCore`.

    `on_event` receives the core's events and `on_voice` each playable voice
    frame, both in the loop thread; subclasses may override
    `datagram_frame_received` to see raw datagrams instead.
    """

    def __init__(
        self,
        *args: Any,
        core: ClientCore,
        on_event: Callable[[CoreEvent], None] = lambda event: None,
        on_voice: Callable[[VoiceFrame], None] = lambda frame: None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.core = core
        self.on_event = on_event
        self.on_voice = on_voice
        self.control_stream: int | None = None
        self.terminated: ConnectionTerminated | None = None
        self._core_timer: asyncio.TimerHandle | None = None
        self._core_timer_at: float | None = None

    # --- certificates -------------------------------------------------------------------

    def peer_certificate(self) -> tuple[x509.Certificate, list[x509.Certificate]] | None:
        """The server's leaf certificate and chain (aioquic exposes no public accessor)."""
        tls = self._quic.tls
        cert = tls._peer_certificate
        if cert is None:
            return None
        return cert, list(tls._peer_certificate_chain)

    def tls_established(self, decision: Callable[[bytes], TrustDecision]) -> None:
        """After `wait_connected`: tell the core what `decision` makes of the certificate."""
        peer = self.peer_certificate()
        if peer is None:
            self.core.fail("the server presented no certificate")
        else:
            fingerprint = certificate_fingerprint(peer[0].public_bytes(Encoding.DER))
            self.core.tls_established(fingerprint, decision(fingerprint), self._loop.time())
        self.pump()

    # --- driving the core ------------------------------------------------------------

    def pump(self) -> None:
        """Drain the core: events out, stream bytes and close to QUIC, timer re-armed."""
        core = self.core
        while (event := core.next_event()) is not None:
            self.on_event(event)
        data = core.data_to_send()
        if data:
            if self.control_stream is None:
                self.control_stream = self._quic.get_next_available_stream_id()
            self._quic.send_stream_data(self.control_stream, data)
        reason = core.close_wanted()
        if reason is not None:
            self.close_for_core(reason)
        self.transmit()
        self._arm_core_timer()

    def close_for_core(self, reason: str) -> None:
        """The core is done with the connection: close it (application error 0)."""
        self._quic.close(error_code=0, reason_phrase=reason)

    def _arm_core_timer(self) -> None:
        timer_at = self.core.get_timer()
        if timer_at == self._core_timer_at:
            return
        if self._core_timer is not None:
            self._core_timer.cancel()
            self._core_timer = None
        if timer_at is not None:
            self._core_timer = self._loop.call_at(timer_at, self._handle_core_timer)
        self._core_timer_at = timer_at

    def _handle_core_timer(self) -> None:
        self._core_timer = None
        self._core_timer_at = None
        self.core.handle_timer(self._loop.time())
        self.pump()

    def cancel_core_timer(self) -> None:
        if self._core_timer is not None:
            self._core_timer.cancel()
            self._core_timer = None
            self._core_timer_at = None

    # --- aioquic events ----------------------------------------------------------------

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, StreamDataReceived):
            if event.stream_id != self.control_stream:
                log.debug("ignoring data on unexpected stream %d", event.stream_id)
                return
            self.stream_data_received(event.data, event.end_stream)
        elif isinstance(event, DatagramFrameReceived):
            self.datagram_frame_received(event.data)
        elif isinstance(event, ConnectionTerminated):
            self.terminated = event
            self.cancel_core_timer()

    def stream_data_received(self, data: bytes, end_stream: bool) -> None:
        self.core.receive_stream_data(data, end_stream, self._loop.time())
        self.pump()

    def datagram_frame_received(self, data: bytes) -> None:
        frame = self.core.receive_datagram(data)
        if frame is not None:
            self.on_voice(frame)

    def send_datagram(self, data: bytes) -> None:
        """Send one voice datagram now (voice bypasses the core: it only gates on the phase)."""
        if self.core.ready:
            self._quic.send_datagram_frame(data)
            self.transmit()

    def connection_lost_to_core(self) -> None:
        """Report the end to the core (once), with the QUIC close if there was one."""
        now = self._loop.time()
        event = self.terminated
        if event is None:
            self.core.connection_lost(now)
        else:
            self.core.connection_lost(
                now, error_code=event.error_code, reason_phrase=event.reason_phrase
            )
        self.cancel_core_timer()
        while (core_event := self.core.next_event()) is not None:
            self.on_event(core_event)
