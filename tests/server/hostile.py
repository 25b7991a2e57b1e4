"""A raw aioquic client that misbehaves on purpose, written from docs/PROTOCOL.md.

It owns its QUIC connection and control stream directly, so a test can do
what no well-behaved client does: stop sending or reset the control stream,
stop reading (never widen its flow-control window), never send a hello, send
garbage, oversized or truncated frames, flood requests or datagrams.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ssl
from typing import Any

from aioquic.asyncio import connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import ConnectionTerminated, QuicEvent, StreamDataReceived
from cryptography.hazmat.primitives.serialization import Encoding
from nacl.signing import SigningKey

from voip.proto import voip_pb2
from voip.protocol.framing import FrameDecoder, encode_envelope
from voip.protocol.handshake import ALPN, make_hello
from voip.protocol.state import StateModel, apply_update, state_hash

DEADLINE = 10.0


class RawProtocol(QuicConnectionProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.decoder = FrameDecoder()
        self.envelopes: list[voip_pb2.Envelope] = []
        self.terminated: ConnectionTerminated | None = None
        self.changed = asyncio.Event()

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, StreamDataReceived):
            self.envelopes.extend(self.decoder.feed_envelopes(event.data))
        elif isinstance(event, ConnectionTerminated):
            self.terminated = event
        self.changed.set()


class Hostile:
    """One raw connection; use as `async with Hostile.connect(port) as h`."""

    def __init__(self, protocol: RawProtocol) -> None:
        self.protocol = protocol
        self.quic = protocol._quic
        self.key = SigningKey.generate()
        self.next_request = 1

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(cls, port: int, *, host: str = "127.0.0.1") -> Any:
        config = QuicConfiguration(
            is_client=True,
            alpn_protocols=[ALPN],
            server_name="localhost",
            max_datagram_frame_size=65536,
            idle_timeout=60.0,
        )
        config.verify_mode = ssl.CERT_NONE
        async with connect(host, port, configuration=config, create_protocol=RawProtocol) as p:
            yield cls(p)

    # --- sending -------------------------------------------------------------

    def send_raw(self, data: bytes, end_stream: bool = False) -> None:
        self.quic.send_stream_data(0, data, end_stream=end_stream)
        self.protocol.transmit()

    def send(self, envelope: voip_pb2.Envelope) -> None:
        self.send_raw(encode_envelope(envelope))

    def datagram(self, data: bytes) -> None:
        self.quic.send_datagram_frame(data)
        self.protocol.transmit()

    async def login(self, name: str = "hostile", password: str = "") -> voip_pb2.Welcome:
        """Open the stream, answer the challenge; the Welcome (fails the test if refused)."""
        self.send_raw(b"\x00")
        await self.hello(name, password)
        return (await self.wait_kind("welcome")).welcome

    async def hello(self, name: str = "hostile", password: str = "") -> None:
        challenge = (await self.wait_kind("challenge")).challenge
        cert = self.quic.tls._peer_certificate
        assert cert is not None
        self.send(
            voip_pb2.Envelope(
                client_hello=make_hello(
                    challenge=challenge,
                    cert_fingerprint=hashlib.sha256(cert.public_bytes(Encoding.DER)).digest(),
                    public_key=bytes(self.key.verify_key),
                    sign=lambda data: bytes(self.key.sign(data).signature),
                    display_name=name,
                    password=password,
                )
            )
        )

    # --- misbehaving ---------------------------------------------------------

    def stop_sending(self, code: int = 7) -> None:
        """STOP_SENDING on the control stream: 'I will not read what you send'."""
        self.quic.stop_stream(0, code)
        self.protocol.transmit()

    def reset_stream(self, code: int = 7) -> None:
        """RESET_STREAM on the control stream: abandon what we were sending."""
        self.quic.reset_stream(0, code)
        self.protocol.transmit()

    def stop_reading(self) -> None:
        """Never widen the flow-control windows again: the server's data piles up."""
        self.quic._write_connection_limits = lambda *a, **k: None  # type: ignore[method-assign]
        self.quic._write_stream_limits = lambda *a, **k: None  # type: ignore[method-assign]

    async def keep_alive(self, seconds: float, every: float = 0.5) -> None:
        """QUIC PINGs (no control data) for `seconds`; stops early once closed."""
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while loop.time() < end and self.protocol.terminated is None:
            with contextlib.suppress(Exception):
                self.quic.send_ping(0)
                self.protocol.transmit()
            await asyncio.sleep(every)

    # --- waiting -------------------------------------------------------------

    async def wait_for(self, probe: Any, what: str, timeout: float = DEADLINE) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = probe()
            if result:
                return result
            if loop.time() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            self.protocol.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.protocol.changed.wait(), 0.2)

    async def wait_kind(self, kind: str, timeout: float = DEADLINE) -> voip_pb2.Envelope:
        def probe() -> voip_pb2.Envelope | None:
            for e in self.protocol.envelopes:
                if e.WhichOneof("payload") == kind:
                    return e
            if self.protocol.terminated is not None:
                t = self.protocol.terminated
                raise AssertionError(f"closed ({t.error_code}: {t.reason_phrase}) before {kind}")
            return None

        result: voip_pb2.Envelope = await self.wait_for(probe, f"a {kind} envelope", timeout)
        return result

    async def wait_closed(self, timeout: float = DEADLINE) -> ConnectionTerminated:
        result: ConnectionTerminated = await self.wait_for(
            lambda: self.protocol.terminated, "the connection to close", timeout
        )
        return result

    def answers(self, request_id: int) -> list[voip_pb2.Envelope]:
        return [e for e in self.protocol.envelopes if e.request_id == request_id]

    def of_kind(self, kind: str) -> list[voip_pb2.Envelope]:
        return [e for e in self.protocol.envelopes if e.WhichOneof("payload") == kind]

    def request_nowait(self, **payload: Any) -> int:
        rid = self.next_request
        self.next_request += 1
        self.send(voip_pb2.Envelope(request_id=rid, **payload))
        return rid

    async def request(self, **payload: Any) -> voip_pb2.Envelope:
        """Send a request; its one answer (ack or error)."""
        rid = self.request_nowait(**payload)
        answers = await self.wait_for(lambda: self.answers(rid), f"an answer to {rid}")
        answer: voip_pb2.Envelope = answers[0]
        return answer

    def state(self) -> StateModel:
        """The shared state from every snapshot and update received, each hash checked."""
        model: StateModel | None = None
        for e in self.protocol.envelopes:
            if e.HasField("server_state"):
                model = StateModel.from_proto(e.server_state)
                assert state_hash(model) == e.state_hash
            elif e.HasField("state_update"):
                assert model is not None
                model = apply_update(model, e.state_update, e.state_hash)
        assert model is not None, "no server_state received"
        return model
