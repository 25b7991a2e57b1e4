"""Connections that never log in cost the server little: RSS with 200 of them.

The server is a real subprocess (its RSS is its own); the caps on
unauthenticated connections are raised so all 200 stay open, and each one
also makes the server buffer the largest frame allowed before login,
announced and never finished.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from voip_tests_server_hostile import Hostile
from voip_tests_server_process import ServerProcess

CONNECTIONS = 200
#: The issue's bound for the server's growth with 200 hello-less connections.
MAX_GROWTH = 20 * 1024 * 1024


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_200_hello_less_connections_cost_under_20_mib(tmp_path: Path) -> None:
    config = tmp_path / "server.toml"
    config.write_text(
        "[limits]\n"
        "max_unauthenticated = 1000\n"
        "max_unauthenticated_per_address = 1000\n"
        "hello_timeout = 120\n"
    )
    server = ServerProcess(
        "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "data"),
        "--config", str(config),
    )
    try:
        port = server.wait_port()

        async def scenario() -> None:
            async with contextlib.AsyncExitStack() as stack:
                warm = await stack.enter_async_context(Hostile.connect(port))
                warm.send_raw(b"\x00")
                await warm.wait_kind("challenge")
                before = rss(server.proc.pid)
                clients = []
                for _ in range(CONNECTIONS):
                    h = await stack.enter_async_context(Hostile.connect(port))
                    h.send_raw(b"\x00")
                    # The largest frame allowed before login, announced and never finished.
                    h.send_raw(bytes([0xFF, 0x1F]) + b"y" * 4000)
                    clients.append(h)
                await asyncio.gather(*(h.wait_kind("challenge") for h in clients))
                await asyncio.sleep(1.0)
                grown = rss(server.proc.pid) - before
                still_open = sum(1 for h in clients if h.protocol.terminated is None)
                print(f"RSS growth, {still_open} hello-less connections: {grown / 2**20:.1f} MiB")
                assert still_open >= CONNECTIONS * 0.9
                assert grown < MAX_GROWTH

        asyncio.run(scenario())
    finally:
        server.proc.terminate()
        server.finish()
