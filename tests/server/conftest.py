"""Fixtures for the server tests: a real server in-process on loopback."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from voip.server.app import RunningServer, ServerOptions, start_server
from voip.server.certs import load_or_create_self_signed


def _load_helper(name: str, filename: str) -> ModuleType:
    """tests/ is not a package (importlib mode), so helpers are loaded by path."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(filename))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_load_helper("voip_tests_server_client", "quic_client.py")
_load_helper("voip_tests_server_process", "server_process.py")


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
