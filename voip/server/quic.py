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

What a client may make the server hold is bounded here, below the core: a
native client gets one stream (the control stream; opening another is a
violation, before its data is even delivered), a receive buffer on the
control stream of at most `max_receive_buffer` bytes (aioquic would
otherwise keep out-of-order data as long as the window it keeps doubling
allows), a frame size that is small until the hub raises it on
authentication, a datagram queue of at most `max_datagram_queue` voice
datagrams per listener. A reset or stopped control stream is reported to the
listener, which closes the session; nothing ever raises into the fan-out.

The module does not know the hub: it reports to a `ConnectionListener`.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable
from itertools import repeat
from typing import Any, Protocol, cast

from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.quic.congestion.base import QuicCongestionControl, register_congestion_control
from aioquic.quic.connection import NetworkAddress, QuicConnection
from aioquic.quic.events import (
    ConnectionTerminated,
    DatagramFrameReceived,
    HandshakeCompleted,
    QuicEvent,
    StopSendingReceived,
    StreamDataReceived,
    StreamReset,
)
from aioquic.quic.packet_builder import QuicSentPacket
from cryptography.hazmat.primitives.serialization import Encoding

from voip.errors import ProtocolError, TruncatedFrame
from voip.proto import voip_pb2
from voip.protocol.fingerprint import certificate_fingerprint
from voip.protocol.framing import DEFAULT_MAX_FRAME, FrameDecoder, parse_envelope
from voip.protocol.handshake import HelloBinding
from voip.server.certs.web_cert import WebIdentity
from voip.server.relay import Relay
from voip.server.webtransport import H3_ALPN, WebSession, choose_certificate, hello_bindings

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
#: Receive window we advertise for the control stream and the connection:
#: requests are small, and aioquic raises the window as data arrives.
RECEIVE_WINDOW = 64 * 1024
#: Voice datagrams queued for one listener before the oldest are dropped.
DEFAULT_DATAGRAM_QUEUE = 256


class ConnectionListener(Protocol):
    """What a connection reports to (the hub implements it)."""

    relay: Relay
    #: The certificate browsers get instead of the server's (None: the same one).
    web_identity: WebIdentity | None

    def next_session_id(self) -> int: ...

    def connected(self, p: ServerProtocol) -> None: ...

    def stream_opened(self, p: ServerProtocol) -> None: ...

    def received(self, p: ServerProtocol, envelope: voip_pb2.Envelope) -> None: ...

    def violation(self, p: ServerProtocol, message: str) -> None: ...

    def stream_ended(self, p: ServerProtocol) -> None: ...

    def stream_aborted(self, p: ServerProtocol, message: str) -> None: ...

    def disconnected(self, p: ServerProtocol, code: int, reason: str) -> None: ...


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

    def __init__(
        self,
        quic: QuicConnection,
        stream_handler: Any = None,
        *,
        hub: ConnectionListener,
        max_frame: int = DEFAULT_MAX_FRAME,
        max_datagram_queue: int = DEFAULT_DATAGRAM_QUEUE,
    ) -> None:
        super().__init__(quic, stream_handler)
        self.hub = hub
        self.session_id = hub.next_session_id()
        self.relay_route: tuple[int, int] | None = None
        self.dropped_datagrams = 0
        self.stale_datagrams = 0  # voice dropped because it could not leave in time
        self.queue_full = 0  # flushes that found the datagram queue full (oldest dropped)
        self.voice_tokens = 0.0  # the relay's per-sender bucket (see Relay.on_datagram)
        self.voice_stamp = float("-inf")  # the first datagram finds a full bucket
        # Transport parameters are not sent yet: a small receive window.
        quic._local_max_data.value = RECEIVE_WINDOW
        quic._local_max_stream_data_bidi_remote = RECEIVE_WINDOW
        #: Undelivered control-stream bytes aioquic may hold (raised with the frame size).
        self.max_receive_buffer = 2 * max_frame + RECEIVE_WINDOW
        # A bounded queue: appending past the bound drops the oldest datagram.
        quic._datagrams_pending = deque(maxlen=max_datagram_queue)
        # Bound once: the relay calls it for every recipient of every datagram.
        # It is what `send_datagram_frame` does (aioquic 1.7.2), minus a call.
        self.queue_datagram = quic._datagrams_pending.append
        # Flush time of each datagram aioquic still holds from an earlier flush
        # (they are the first len(_held) of its queue), oldest first.
        self._held: deque[float] = deque()
        self._decoder = FrameDecoder(max_frame)
        self._registered = False
        self._stream_open = False
        self._gone = False  # ConnectionTerminated seen
        self.closing = False  # we closed it; events still arriving are ignored
        self.authenticated = False  # set by the hub on Welcome
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

    def peer_address(self) -> str:
        """The client's IP address (the host part of its current network path)."""
        paths = self._quic._network_paths
        return str(paths[0].addr[0]) if paths else ""

    @property
    def control_open(self) -> bool:
        """True once the client opened the control stream (before that we cannot send on it)."""
        return self._stream_open if self.web is None else self.web.control_stream is not None

    def send_control(self, data: bytes) -> None:
        """Queue control bytes; raises if the stream cannot take them (reset, stopped)."""
        if self.web is not None:
            self.web.send_control(data)
            return
        self._quic.send_stream_data(CONTROL_STREAM_ID, data)

    def control_backlog(self) -> int:
        """Bytes written to the control stream that the client has not acknowledged."""
        stream_id = CONTROL_STREAM_ID if self.web is None else self.web.control_stream
        stream = self._quic._streams.get(stream_id) if stream_id is not None else None
        if stream is None:
            return 0
        sender = stream.sender
        return sender._buffer_stop - sender._buffer_start

    def set_max_frame(self, max_frame: int) -> None:
        """Raise (or lower) the largest control frame accepted from now on."""
        self._decoder.max_frame = max_frame
        if self.web is not None:
            self.web._decoder.max_frame = max_frame
        self.max_receive_buffer = 2 * max_frame + RECEIVE_WINDOW

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
        if n == pending.maxlen:
            self.queue_full += 1
            self.hub.relay.stats.queue_full += 1
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
        quic = self._quic
        quic.receive_datagram(cast(bytes, data), addr, now=self._loop.time())
        self._process_events()
        if self.web is None and not self.closing:
            self._check_streams(quic)
        if self._registered and not self._gone:
            self.hub.relay.mark_dirty(self)
        else:
            self.transmit()

    def close_with(self, code: int, reason: str) -> None:
        """Send what is queued (the error or goodbye), then the QUIC close."""
        self.closing = True
        self.transmit()
        if self.web is not None and self.web.linger(lambda: self.close_now(code, reason)):
            return  # a browser first reads the error (webtransport.py, linger)
        self.close_now(code, reason)

    def close_now(self, code: int, reason: str) -> None:
        if not self._gone:
            self._quic.close(error_code=code, reason_phrase=reason)
            self.transmit()

    def _check_streams(self, quic: QuicConnection) -> None:
        """A native client's other streams and unreadable bytes are refused at once."""
        streams = quic._streams
        if not streams:
            return
        if len(streams) > 1 or CONTROL_STREAM_ID not in streams:
            other = next(i for i in streams if i != CONTROL_STREAM_ID)
            self._refuse(
                f"the client opened stream {other}; only stream {CONTROL_STREAM_ID} "
                "carries control messages"
            )
            return
        held = len(streams[CONTROL_STREAM_ID].receiver._buffer)
        if held > self.max_receive_buffer:
            self._refuse(
                f"the client sent {held} bytes on the control stream that do not form "
                "messages (out of order, or a frame that never ends); the limit is "
                f"{self.max_receive_buffer}"
            )

    def _refuse(self, message: str) -> None:
        if self._registered:
            self.hub.violation(self, message)
        else:
            self.close_with(voip_pb2.MALFORMED_MESSAGE, message)

    # --- aioquic events --------------------------------------------------------------

    def quic_event_received(self, event: QuicEvent) -> None:
        if self.web is not None and not isinstance(event, ConnectionTerminated):
            self.web.event(event)
        elif isinstance(event, DatagramFrameReceived):
            self.hub.relay.on_datagram(self, event.data)
        elif isinstance(event, StreamDataReceived):
            self._stream_data(event)
        elif isinstance(event, StopSendingReceived | StreamReset):
            self._stream_aborted(event)
        elif isinstance(event, HandshakeCompleted):
            self._registered = True
            if event.alpn_protocol == H3_ALPN:
                self.web = WebSession(self, self._quic)
                self.web._decoder.max_frame = self._decoder.max_frame
                return
            self.hub.connected(self)
        elif isinstance(event, ConnectionTerminated) and not self._gone:
            self._gone = True
            if self.web is None or self.web.established:
                self.hub.disconnected(self, event.error_code, event.reason_phrase)

    def _stream_data(self, event: StreamDataReceived) -> None:
        if not self._registered or self.closing:
            return  # 0-RTT data before the handshake, or a session we closed
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
            bodies = self._decoder.feed(event.data)
        except ProtocolError as exc:
            self.hub.violation(self, str(exc))
            return
        for body in bodies:
            if self.closing:
                return
            try:
                envelope = parse_envelope(body)
            except ProtocolError as exc:
                self.hub.violation(self, str(exc))
                return
            self.hub.received(self, envelope)
        if event.end_stream and not self.closing:
            try:
                self._decoder.close()
            except TruncatedFrame as exc:
                self.hub.violation(self, str(exc))
                return
            self.hub.stream_ended(self)

    def _stream_aborted(self, event: StopSendingReceived | StreamReset) -> None:
        if not self._registered or self.closing or event.stream_id != CONTROL_STREAM_ID:
            return
        if isinstance(event, StopSendingReceived):
            what = "stopped reading the control stream (STOP_SENDING)"
        else:
            what = "reset the control stream (RESET_STREAM)"
        self.hub.stream_aborted(
            self, f"the client {what} with code {event.error_code}; the session is closed"
        )
