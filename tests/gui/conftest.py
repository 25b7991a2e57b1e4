"""GUI tests need an X display: use $DISPLAY, or start Xvfb with tools/xvfb-up.sh.

Each scenario runs in a child process (`scenarios.py`), because Dear PyGui
keeps one global context per process; the tests here only start them and
report their output. Screenshots go to ``$VOIP_ARTIFACTS/gui`` (default
``artifacts/gui`` in the repository).
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = Path(__file__).with_name("scenarios.py")


@pytest.fixture(scope="session")
def display() -> Iterator[str]:
    """The X display for the GUI processes; skips with a reason when none can be had."""
    if os.environ.get("DISPLAY"):
        yield os.environ["DISPLAY"]
        return
    script = ROOT / "tools" / "xvfb-up.sh"
    try:
        out = subprocess.run(
            ["bash", str(script)], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"no DISPLAY and Xvfb could not be started with {script} ({exc})")
    env = _exports(out)
    if "DISPLAY" not in env:
        pytest.skip(f"no DISPLAY and {script} printed no display: {out!r}")
    yield env["DISPLAY"]
    pid = env.get("XVFB_PID")
    if pid and pid.isdigit():
        os.kill(int(pid), signal.SIGTERM)


@pytest.fixture(scope="session")
def gui_artifacts() -> Path:
    base = Path(os.environ.get("VOIP_ARTIFACTS", ROOT / "artifacts"))
    path = base / "gui"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _exports(text: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for word in shlex.split(text.replace("export ", "")):
        key, _, value = word.partition("=")
        if key and value:
            env[key] = value
    return env


@pytest.fixture(scope="session")
def sound() -> dict[str, str]:
    """PulseAudio null-sink devices (tools/pulse-up.sh, idempotent), so the audio side of the
    window is real; an empty dict when unavailable (the scenarios then check the audio error
    shown instead of the on-air light)."""
    if os.environ.get("PULSE_SERVER"):
        return {}
    try:
        out = subprocess.run(
            ["bash", str(ROOT / "tools" / "pulse-up.sh")],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    return _exports(out)


def run_scenario(
    name: str,
    display: str,
    artifacts: Path,
    extra_env: dict[str, str] | None = None,
    timeout: float = 150,
) -> str:
    """Run one scenario in its own process; fail with its output if it fails."""
    env = dict(os.environ, DISPLAY=display, LIBGL_ALWAYS_SOFTWARE="1", **(extra_env or {}))
    proc = subprocess.run(
        [sys.executable, str(SCENARIOS), name, str(artifacts)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env,
    )
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        pytest.fail(f"GUI scenario {name!r} failed (exit {proc.returncode}):\n{output}", False)
    return output


@pytest.fixture(name="run_scenario")
def run_scenario_fixture() -> Callable[..., str]:
    """`run_scenario(name, display, artifacts)` for a test that brings its own display."""
    return run_scenario


@pytest.fixture
def scenario(display: str, gui_artifacts: Path, sound: dict[str, str]) -> Callable[[str], str]:
    """`scenario(name)` runs that GUI scenario and returns its output."""
    return lambda name: run_scenario(name, display, gui_artifacts, sound)
