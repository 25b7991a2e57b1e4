"""Disconnect followed at once by shutdown closes the session cleanly.

The session closing after Disconnect is no longer the "current" one, but
shutdown must still wait for it: otherwise its task is destroyed while
pending and its last notification reaches actors that are already gone.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from typing import Any

import pytest

from voip.client import BackendHandle
from voip.client import commands as c

from .conftest import connect_trusting  # type: ignore[import-not-found]


def test_disconnect_then_shutdown_leaves_nothing_pending(
    make_backend: Callable[..., BackendHandle], server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    backend = make_backend()
    connect_trusting(backend, server)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        backend.send(c.Disconnect())
        backend.shutdown()
        gc.collect()
    problems = [
        r.getMessage()
        for r in caplog.records
        if "destroyed but it is pending" in r.getMessage()
        or (r.exc_info and "ActorDeadError" in repr(r.exc_info[1]))
        or "did not close cleanly" in r.getMessage()
    ]
    assert problems == []
