"""A real server in-process and a client backend connected to it, for client-side suites.

Shared by tests/client and tests/e2e: the server is the real thing
(`voip.server.app.start_server`: LevelDB, actors, aioquic on 127.0.0.1),
and connecting accepts the first-use certificate prompt as a user would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from voip.client import BackendHandle
from voip.client import commands as c
from voip.client.state import AwaitingTrust, State


def start_test_server(data_dir: Path, port: int = 0, bundle: Any = None, **options: Any) -> Any:
    """A running server on 127.0.0.1 (self-signed for localhost/127.0.0.1 unless ``bundle``)."""
    from voip.server.app import ServerOptions, start_server
    from voip.server.certs import load_or_create_self_signed

    data_dir.mkdir(parents=True, exist_ok=True)
    if bundle is None:
        bundle = load_or_create_self_signed(data_dir, ("localhost", "127.0.0.1"))
    return start_server(
        ServerOptions(data_dir=data_dir, bundle=bundle, host="127.0.0.1", port=port, **options)
    )


def connect_trusting(backend: BackendHandle, address: str, name: str, wait: float) -> State:
    """Connect, accept the first-use certificate prompt, wait for the full state."""
    backend.send(c.Connect(address, name))
    state = backend.wait_for(
        lambda s: isinstance(s.connection, AwaitingTrust) or (s.is_connected and bool(s.rooms)),
        wait,
    )
    if isinstance(state.connection, AwaitingTrust):
        backend.send(c.AcceptCertificate())
    return backend.wait_for(lambda s: s.is_connected and bool(s.rooms) and s.me is not None, wait)
