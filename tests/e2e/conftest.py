"""Fixtures for end-to-end tests: a real server, clients with array/file audio, bots.

The server is the real thing in-process (`voip.server.app.start_server`:
LevelDB, actors, aioquic on 127.0.0.1, ephemeral port). Clients are real
`BackendHandle`s whose sound card is replaced by `ArrayIO` (samples in,
recording out), or `voip-bot` processes. Nothing here sleeps for a fixed
time to wait for a result: waits are on state or counters with deadlines.
"""

from __future__ import annotations

import runpy
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from voip.audio.audiofile import read_audio, write_audio
from voip.audio.signals import speech_like
from voip.client import BackendHandle
from voip.client import commands as c
from voip.client.audio_io import ArrayIO
from voip.client.state import State, TransmissionMode

#: Deadline for every wait on a snapshot; generous for slow CI, never a sleep.
WAIT = 20.0

# tests/ is not a package (importlib mode): shared helpers are loaded by path.
backends = SimpleNamespace(
    **runpy.run_path(str(Path(__file__).resolve().parents[1] / "support" / "backends.py"))
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Any]:
    running = backends.start_test_server(tmp_path / "server")
    yield running
    running.stop()


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[Callable[..., BackendHandle]]:
    """`make_client(name, io)`: a backend with its own config dir and array audio."""
    started: list[BackendHandle] = []

    def make(name: str, io: Any = None, **kwargs: Any) -> BackendHandle:
        backend = BackendHandle(
            config_dir=tmp_path / f"client-{name}",
            audio_io=io if io is not None else ArrayIO(),
            **kwargs,
        )
        # Start silent whatever a previous run saved; tests pick the mode.
        backend.send(c.SetTransmissionMode(TransmissionMode.MUTED))
        started.append(backend)
        return backend

    yield make
    for backend in reversed(started):
        backend.shutdown()


def connect(backend: BackendHandle, server: Any, name: str) -> State:
    """Connect, trust the first-use certificate, wait for the full state."""
    return backends.connect_trusting(backend, f"127.0.0.1:{server.port}", name, WAIT)


def poll(condition: Callable[[], bool], timeout: float = WAIT) -> bool:
    """Wait for a counter-style condition (not in the state) until a deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def speech_wav(path: Path) -> npt.NDArray[np.float32]:
    """A speech recording made now with espeak-ng (22.05 kHz, so the bot resamples it).

    Falls back to the synthetic `speech_like` signal where espeak-ng is absent.
    Returns the samples at 48 kHz as the bot will send them.
    """
    espeak = shutil.which("espeak-ng")
    if espeak is not None:
        subprocess.run(
            [
                espeak,
                "-w",
                str(path),
                "The quick brown fox jumps over the lazy dog. "
                "Voice chat should sound clear, even when packets go missing.",
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
    else:
        write_audio(path, speech_like(4.0))
    return read_audio(path)


class Helpers:
    WAIT = WAIT
    connect = staticmethod(connect)
    poll = staticmethod(poll)
    speech_wav = staticmethod(speech_wav)


@pytest.fixture
def h() -> type[Helpers]:
    return Helpers
