"""Fixtures for the server tests: a real server in-process on loopback."""

from __future__ import annotations

import runpy
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from voip.server.app import RunningServer, ServerOptions, start_server
from voip.server.certs import load_or_create_self_signed

# tests/ is not a package (importlib mode): helpers are loaded by path.
_load = runpy.run_path(str(Path(__file__).resolve().parents[1] / "support" / "loading.py"))["load"]


_load("voip_tests_server_client", Path(__file__).with_name("quic_client.py"))
_load("voip_tests_server_process", Path(__file__).with_name("server_process.py"))
_load("voip_tests_core_harness", Path(__file__).with_name("core_harness.py"))
_load("voip_tests_server_web_client", Path(__file__).with_name("web_client.py"))
_load("voip_tests_server_hostile", Path(__file__).with_name("hostile.py"))


def server_options(data_dir: Path, **overrides: object) -> ServerOptions:
    bundle = load_or_create_self_signed(data_dir, ["localhost"])
    return ServerOptions(data_dir=data_dir, bundle=bundle, **overrides)  # type: ignore[arg-type]


@pytest.fixture
def make_options() -> Callable[..., ServerOptions]:
    """`make_options(data_dir, **overrides)`: options with the data dir's self-signed cert."""
    return server_options


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    """A running server on 127.0.0.1 with an ephemeral port and a temp data dir."""
    with start_server(server_options(tmp_path)) as running:
        yield running
