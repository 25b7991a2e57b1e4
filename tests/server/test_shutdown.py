"""Shutdown with connections in every stage: TLS only, challenged, authenticated.

A client that finished the QUIC handshake but never opened the control stream
(the client's first-use certificate check does exactly that) has no stream to
say goodbye on: it must just be closed, and the others still get their Goodbye.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from pathlib import Path

import pytest
from aioquic.asyncio import connect
from aioquic.quic.configuration import QuicConfiguration
from voip_tests_server_client import Client, TlsProbe

from voip.proto import voip_pb2
from voip.protocol.handshake import ALPN
from voip.protocol.state import ROOT_PARENT, Room
from voip.server.app import ServerOptions, start_server
from voip.server.core import Close, CoreSettings, Send, ServerCore
from voip.server.records import Snapshot
from voip.server.store import ROOT_ROOM_ID

Options = Callable[..., ServerOptions]


def tls_only_configuration() -> QuicConfiguration:
    config = QuicConfiguration(
        is_client=True,
        alpn_protocols=[ALPN],
        server_name="localhost",
        max_datagram_frame_size=65536,
    )
    config.verify_mode = ssl.CERT_NONE
    return config


def test_shutdown_with_a_tls_only_connection_closes_it_and_says_goodbye_to_the_rest(
    tmp_path: Path, make_options: Options, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        server = start_server(make_options(tmp_path))
        member = await Client.join(server.port, name="member")
        challenged = await Client.open(server.port, name="challenged")
        await challenged.wait_envelope("challenge")
        async with connect(
            "127.0.0.1",
            server.port,
            configuration=tls_only_configuration(),
            create_protocol=TlsProbe,
        ) as probe:
            assert isinstance(probe, TlsProbe)
            # The server has registered the connection (handshake done on its side too).
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 10
            while server.stats()["connections"] < 3:
                assert loop.time() < deadline, "the server never saw the third connection"
                await asyncio.sleep(0.02)
            with caplog.at_level(logging.WARNING):
                await loop.run_in_executor(None, server.stop)
            await probe.wait_closed()
            assert probe.terminated is not None
            assert probe.terminated.error_code == voip_pb2.SERVER_SHUTDOWN
            assert probe.envelopes == []  # no stream was ever opened towards it
        for client in (member, challenged):
            bye = await client.wait_envelope("goodbye")
            assert bye.goodbye.code == voip_pb2.SERVER_SHUTDOWN
            closed = await client.wait_closed()
            assert closed.error_code == voip_pb2.SERVER_SHUTDOWN
            await client.close()

    asyncio.run(scenario())
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not problems, [r.getMessage() for r in problems]


def core() -> ServerCore:
    snapshot = Snapshot(
        users=(),
        rooms=(Room(ROOT_ROOM_ID, "Lobby", ROOT_PARENT),),
        next_user_id=1,
        next_room_id=ROOT_ROOM_ID + 1,
    )
    return ServerCore(CoreSettings(), snapshot)


def test_core_shutdown_sends_nothing_to_a_session_without_a_control_stream() -> None:
    c = core()
    c.connect(1, b"f" * 32)
    c.connect(2, b"f" * 32)
    c.open_stream(2)
    actions = c.shutdown(0.0)
    assert [a.session for a in actions if isinstance(a, Send)] == [2]
    assert sorted(a.session for a in actions if isinstance(a, Close)) == [1, 2]


def test_core_violation_before_the_control_stream_only_closes() -> None:
    c = core()
    c.connect(1, b"f" * 32)
    actions = c.violation(1, "data on stream 4", 0.0)
    assert not [a for a in actions if isinstance(a, Send)]
    assert [a.code for a in actions if isinstance(a, Close)] == [voip_pb2.MALFORMED_MESSAGE]
