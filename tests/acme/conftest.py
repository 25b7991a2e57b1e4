"""Pebble (Let's Encrypt's test CA) on loopback for the ACME tests, started once per session."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest


def _load(name: str, path: Path) -> ModuleType:
    """tests/ is not a package (importlib mode), so helpers are loaded by path."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


HERE = Path(__file__).parent
pebble_tools = _load("voip_tests_pebble", HERE / "pebble.py")


@pytest.fixture(scope="session")
def quic_probe() -> ModuleType:
    return _load("voip_tests_quic_probe", HERE.parent / "certs" / "quic_probe.py")


@pytest.fixture(scope="session")
def pebble(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    if not pebble_tools.binaries_available():
        pytest.skip("pebble is not installed (apt-get install pebble)")
    running = pebble_tools.start_pebble(tmp_path_factory.mktemp("pebble"))
    try:
        yield running
    finally:
        running.stop()
