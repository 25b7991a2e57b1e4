"""A server that vanishes without a goodbye (SIGKILL) is noticed within the idle timeout.

The server is a real `voip-server` process; the client a real `BackendHandle`
with a short idle timeout (the option exists for tests and bots). Its
keep-alive (an empty frame every idle/3) must keep a quiet but live connection
open across several idle timeouts, and a dead server must give ConnectionLost
within about the idle timeout, not minutes.
"""

from __future__ import annotations

import runpy
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from voip.client import BackendHandle
from voip.client import commands as c
from voip.client.state import ConnectionLost
from voip.client.trust import KnownServers

IDLE = 1.5


# tests/ is not a package (importlib mode): helpers are loaded by path.
_load = runpy.run_path(str(Path(__file__).resolve().parents[1] / "support" / "loading.py"))["load"]


server_process = _load(
    "voip_tests_server_process", Path(__file__).parents[1] / "server" / "server_process.py"
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Any]:
    proc = server_process.ServerProcess(
        "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "server")
    )
    try:
        yield proc
    finally:
        proc.kill()


def test_a_killed_server_is_noticed_within_the_idle_timeout(
    server: Any, make_backend: Callable[..., BackendHandle], tmp_path: Path
) -> None:
    port = server.wait_port()
    fingerprint = server.wait_line(server_process.FINGERPRINT).group(1)
    alice = make_backend(tmp_path / "alice", idle_timeout=IDLE)
    address = f"127.0.0.1:{port}"
    KnownServers(alice.config_dir).pin(address, fingerprint)
    alice.send(c.Connect(address, "alice"))
    alice.wait_for(lambda s: s.is_connected and s.me is not None, 15.0)

    # Quiet but alive: the keep-alive carries the connection over several idle timeouts.
    time.sleep(3 * IDLE)
    assert alice.state().is_connected, alice.state().connection

    server.kill()
    killed = time.monotonic()
    state = alice.wait_for(lambda s: isinstance(s.connection, ConnectionLost), 10 * IDLE)
    noticed = time.monotonic() - killed
    assert isinstance(state.connection, ConnectionLost)
    assert "stopped answering" in state.connection.error
    # Idle timeout after the last packet heard, plus at most one keep-alive interval.
    assert noticed < IDLE * 1.34 + 1.0, f"noticed only after {noticed:.1f} s"
