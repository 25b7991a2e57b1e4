"""Fixtures for the certificate tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest


def load_quic_probe() -> ModuleType:
    """tests/ is not a package (importlib mode), so the helper is loaded by path."""
    name = "voip_tests_quic_probe"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("quic_probe.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def quic_probe() -> ModuleType:
    return load_quic_probe()
