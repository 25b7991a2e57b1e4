"""Real aioquic loopback handshakes, to see which certificate a server presents.

Shared by tests/certs and tests/acme (loaded by path, see their conftest.py).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aioquic.asyncio import connect, serve

__all__ = ["connect", "serve"]
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.asyncio.server import QuicServer
from aioquic.quic.configuration import QuicConfiguration
from cryptography import x509
from cryptography.hazmat.primitives import serialization

ALPN = "voip/1"


def server_configuration() -> QuicConfiguration:
    return QuicConfiguration(is_client=False, alpn_protocols=[ALPN], max_datagram_frame_size=1200)


@asynccontextmanager
async def running_server(configuration: QuicConfiguration) -> AsyncIterator[int]:
    """A minimal aioquic server on 127.0.0.1; yields its UDP port."""
    server: QuicServer = await serve("127.0.0.1", 0, configuration=configuration)
    try:
        port = server._transport.get_extra_info("sockname")[1]  # type: ignore[union-attr]
        yield port
    finally:
        server.close()


@dataclass
class Handshake:
    peer_certificate: x509.Certificate
    protocol: QuicConnectionProtocol

    @property
    def peer_der(self) -> bytes:
        return self.peer_certificate.public_bytes(serialization.Encoding.DER)


def client_configuration(
    server_name: str, *, cadata: bytes | None = None, verify: bool = True
) -> QuicConfiguration:
    configuration = QuicConfiguration(
        is_client=True, alpn_protocols=[ALPN], server_name=server_name
    )
    if verify:
        configuration.verify_mode = ssl.CERT_REQUIRED
        if cadata is not None:
            configuration.cadata = cadata
    else:
        configuration.verify_mode = ssl.CERT_NONE
    return configuration


async def handshake_once(port: int, configuration: QuicConfiguration) -> x509.Certificate:
    """Connect, complete the TLS handshake, return the leaf the server presented."""
    async with connect(
        "127.0.0.1", port, configuration=configuration, wait_connected=True
    ) as protocol:
        peer = protocol._quic.tls._peer_certificate
        assert peer is not None
        return peer


async def with_timeout(coro, seconds: float = 10.0):  # type: ignore[no-untyped-def]
    return await asyncio.wait_for(coro, seconds)
