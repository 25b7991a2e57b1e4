"""A WebTransport test client in Python: what a browser does, on aioquic's HTTP/3.

Same API as `quic_client.Client` (hello, request, wait_*, datagrams), over
ALPN h3: an extended CONNECT to /voip, one bidirectional WebTransport stream
for the control messages, HTTP datagrams for voice. Tests use it to check the
server's WebTransport adapter without a browser, and to send what a browser
would not (other paths, extra streams, foreign datagrams).
"""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from typing import Any

from aioquic.asyncio import connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.h3.connection import FrameType, H3Connection
from aioquic.h3.events import DatagramReceived, HeadersReceived, WebTransportStreamDataReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import ConnectionTerminated, QuicEvent
from cryptography.hazmat.primitives.serialization import Encoding
from nacl.signing import SigningKey
from voip_tests_server_client import Client

from voip.proto import voip_pb2
from voip.protocol.framing import FrameDecoder
from voip.protocol.handshake import make_hello


class WebClientProtocol(QuicConnectionProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.decoder = FrameDecoder()
        self.envelopes: list[voip_pb2.Envelope] = []
        self.datagrams: list[bytes] = []
        self.terminated: ConnectionTerminated | None = None
        self.changed = asyncio.Event()
        self.h3 = H3Connection(self._quic, enable_webtransport=True)
        self.responses: dict[int, dict[bytes, bytes]] = {}
        self.session_id: int | None = None

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, ConnectionTerminated):
            self.terminated = event
            self.changed.set()
            return
        for h3_event in self.h3.handle_event(event):
            if isinstance(h3_event, HeadersReceived):
                self.responses[h3_event.stream_id] = dict(h3_event.headers)
            elif isinstance(h3_event, WebTransportStreamDataReceived):
                self.envelopes.extend(self.decoder.feed_envelopes(h3_event.data))
            elif isinstance(h3_event, DatagramReceived):
                self.datagrams.append(h3_event.data)
            self.changed.set()

    def webtransport_stream(self) -> int:
        """Open a bidirectional WebTransport stream in the session.

        aioquic's client does not mark its own WebTransport streams, and would
        parse the server's answer on them as HTTP/3 frames: mark it as a
        browser's stack does.
        """
        assert self.session_id is not None
        stream_id = self.h3.create_webtransport_stream(self.session_id)
        with self.h3._get_or_create_stream(stream_id) as stream:
            stream.frame_type = FrameType.WEBTRANSPORT_STREAM
            stream.session_id = self.session_id
        return stream_id

    def request_session(self, authority: str, path: str = "/voip") -> int:
        stream_id = self._quic.get_next_available_stream_id()
        self.h3.send_headers(
            stream_id,
            [
                (b":method", b"CONNECT"),
                (b":scheme", b"https"),
                (b":authority", authority.encode()),
                (b":path", path.encode()),
                (b":protocol", b"webtransport"),
            ],
        )
        self.transmit()
        return stream_id


class WebClient(Client):
    """`Client`'s waiting and state checks, over WebTransport and without a client core."""

    protocol: WebClientProtocol  # type: ignore[assignment]
    control_stream: int = -1

    @classmethod
    async def open(  # type: ignore[override]
        cls,
        port: int,
        *,
        name: str = "user",
        key: SigningKey | None = None,
        authority: str | None = None,
        **_: Any,
    ) -> WebClient:
        config = QuicConfiguration(
            is_client=True,
            alpn_protocols=["h3"],
            server_name="localhost",
            max_datagram_frame_size=65536,
        )
        config.verify_mode = ssl.CERT_NONE
        manager = connect(
            "127.0.0.1", port, configuration=config, create_protocol=WebClientProtocol
        )
        protocol = await manager.__aenter__()
        assert isinstance(protocol, WebClientProtocol)
        client = cls(protocol, key or SigningKey.generate(), name)  # type: ignore[arg-type]
        client._exit = manager
        session = protocol.request_session(authority or f"localhost:{port}")
        status = await client.wait_for(
            lambda: protocol.responses.get(session), "the CONNECT answer"
        )
        assert status[b":status"] == b"200", status
        protocol.session_id = session
        client.control_stream = protocol.webtransport_stream()
        client.send_raw(b"\x00")
        return client

    @property
    def fingerprint(self) -> bytes:
        cert = self.protocol._quic.tls._peer_certificate
        assert cert is not None
        return hashlib.sha256(cert.public_bytes(Encoding.DER)).digest()

    async def hello(self, password: str = "", **overrides: Any) -> None:
        challenge = (await self.wait_envelope("challenge")).challenge
        hello = make_hello(
            challenge=challenge,
            cert_fingerprint=overrides.pop("fingerprint", self.fingerprint),
            public_key=bytes(self.key.verify_key),
            sign=lambda data: bytes(self.key.sign(data).signature),
            display_name=self.name,
            password=password,
        )
        for attr, value in overrides.items():
            setattr(hello, attr, value)
        self.send(voip_pb2.Envelope(client_hello=hello))

    async def request(self, **payload: Any) -> voip_pb2.Envelope:
        rid = self._next_request
        self._next_request += 1
        self.send(voip_pb2.Envelope(request_id=rid, **payload))
        return await self.wait_for(
            lambda: next((e for e in self.protocol.envelopes if e.request_id == rid), None),
            f"an answer to request {rid}",
        )

    def send_raw(self, data: bytes) -> None:
        self.protocol._quic.send_stream_data(self.control_stream, data)
        self.protocol.transmit()

    def send_datagram(self, data: bytes) -> None:
        assert self.protocol.session_id is not None
        self.protocol.h3.send_datagram(self.protocol.session_id, data)
        self.protocol.transmit()
