"""The server's batched send path, on a real aioquic server/client pair in memory.

No sockets and no clock: the test hands `now` to both connections (the
aioquic way) and a recording transport stands in for the UDP socket (the
loop only exists because aioquic's protocol class wants one).
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection
from aioquic.quic.events import DatagramFrameReceived

from voip.protocol.handshake import ALPN
from voip.server.certs import apply_bundle, bundle_from_pem, generate_self_signed
from voip.server.quic import REALTIME_CC, STALE_VOICE, ServerProtocol
from voip.server.relay import Relay

CLIENT_ADDR = ("127.0.0.2", 5000)
SERVER_ADDR = ("127.0.0.1", 4433)


class RecordingTransport:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def sendto(self, data: bytes, addr: Any) -> None:
        self.sent.append(data)


class FakeHub:
    def __init__(self) -> None:
        self.relay = Relay(1100, lambda: None)

    def next_session_id(self) -> int:
        return 1

    def disconnected(self, *args: Any) -> None:
        pass


def _pair(now: float) -> tuple[QuicConnection, QuicConnection]:
    cert, key = generate_self_signed(["localhost"])
    server_config = QuicConfiguration(
        is_client=False,
        alpn_protocols=[ALPN],
        max_datagram_frame_size=65536,
        congestion_control_algorithm=REALTIME_CC,
    )
    apply_bundle(server_config, bundle_from_pem(cert, key, "test"))
    client_config = QuicConfiguration(
        is_client=True, alpn_protocols=[ALPN], max_datagram_frame_size=65536,
        server_name="localhost",
    )
    client_config.verify_mode = ssl.CERT_NONE
    client = QuicConnection(configuration=client_config)
    client.connect(SERVER_ADDR, now=now)
    server = QuicConnection(
        configuration=server_config,
        original_destination_connection_id=client.original_destination_connection_id,
    )
    for _ in range(10):  # the handshake, in memory
        moved = False
        for data, _addr in client.datagrams_to_send(now):
            server.receive_datagram(data, CLIENT_ADDR, now)
            moved = True
        for data, _addr in server.datagrams_to_send(now):
            client.receive_datagram(data, SERVER_ADDR, now)
            moved = True
        if not moved:
            break
    while client.next_event() is not None:
        pass
    while server.next_event() is not None:
        pass
    return server, client


def _setup(now: float) -> tuple[ServerProtocol, QuicConnection, RecordingTransport, FakeHub]:
    server, client = _pair(now)
    hub = FakeHub()
    protocol = ServerProtocol(server, hub=hub)  # type: ignore[arg-type]
    transport = RecordingTransport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    return protocol, client, transport, hub


def _received(client: QuicConnection, packets: list[bytes], now: float) -> list[bytes]:
    for data in packets:
        client.receive_datagram(data, SERVER_ADDR, now)
    out = []
    while (event := client.next_event()) is not None:
        if isinstance(event, DatagramFrameReceived):
            out.append(event.data)
    return out


def test_datagrams_for_one_recipient_share_a_packet() -> None:
    asyncio.run(_share_a_packet())


async def _share_a_packet() -> None:
    t = asyncio.get_running_loop().time()
    protocol, client, transport, _ = _setup(t)
    frames = [bytes([i]) * 90 for i in range(5)]
    for frame in frames:
        protocol.queue_datagram(frame)
    protocol.send_pending(t + 0.1)
    assert len(transport.sent) == 1
    assert _received(client, transport.sent, t + 0.1) == frames


def test_voice_held_back_too_long_is_dropped_not_queued() -> None:
    asyncio.run(_stale_dropped())


async def _stale_dropped() -> None:
    """aioquic's own queue never drops a datagram: without this it ages for seconds."""
    t = asyncio.get_running_loop().time()
    protocol, client, transport, hub = _setup(t)
    cc = protocol._quic._loss._cc
    window = cc.congestion_window
    cc.congestion_window = 0  # nothing may leave: a congested or dead peer
    t += 0.1
    for i in range(3):
        protocol.queue_datagram(b"old%d" % i)
    protocol.send_pending(t)
    protocol.send_pending(t + STALE_VOICE / 2)
    assert _received(client, transport.sent, t) == []  # (an ACK-only packet may leave)
    assert hub.relay.stats.dropped_stale == 0
    transport.sent.clear()
    protocol.queue_datagram(b"new")
    protocol.send_pending(t + STALE_VOICE / 2 + 0.001)
    protocol.send_pending(t + STALE_VOICE + 0.001)
    assert hub.relay.stats.dropped_stale == 3  # the old ones, not the new one
    cc.congestion_window = window
    protocol.send_pending(t + STALE_VOICE + 0.002)
    assert _received(client, transport.sent, t + 0.1) == [b"new"]
    assert protocol.stale_datagrams == 3


def test_relay_counts_stale_drops() -> None:
    assert Relay(1100, lambda: None).stats.as_dict()["dropped_stale"] == 0
