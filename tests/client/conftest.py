"""Fixtures for the client backend tests: backends in tmp config dirs, real servers.

Servers are the real thing (`voip.server.app.start_server`: LevelDB store,
actors, aioquic) on 127.0.0.1 with an ephemeral port, each in its own data
dir, so tests see exactly what a user would.
"""

from __future__ import annotations

import datetime as dt
import runpy
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from voip.client import BackendHandle
from voip.client.state import State

#: Deadline for every wait on a snapshot; generous for slow CI, never a sleep.
WAIT = 15.0

# tests/ is not a package (importlib mode): shared helpers are loaded by path.
_SUPPORT = Path(__file__).resolve().parents[1] / "support"
pki = SimpleNamespace(**runpy.run_path(str(_SUPPORT / "pki.py")))
backends = SimpleNamespace(**runpy.run_path(str(_SUPPORT / "backends.py")))


@pytest.fixture
def make_backend(tmp_path: Path) -> Iterator[Callable[..., BackendHandle]]:
    """Start backends (default config dir: tmp_path/"client"); all shut down at the end."""
    started: list[BackendHandle] = []

    def make(config_dir: Path | None = None, **kwargs: Any) -> BackendHandle:
        backend = BackendHandle(
            config_dir=config_dir if config_dir is not None else tmp_path / "client",
            connect_timeout=kwargs.pop("connect_timeout", 10.0),
            **kwargs,
        )
        started.append(backend)
        return backend

    yield make
    for backend in reversed(started):
        backend.shutdown()


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Start real servers (stopped at the end if the test did not)."""
    started: list[Any] = []

    def make(name: str = "server", port: int = 0, **options: Any) -> Any:
        server = backends.start_test_server(tmp_path / name, port=port, **options)
        started.append(server)
        return server

    yield make
    for server in reversed(started):
        server.stop()


@pytest.fixture
def server(server_factory: Callable[..., Any]) -> Any:
    return server_factory()


def address_of(server: Any) -> str:
    return f"127.0.0.1:{server.port}"


def connect_trusting(backend: BackendHandle, server: Any, name: str = "alice") -> State:
    """Connect, accept the first-use certificate prompt, wait for the full state."""
    return backends.connect_trusting(backend, address_of(server), name, WAIT)


# --- a private CA, for certificates that verify without pinning ----------------------


def make_ca_signed_bundle(tmp_path: Path) -> tuple[Any, Path]:
    """A server bundle for 127.0.0.1/localhost signed by a fresh CA; returns (bundle, ca.pem)."""
    from voip.server.certs import bundle_from_pem

    now = dt.datetime.now(dt.UTC)
    ca_cert, leaf, key = pki.make_ca_and_leaf(
        "voip test CA", now - dt.timedelta(minutes=5), now + dt.timedelta(days=1)
    )
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(pki.cert_pem(ca_cert))
    bundle = bundle_from_pem(pki.cert_pem(leaf), pki.key_pem(key), "files")
    return bundle, ca_file


class Helpers:
    """Helpers for the tests (tests/ is not a package, so they come as a fixture)."""

    WAIT = WAIT
    address_of = staticmethod(address_of)
    connect_trusting = staticmethod(connect_trusting)
    make_ca_signed_bundle = staticmethod(make_ca_signed_bundle)


@pytest.fixture
def h() -> type[Helpers]:
    return Helpers
