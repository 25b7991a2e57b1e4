"""Pebble (Let's Encrypt's test CA) on loopback for the ACME tests, started once per session."""

from __future__ import annotations

import runpy
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

# tests/ is not a package (importlib mode): helpers are loaded by path.
_load = runpy.run_path(str(Path(__file__).resolve().parents[1] / "support" / "loading.py"))["load"]


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


@pytest.fixture(scope="session")
def short_pebble(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """A second pebble whose certificates last 300 s, for renewals by the real schedule."""
    if not pebble_tools.binaries_available():
        pytest.skip("pebble is not installed (apt-get install pebble)")
    running = pebble_tools.start_pebble(
        tmp_path_factory.mktemp("short-pebble"), validity_seconds=300
    )
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def brief_pebble(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """A pebble whose certificates last 12 s: long enough to issue, short enough to expire."""
    if not pebble_tools.binaries_available():
        pytest.skip("pebble is not installed (apt-get install pebble)")
    running = pebble_tools.start_pebble(
        tmp_path_factory.mktemp("brief-pebble"), validity_seconds=12
    )
    try:
        yield running
    finally:
        running.stop()
