"""Fixtures for audio tests: a PulseAudio null sink so PortAudio runs for real."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from voip.audio.devices import resolve_device, sounddevice

ROOT = Path(__file__).resolve().parents[2]
PULSE_UP = ROOT / "tools" / "pulse-up.sh"


@pytest.fixture(scope="session")
def pulse() -> Iterator[dict[str, str]]:
    """Start (or reuse) the PulseAudio daemon with the `vsink` null sink.

    Exports its environment into this process and re-initialises PortAudio
    (which scans devices once, possibly before the daemon existed). Skips
    only when the pulseaudio binary is absent.
    """
    if shutil.which("pulseaudio") is None:
        pytest.skip("pulseaudio is not installed (apt-get install -y pulseaudio libportaudio2)")
    result = subprocess.run(
        [str(PULSE_UP)], capture_output=True, text=True, timeout=30, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"tools/pulse-up.sh failed: {result.stderr.strip()}")
    env: dict[str, str] = {}
    for line in result.stdout.splitlines():
        if line.startswith("export ") and "=" in line:
            key, value = line[len("export ") :].split("=", 1)
            env[key] = value
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    from voip.audio.devices import rescan

    rescan()
    yield env
    for key, old in saved.items():
        if old is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = old


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``condition`` until true or the deadline passes (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


@pytest.fixture
def poll() -> Callable[..., bool]:
    return wait_for


@pytest.fixture
def tone_player(pulse: dict[str, str]) -> Iterator[Callable[[float], None]]:
    """Plays continuous sines into the null sink until the test ends.

    Shared with tests/client (which loads this conftest by path).
    """
    sd = sounddevice()
    streams: list[Any] = []

    def play(frequency: float) -> None:
        phase = [0]

        def callback(outdata: Any, frames: int, time_info: Any, status: Any) -> None:
            n = np.arange(phase[0], phase[0] + frames)
            outdata[:, 0] = 0.5 * np.sin(2 * np.pi * frequency * n / 48000)
            phase[0] += frames

        stream = sd.OutputStream(
            device=resolve_device("pulse", "output").index,
            samplerate=48000,
            channels=1,
            dtype="float32",
            callback=callback,
        )
        stream.start()
        streams.append(stream)

    yield play
    for s in streams:
        s.abort()
        s.close()
