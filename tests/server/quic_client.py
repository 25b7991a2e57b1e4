"""The server tests' client: a thin driver over the real `ClientCore` and its aioquic glue.

The handshake (opening the control stream, answering the challenge with a
real Ed25519 key bound to the certificate) is the client core's, so a change
to it is made once. For hostile tests the driver can also answer the
challenge itself (`hello` with overrides) and write raw bytes. It records
every envelope (its own frame decoder beside the core's), datagram and the
connection close, so tests wait on conditions (with a deadline) instead of
sleeping, and keeps the client's copy of the shared state with
`apply_update`, checking every hash.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aioquic.asyncio import connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.quic.events import ConnectionTerminated, QuicEvent, StreamDataReceived
from nacl.signing import SigningKey

from voip.client.core import ClientCore, Credentials, Timeouts
from voip.client.transport import CoreProtocol, client_configuration
from voip.client.trust_policy import Verified
from voip.proto import voip_pb2
from voip.protocol.framing import FrameDecoder, encode_envelope
from voip.protocol.handshake import make_hello
from voip.protocol.requests import request_envelope
from voip.protocol.state import StateModel, apply_update, state_hash

T = TypeVar("T")
DEADLINE = 10.0


class ClientProtocol(CoreProtocol):
    """`CoreProtocol` that also keeps everything it received, for the tests to look at."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.decoder = FrameDecoder()
        self.envelopes: list[voip_pb2.Envelope] = []
        self.datagrams: list[bytes] = []
        self.changed = asyncio.Event()
        self.core_gave_up: str | None = None

    def stream_data_received(self, data: bytes, end_stream: bool) -> None:
        self.envelopes.extend(self.decoder.feed_envelopes(data))
        super().stream_data_received(data, end_stream)
        self.changed.set()

    def datagram_frame_received(self, data: bytes) -> None:
        self.datagrams.append(data)
        self.changed.set()

    def close_for_core(self, reason: str) -> None:
        """Leave the close to the server: the tests look at its error code."""
        self.core_gave_up = reason

    def quic_event_received(self, event: Any) -> None:
        super().quic_event_received(event)
        if isinstance(event, ConnectionTerminated):
            self.changed.set()


class TlsProbe(QuicConnectionProtocol):
    """A connection that only does QUIC + TLS (no core, no control stream)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.envelopes: list[voip_pb2.Envelope] = []
        self.decoder = FrameDecoder()
        self.terminated: ConnectionTerminated | None = None

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, StreamDataReceived):
            self.envelopes.extend(self.decoder.feed_envelopes(event.data))
        elif isinstance(event, ConnectionTerminated):
            self.terminated = event


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

    @property
    def core(self) -> ClientCore:
        return self.protocol.core

    @property
    def terminated(self) -> ConnectionTerminated | None:
        return self.protocol.terminated

    # --- connecting --------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        port: int,
        *,
        name: str = "user",
        key: SigningKey | None = None,
        max_datagram_size: int | None = None,
        password: str = "",
        answer_challenge: bool = False,
    ) -> Client:
        """Connect and open the control stream; the challenge is then on its way.

        Unless `answer_challenge`, the test answers it (`hello`).
        """
        key = key or SigningKey.generate()
        config = client_configuration("localhost", idle_timeout=60.0)
        if max_datagram_size is not None:
            config.max_datagram_size = max_datagram_size
        loop = asyncio.get_running_loop()
        core = ClientCore(
            Credentials(
                display_name=name,
                public_key=bytes(key.verify_key),
                sign=lambda data: bytes(key.sign(data).signature),
                password=password,
            ),
            address=f"127.0.0.1:{port}",
            now=loop.time(),
            timeouts=Timeouts(connect=DEADLINE * 3, idle=60.0),
            answer_challenge=answer_challenge,
        )

        def create_protocol(*args: Any, **kwargs: Any) -> ClientProtocol:
            return ClientProtocol(*args, core=core, **kwargs)

        manager = connect("127.0.0.1", port, configuration=config, create_protocol=create_protocol)
        protocol = await manager.__aenter__()
        assert isinstance(protocol, ClientProtocol)
        client = cls(protocol, key, name)
        client._exit = manager
        # Self-signed test certificate: trusted as if pinned; the hello binds it anyway.
        protocol.tls_established(lambda fingerprint: Verified())
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
        """Connect and authenticate through the core; fails the test if not welcomed."""
        client = await cls.open(
            port,
            name=name,
            key=key,
            max_datagram_size=max_datagram_size,
            password=password,
            answer_challenge=True,
        )
        welcome = await client.wait_envelope("welcome")
        client.user_id = welcome.welcome.user_id
        await client.wait_envelope("server_state")
        client.sync()
        return client

    @property
    def fingerprint(self) -> bytes:
        return self.core.cert_fingerprint

    async def hello(self, password: str = "", **overrides: Any) -> None:
        """Answer the challenge with a hello changed by `overrides` (hostile tests)."""
        challenge = (await self.wait_envelope("challenge")).challenge
        creds = self.core.credentials
        hello = make_hello(
            challenge=challenge,
            cert_fingerprint=overrides.pop("fingerprint", self.fingerprint),
            public_key=creds.public_key,
            sign=creds.sign,
            display_name=creds.display_name,
            password=password,
        )
        for attr, value in overrides.items():
            setattr(hello, attr, value)
        self.core.answer(hello, asyncio.get_running_loop().time())
        self.protocol.pump()

    async def close(self) -> None:
        if self._exit is not None:
            manager, self._exit = self._exit, None
            await manager.__aexit__(None, None, None)

    # --- sending -----------------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        """Bytes on the control stream, past the core (hostile tests)."""
        stream = self.protocol.control_stream
        assert stream is not None
        self.protocol._quic.send_stream_data(stream, data)
        self.protocol.transmit()

    def send(self, envelope: voip_pb2.Envelope) -> None:
        self.send_raw(encode_envelope(envelope))

    def send_datagram(self, data: bytes) -> None:
        self.protocol._quic.send_datagram_frame(data)
        self.protocol.transmit()

    async def request(self, **payload: Any) -> voip_pb2.Envelope:
        """Send a request and return its answer (ack, error, or a query's reply).

        Through the core once welcomed; before that (tests of what an
        unauthenticated client may do) the same envelope goes out raw.
        """
        ((kind, message),) = payload.items()
        loop = asyncio.get_running_loop()
        if self.core.ready:
            fields = {f.name: value for f, value in message.ListFields()}
            rid = self.core.send_request(kind, kind, loop.time(), **fields)
            self.protocol.pump()
        else:
            rid = 1_000_000 + self._next_request
            self._next_request += 1
            self.send(request_envelope(kind, rid, **{f.name: v for f, v in message.ListFields()}))
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
