"""The aioquic adapter: one `ServerProtocol` per QUIC connection.

It only moves bytes: control-stream data goes through the frame decoder to
the hub (and from there to `ServerCore`), datagrams go straight to the relay,
and connection events become core events. Nothing here decides anything.

Sending is batched (the relay benchmark's levers, docs/ARCHITECTURE.md):
after the handshake a received packet does not transmit at once as aioquic's
protocol does; the connection is marked dirty and the hub's flush sends
everything queued for it (voice, control, ACKs) in as few packets as
possible, with one timer re-arm. Voice that congestion control or pacing
holds back longer than `STALE_VOICE` is dropped, not queued: late voice is
worthless and a queue only adds delay. The congestion controller is
`RealtimeCongestionControl`, see there why.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable
from itertools import repeat
from typing import TYPE_CHECKING, Any, cast

from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.quic.congestion.base import QuicCongestionControl, register_congestion_control
from aioquic.quic.connection import NetworkAddress, QuicConnection
from aioquic.quic.events import (
    ConnectionTerminated,
    DatagramFrameReceived,
    HandshakeCompleted,
    QuicEvent,
    StreamDataReceived,
)
from aioquic.quic.packet_builder import QuicSentPacket
from cryptography.hazmat.primitives.serialization import Encoding

from voip.errors import ProtocolError
from voip.protocol.fingerprint import certificate_fingerprint
from voip.protocol.framing import FrameDecoder, parse_envelope
from voip.protocol.handshake import HelloBinding
from voip.server.webtransport import H3_ALPN, WebSession, choose_certificate, hello_bindings

if TYPE_CHECKING:
    from voip.server.hub import Hub

logger = logging.getLogger(__name__)

#: The client's first bidirectional stream carries the control messages.
CONTROL_STREAM_ID = 0
#: Voice held back by congestion control or pacing longer than this (seconds,
#: counted from the flush that first tried to send it) is dropped.
STALE_VOICE = 0.060
#: `QuicConfiguration.congestion_control_algorithm` name of `RealtimeCongestionControl`.
REALTIME_CC = "voip-realtime"
#: Its fixed congestion window, in packets of `max_datagram_size`.
REALTIME_CC_WINDOW = 64


class RealtimeCongestionControl(QuicCongestionControl):
    """A fixed congestion window that does not shrink on loss: a deliberate choice.

    Voice is a fixed-rate, self-limited flow (50 datagrams/s per talker,
    unreliable, never retransmitted). Reno or CUBIC halving the window on a
    lost packet does not make talkers send less: it only holds datagrams in
    aioquic's queue, where they age until useless (the relay benchmark saw
    delays of seconds and loss spirals when ACKs were dropped). So the window
    is fixed (`REALTIME_CC_WINDOW` packets, far above what one listener has in
    flight) and what cannot leave is dropped after `STALE_VOICE`. Bytes in
    flight are still tracked, so a dead peer cannot make the server send
    without bound, and the pacer still spreads bursts (its rate follows
    window / RTT). Control messages are a few hundred bytes per event.
    """

    def __init__(self, *, max_datagram_size: int) -> None:
        super().__init__(max_datagram_size=max_datagram_size)
        self.congestion_window = REALTIME_CC_WINDOW * max_datagram_size

    def on_packet_acked(self, *, now: float, packet: QuicSentPacket) -> None:
        self.bytes_in_flight -= packet.sent_bytes

    def on_packet_sent(self, *, packet: QuicSentPacket) -> None:
        self.bytes_in_flight += packet.sent_bytes

    def on_packets_expired(self, *, packets: Iterable[QuicSentPacket]) -> None:
        for packet in packets:
            self.bytes_in_flight -= packet.sent_bytes

    def on_packets_lost(self, *, now: float, packets: Iterable[QuicSentPacket]) -> None:
        for packet in packets:
            self.bytes_in_flight -= packet.sent_bytes

    def on_persistent_congestion(self) -> None:
        pass

    def on_rtt_measurement(self, *, now: float, rtt: float) -> None:
        pass


register_congestion_control(REALTIME_CC, RealtimeCongestionControl)


class ServerProtocol(QuicConnectionProtocol):
    """One client connection. Created by aioquic's `serve` through `Hub.create_protocol`."""

    def __init__(self, quic: QuicConnection, stream_handler: Any = None, *, hub: Hub) -> None:
        super().__init__(quic, stream_handler)
        self.hub = hub
        self.session_id = hub.next_session_id()
        self.relay_route: tuple[int, int] | None = None
        self.dropped_datagrams = 0
        self.stale_datagrams = 0  # voice dropped because it could not leave in time
        # Bound once: the relay calls it for every recipient of every datagram.
        # It is what `send_datagram_frame` does (aioquic 1.7.2), minus a call.
        self.queue_datagram = quic._datagrams_pending.append
        # Flush time of each datagram aioquic still holds from an earlier flush
        # (they are the first len(_held) of its queue), oldest first.
        self._held: deque[float] = deque()
        self._decoder = FrameDecoder()
        self._registered = False
        self._stream_open = False
        self._gone = False
        #: Set when the connection negotiated ``h3``: a browser (webtransport.py).
        self.web: WebSession | None = None
        choose_certificate(quic, lambda: hub.web_identity)

    def __repr__(self) -> str:
        return f"<session {self.session_id}>"

    # Identity-based hashing: the relay keeps protocols in sets and dicts.
    __hash__ = object.__hash__

    def served_fingerprint(self) -> HelloBinding:
        """SHA-256 of the leaf certificate this very connection was served with.

        Read from the connection's TLS context, not from the server's current
        configuration: the certificate can be swapped for new connections
        while this one keeps the one it started with. A browser session may
        also sign its web origin binding (webtransport.hello_bindings).
        """
        certificate = self._quic.tls.certificate
        if certificate is None:
            raise ProtocolError("the connection has no server certificate")
        if self.web is not None:
            return hello_bindings(certificate, self.web.authority)
        return certificate_fingerprint(certificate.public_bytes(Encoding.DER))

    @property
    def control_open(self) -> bool:
        """True once the client opened the control stream (before that we cannot send on it)."""
        return self._stream_open if self.web is None else self.web.control_stream is not None

    def send_control(self, data: bytes) -> None:
        if self.web is not None:
            self.web.send_control(data)
            return
        self._quic.send_stream_data(CONTROL_STREAM_ID, data)

    def web_session_started(self) -> None:
        """The browser's WebTransport session is open: from now on a client like any other."""
        assert self.web is not None
        self.queue_datagram = self.web.queue_datagram_for(self._quic._datagrams_pending.append)
        self.hub.connected(self)

    def web_session_ended(self, reason: str) -> None:
        self.hub.stream_ended(self)

    def send_pending(self, now: float) -> None:
        """Send what is queued (the hub's flush): `transmit()` plus stale-voice dropping."""
        quic = self._quic
        pending = quic._datagrams_pending
        held = self._held
        if held:
            # aioquic's own transmit() (timer, close) may have sent some: those
            # were the oldest.
            for _ in range(len(held) - len(pending)):
                held.popleft()
            cutoff = now - STALE_VOICE
            stale = 0
            while held and held[0] < cutoff:
                held.popleft()
                pending.popleft()
                stale += 1
            if stale:
                self.stale_datagrams += stale
                self.hub.relay.stats.dropped_stale += stale
        n_held = len(held)
        n = len(pending)
        transport = self._transport
        assert transport is not None  # set in connection_made, before any packet
        sendto = transport.sendto
        for data, addr in quic.datagrams_to_send(now=now):
            sendto(data, addr)
        left = len(pending)
        if left:
            sent = n - left
            if sent >= n_held:
                held.clear()
                held.extend(repeat(now, left))
            else:
                for _ in range(sent):
                    held.popleft()
                held.extend(repeat(now, n - n_held))
        elif n_held:
            held.clear()
        # re-arm the timer, as transmit() does
        timer_at = quic.get_timer()
        if timer_at != self._timer_at:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if timer_at is not None:
                self._timer = self._loop.call_at(timer_at, self._handle_timer)
            self._timer_at = timer_at

    def datagram_received(self, data: bytes | str, addr: NetworkAddress) -> None:
        """aioquic transmits after every packet; once connected we leave it to the flush.

        The flush (at most `flush_interval` later) sends the ACKs, responses
        and voice due on this connection together. ACK deadlines are also on
        the connection's timer, which still transmits by itself.
        """
        self._quic.receive_datagram(cast(bytes, data), addr, now=self._loop.time())
        self._process_events()
        if self._registered and not self._gone:
            self.hub.relay.mark_dirty(self)
        else:
            self.transmit()

    def close_with(self, code: int, reason: str) -> None:
        """Send what is queued (the error or goodbye), then the QUIC close."""
        self.transmit()
        if self.web is not None and self.web.linger(lambda: self.close_now(code, reason)):
            return  # a browser first reads the error (webtransport.py, linger)
        self.close_now(code, reason)

    def close_now(self, code: int, reason: str) -> None:
        if not self._gone:
            self._quic.close(error_code=code, reason_phrase=reason)
            self.transmit()

    # --- aioquic events --------------------------------------------------------------

    def quic_event_received(self, event: QuicEvent) -> None:
        if self.web is not None and not isinstance(event, ConnectionTerminated):
            self.web.event(event)
        elif isinstance(event, DatagramFrameReceived):
            self.hub.relay.on_datagram(self, event.data)
        elif isinstance(event, StreamDataReceived):
            self._stream_data(event)
        elif isinstance(event, HandshakeCompleted):
            self._registered = True
            if event.alpn_protocol == H3_ALPN:
                self.web = WebSession(self, self._quic)
                return
            self.hub.connected(self)
        elif isinstance(event, ConnectionTerminated) and not self._gone:
            self._gone = True
            if self.web is None or self.web.established:
                self.hub.disconnected(self, event.error_code, event.reason_phrase)

    def _stream_data(self, event: StreamDataReceived) -> None:
        if not self._registered:
            return  # 0-RTT data before the handshake: ignore
        if event.stream_id != CONTROL_STREAM_ID:
            self.hub.violation(
                self,
                f"data on stream {event.stream_id}; only stream {CONTROL_STREAM_ID} "
                "carries control messages",
            )
            return
        if not self._stream_open:
            self._stream_open = True
            self.hub.stream_opened(self)
        try:
            envelopes = [parse_envelope(body) for body in self._decoder.feed(event.data)]
        except ProtocolError as exc:
            self.hub.violation(self, str(exc))
            return
        for envelope in envelopes:
            self.hub.received(self, envelope)
        if event.end_stream:
            self.hub.stream_ended(self)
