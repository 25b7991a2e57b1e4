"""A small real aioquic test client for the server tests.

It opens the control stream, answers the challenge with a real Ed25519 key,
and records every envelope, datagram and the connection close, so tests can
wait on conditions (with a deadline) instead of sleeping. It also keeps the
client's copy of the shared state with `apply_update`, checking every hash.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

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
from nacl.signing import SigningKey

from voip.proto import voip_pb2
from voip.protocol.framing import FrameDecoder, encode_envelope
from voip.protocol.handshake import ALPN, make_hello
from voip.protocol.state import StateModel, apply_update, state_hash

T = TypeVar("T")
DEADLINE = 10.0


class ClientProtocol(QuicConnectionProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.decoder = FrameDecoder()
        self.envelopes: list[voip_pb2.Envelope] = []
        self.datagrams: list[bytes] = []
        self.terminated: ConnectionTerminated | None = None
        self.changed = asyncio.Event()

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, StreamDataReceived):
            self.envelopes.extend(self.decoder.feed_envelopes(event.data))
        elif isinstance(event, DatagramFrameReceived):
            self.datagrams.append(event.data)
        elif isinstance(event, ConnectionTerminated):
            self.terminated = event
        else:
            return
        self.changed.set()


@dataclass
class Client:
    protocol: ClientProtocol
    key: SigningKey
    name: str
    user_id: int = 0
    state: StateModel | None = None
    seen: int = 0  # envelopes already applied to `state`
    _next_request: int = 1
    _exit: Any = field(default=None, repr=False)

    # --- connecting --------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        port: int,
        *,
        name: str = "user",
        key: SigningKey | None = None,
        max_datagram_size: int | None = None,
    ) -> Client:
        """Connect and open the control stream; the challenge is then on its way."""
        config = QuicConfiguration(
            is_client=True,
            alpn_protocols=[ALPN],
            server_name="localhost",
            max_datagram_frame_size=65536,
        )
        config.verify_mode = ssl.CERT_NONE
        if max_datagram_size is not None:
            config.max_datagram_size = max_datagram_size
        manager = connect("127.0.0.1", port, configuration=config, create_protocol=ClientProtocol)
        protocol = await manager.__aenter__()
        client = cls(protocol, key or SigningKey.generate(), name)
        client._exit = manager
        client.send_raw(b"\x00")  # opens stream 0 with one empty frame
        return client

    @classmethod
    async def join(
        cls,
        port: int,
        *,
        name: str = "user",
        password: str = "",
        key: SigningKey | None = None,
        max_datagram_size: int | None = None,
    ) -> Client:
        """Connect and authenticate; fails the test if not welcomed."""
        client = await cls.open(port, name=name, key=key, max_datagram_size=max_datagram_size)
        await client.hello(password=password)
        welcome = await client.wait_envelope("welcome")
        client.user_id = welcome.welcome.user_id
        await client.wait_envelope("server_state")
        client.sync()
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

    async def close(self) -> None:
        if self._exit is not None:
            manager, self._exit = self._exit, None
            await manager.__aexit__(None, None, None)

    # --- sending -----------------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        self.protocol._quic.send_stream_data(0, data)
        self.protocol.transmit()

    def send(self, envelope: voip_pb2.Envelope) -> None:
        self.send_raw(encode_envelope(envelope))

    def send_datagram(self, data: bytes) -> None:
        self.protocol._quic.send_datagram_frame(data)
        self.protocol.transmit()

    async def request(self, **payload: Any) -> voip_pb2.Envelope:
        """Send a request and return its answer (ack, error, or a query's reply)."""
        rid = self._next_request
        self._next_request += 1
        self.send(voip_pb2.Envelope(request_id=rid, **payload))
        return await self.wait_for(
            lambda: next(
                (
                    e
                    for e in self.protocol.envelopes
                    if e.request_id == rid
                ),
                None,
            ),
            f"an answer to request {rid}",
        )

    # --- waiting -----------------------------------------------------------------

    async def wait_for(
        self, probe: Callable[[], T | None], what: str, timeout: float = DEADLINE
    ) -> T:
        """Wait until `probe()` returns something other than None/False."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = probe()
            if result is not None and result is not False:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"{self.name}: timed out waiting for {what}")
            self.protocol.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.protocol.changed.wait(), remaining)

    async def wait_envelope(
        self, kind: str, where: Callable[[voip_pb2.Envelope], bool] = lambda e: True
    ) -> voip_pb2.Envelope:
        return await self.wait_for(
            lambda: next(
                (e for e in self.envelopes_of(kind) if where(e)),
                None,
            ),
            f"a {kind} envelope",
        )

    async def wait_closed(self) -> ConnectionTerminated:
        return await self.wait_for(lambda: self.protocol.terminated, "the connection to close")

    async def wait_datagrams(self, count: int) -> list[bytes]:
        await self.wait_for(lambda: len(self.protocol.datagrams) >= count, f"{count} datagrams")
        return self.protocol.datagrams

    def envelopes_of(self, kind: str) -> list[voip_pb2.Envelope]:
        return [e for e in self.protocol.envelopes if e.WhichOneof("payload") == kind]

    # --- state -------------------------------------------------------------------

    def sync(self) -> StateModel:
        """Apply every snapshot/update received so far, checking each hash."""
        for env in self.protocol.envelopes[self.seen :]:
            if env.HasField("server_state"):
                self.state = StateModel.from_proto(env.server_state)
                assert state_hash(self.state) == env.state_hash
            elif env.HasField("state_update"):
                assert self.state is not None
                self.state = apply_update(self.state, env.state_update, env.state_hash)
        self.seen = len(self.protocol.envelopes)
        assert self.state is not None
        return self.state

    async def wait_state(self, probe: Callable[[StateModel], bool], what: str) -> StateModel:
        return await self.wait_for(lambda: probe(self.sync()) and self.state, what)
