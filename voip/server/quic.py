"""The aioquic adapter: one `ServerProtocol` per QUIC connection.

It only moves bytes: control-stream data goes through the frame decoder to
the hub (and from there to `ServerCore`), datagrams go straight to the relay,
and connection events become core events. Nothing here decides anything.
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Any

from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.quic.connection import QuicConnection
from aioquic.quic.events import (
    ConnectionTerminated,
    DatagramFrameReceived,
    HandshakeCompleted,
    QuicEvent,
    StreamDataReceived,
)
from cryptography.hazmat.primitives.serialization import Encoding

from voip.errors import ProtocolError
from voip.protocol.framing import FrameDecoder, parse_envelope

if TYPE_CHECKING:
    from voip.server.hub import Hub

logger = logging.getLogger(__name__)

#: The client's first bidirectional stream carries the control messages.
CONTROL_STREAM_ID = 0


class ServerProtocol(QuicConnectionProtocol):
    """One client connection. Created by aioquic's `serve` through `Hub.create_protocol`."""

    def __init__(self, quic: QuicConnection, stream_handler: Any = None, *, hub: Hub) -> None:
        super().__init__(quic, stream_handler)
        self.hub = hub
        self.session_id = hub.next_session_id()
        self.relay_route: tuple[int, int] | None = None
        self.dropped_datagrams = 0
        # Bound once: the relay calls it for every recipient of every datagram.
        self.queue_datagram = quic.send_datagram_frame
        self._decoder = FrameDecoder()
        self._registered = False
        self._stream_open = False
        self._gone = False

    def __repr__(self) -> str:
        return f"<session {self.session_id}>"

    # Identity-based hashing: the relay keeps protocols in sets and dicts.
    __hash__ = object.__hash__

    def served_fingerprint(self) -> bytes:
        """SHA-256 of the leaf certificate this very connection was served with.

        Read from the connection's TLS context, not from the server's current
        configuration: the certificate can be swapped for new connections
        while this one keeps the one it started with.
        """
        certificate = self._quic.tls.certificate
        if certificate is None:
            raise ProtocolError("the connection has no server certificate")
        return hashlib.sha256(certificate.public_bytes(Encoding.DER)).digest()

    @property
    def control_open(self) -> bool:
        """True once the client opened the control stream (before that we cannot send on it)."""
        return self._stream_open

    def send_control(self, data: bytes) -> None:
        self._quic.send_stream_data(CONTROL_STREAM_ID, data)

    def close_with(self, code: int, reason: str) -> None:
        """Send what is queued (the error or goodbye), then the QUIC close."""
        self.transmit()
        self._quic.close(error_code=code, reason_phrase=reason)
        self.transmit()

    # --- aioquic events --------------------------------------------------------------

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, DatagramFrameReceived):
            self.hub.relay.on_datagram(self, event.data)
        elif isinstance(event, StreamDataReceived):
            self._stream_data(event)
        elif isinstance(event, HandshakeCompleted):
            self._registered = True
            self.hub.connected(self)
        elif isinstance(event, ConnectionTerminated) and not self._gone:
            self._gone = True
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
