"""CPU of the desktop client's window: idle, in a room where people talk, while typing.

The real ``voip-client`` runs as its own process on the X display (Xvfb with
Mesa's software GL when there is no screen: every frame drawn costs real CPU
there), connected to a real server on loopback, with its audio on the
PulseAudio null sink when there is one. Its CPU (utime + stime of all its
threads, from ``/proc``) is sampled over a window per case:

- ``idle``: connected, alone with one silent observer, nothing happening;
- ``talking``: two ``voip-bot`` talkers take turns speaking in the client's
  room (talking indicators switch on and off, the client decodes and plays
  them); a listening ``voip-bot`` in the same room is measured alongside as
  the backend-only reference (``bot_cpu_pct``);
- ``typing``: real key presses (``xdotool type``) into the chat field (Ctrl+L
  puts the keyboard there), about six characters a second, then Enter;
  ``typed_ok`` says the line reached the observer (so the keys went where a
  user's would);
- ``hidden``: the window unmapped (``xdotool windowunmap``), as on another
  desktop or minimised.

Numbers are a percentage of one core; the machine is shared, so each record
carries the load average at the start of its window.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from benchmarks.report import Record, Unavailable
from benchmarks.serverproc import cpu_seconds

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
SPEECH = Path(__file__).resolve().parent / "data" / "fallback-speech.wav"
WINDOW_TITLE = "voip"
TYPED = "the quick brown fox jumps over the lazy dog "


def run(args: argparse.Namespace) -> list[Record]:
    seconds = 2.0 if args.short else 10.0
    with _environment() as env, tempfile.TemporaryDirectory(prefix="voip-bench-gui-") as tmp:
        return _measure(Path(tmp), env, seconds, getattr(args, "chat_field_from_bottom", None))


@contextlib.contextmanager
def _environment() -> Iterator[dict[str, str]]:
    """DISPLAY (Xvfb if none) and the PulseAudio null sink, as tools/test sets them up."""
    if shutil.which("xdotool") is None:
        raise Unavailable("xdotool is not installed (tools/setup.sh installs it)")
    env = dict(os.environ)
    started: int | None = None
    if not env.get("DISPLAY"):
        out = _script_exports("xvfb-up.sh")
        if "DISPLAY" not in out:
            raise Unavailable("no DISPLAY and Xvfb could not be started")
        env.update(out)
        started = int(out["XVFB_PID"]) if out.get("XVFB_PID", "").isdigit() else None
    if not env.get("PULSE_SERVER"):
        env.update(_script_exports("pulse-up.sh"))
    env.setdefault("LIBGL_ALWAYS_SOFTWARE", "1")
    try:
        yield env
    finally:
        if started is not None:
            with contextlib.suppress(OSError):
                os.kill(started, 15)


def _script_exports(name: str) -> dict[str, str]:
    try:
        text = subprocess.run(
            ["bash", str(ROOT / "tools" / name)], capture_output=True, text=True,
            timeout=60, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    env: dict[str, str] = {}
    for word in text.replace("export ", " ").split():
        key, _, value = word.partition("=")
        if key and value:
            env[key] = value
    return env


def _talk_file(path: Path, seconds: float, offset: float) -> Path:
    """Speech, then as long a pause, repeated; `offset` shifts it so two talkers alternate."""
    from voip.audio.audiofile import read_audio, write_audio
    from voip.audio.codec import SAMPLE_RATE

    speech = read_audio(SPEECH)[: int(1.5 * SAMPLE_RATE)]
    pause = np.zeros(speech.size, dtype=np.float32)
    lead = np.zeros(int(offset * SAMPLE_RATE), dtype=np.float32)
    reps = int(seconds / 3.0) + 2
    write_audio(path, np.concatenate([lead, *([speech, pause] * reps)]).astype(np.float32))
    return path


class _Client:
    """The voip-client window as a process; its X window found by title."""

    def __init__(self, work: Path, address: str, fingerprint: str, env: dict[str, str]) -> None:
        cmd = [
            sys.executable, "-m", "voip_gui.app", "--connect", address, "--name", "gui",
            "--config-dir", str(work / "gui"), "--trust-fingerprint", fingerprint,
            "--log-level", "INFO",
        ]
        self.log = (work / "gui.log").open("w")
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT, env=env,
            cwd=ROOT,
        )
        self.env = env
        self.window = ""

    def find_window(self, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = subprocess.run(
                ["xdotool", "search", "--name", f"^{WINDOW_TITLE}$"], capture_output=True,
                text=True, env=self.env, timeout=10,
            ).stdout.split()
            if out:
                self.window = out[-1]
                return self.window
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError("the client window did not appear")

    def xdotool(self, *args: str) -> None:
        subprocess.run(["xdotool", *args], check=True, env=self.env, timeout=60)

    def geometry(self) -> tuple[int, int]:
        out = subprocess.run(
            ["xdotool", "getwindowgeometry", "--shell", self.window], capture_output=True,
            text=True, env=self.env, timeout=10,
        ).stdout
        values = dict(line.split("=", 1) for line in out.split() if "=" in line)
        return int(values["WIDTH"]), int(values["HEIGHT"])

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.log.flush()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def _cpu_pct(sample: float, since: float, started: float) -> float:
    return 100.0 * (sample - since) / max(1e-9, time.monotonic() - started)


def _window(client: _Client, seconds: float, extra: list[int] | None = None) -> dict[str, float]:
    load = os.getloadavg()[0]
    pids = extra or []
    before = client.cpu()
    others = [cpu_seconds(p) for p in pids]
    started = time.monotonic()
    time.sleep(seconds)
    record = {"cpu_pct": _cpu_pct(client.cpu(), before, started), "loadavg_1m": load}
    for i, (pid, since) in enumerate(zip(pids, others, strict=True)):
        record[f"other{i}"] = _cpu_pct(cpu_seconds(pid), since, started)
    return record


def _measure(
    work: Path, env: dict[str, str], seconds: float, chat_from_bottom: int | None
) -> list[Record]:
    from voip.client import commands as c
    from voip.client.backend import BackendHandle
    from voip.client.state import TransmissionMode
    from voip.server.app import ServerOptions, start_server
    from voip.server.certs import load_or_create_self_signed
    from voip_gui.app import pin_fingerprint

    bundle = load_or_create_self_signed(work / "server", ["localhost"])
    server = start_server(ServerOptions(data_dir=work / "server", bundle=bundle, port=0))
    address = f"127.0.0.1:{server.port}"
    fingerprint = bundle.fingerprint_text
    pin_fingerprint(work / "observer", address, fingerprint)
    observer = BackendHandle(config_dir=work / "observer", connect_timeout=10)
    client: _Client | None = None
    bots: list[subprocess.Popen[bytes]] = []
    records: list[Record] = []
    settle = 1.0 if seconds < 5 else 3.0
    try:
        observer.send(c.SetTransmissionMode(TransmissionMode.MUTED))
        observer.send(c.Connect(address, "observer"))
        observer.wait_for(lambda s: s.is_connected and s.my_room_id is not None, timeout=20)
        client = _Client(work, address, fingerprint, env)
        observer.wait_for(lambda s: any(u.name == "gui" for u in s.users), timeout=60)
        client.find_window()
        client.xdotool("mousemove", "--window", client.window, "5", "5")
        time.sleep(settle)
        records.append({"kind": "cpu", "case": "idle", "seconds": seconds,
                        **_window(client, seconds)})

        root = observer.state().my_room_id
        bot_env = dict(env)
        for i, name in enumerate(("talker1", "talker2", "listener")):
            cmd = [sys.executable, "-m", "voip.bot", "--server", address, "--name", name,
                   "--room", str(root), "--trust-fingerprint", fingerprint,
                   "--config-dir", str(work / name), "--seconds", str(seconds + settle + 30)]
            if name != "listener":
                cmd += ["--play", str(_talk_file(work / f"{name}.wav", seconds + settle + 10,
                                                 offset=1.5 * i))]
            else:
                cmd += ["--record", str(work / "listener.wav")]
            bots.append(subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, env=bot_env))
        observer.wait_for(
            lambda s: sum(u.name.startswith(("talker", "listener")) for u in s.users) == 3,
            timeout=60,
        )
        time.sleep(settle)
        window = _window(client, seconds, extra=[bots[2].pid])
        records.append({"kind": "cpu", "case": "talking", "seconds": seconds,
                        "cpu_pct": window["cpu_pct"], "bot_cpu_pct": window["other0"],
                        "loadavg_1m": window["loadavg_1m"]})
        for bot in bots:
            bot.terminate()
        for bot in bots:
            bot.wait(timeout=30)
        bots.clear()
        time.sleep(settle)

        width, height = client.geometry()
        client.xdotool("mousemove", "--window", client.window, str(width // 2), "5")
        if chat_from_bottom is None:
            client.xdotool("key", "--window", client.window, "ctrl+l")  # the chat line
        else:  # a layout without the shortcut: click where its chat field is
            client.xdotool("mousemove", "--window", client.window, str(width // 2),
                           str(height - chat_from_bottom), "click", "1")
        time.sleep(0.5)
        load = os.getloadavg()[0]
        before = client.cpu()
        started = time.monotonic()
        count = max(1, int(seconds * 6))
        text = (TYPED * (count // len(TYPED) + 1))[:count].strip() or "x"
        client.xdotool("type", "--delay", "160", "--window", client.window, text)
        cpu = _cpu_pct(client.cpu(), before, started)
        client.xdotool("key", "--window", client.window, "Return")
        try:
            observer.wait_for(lambda s: any(line.text == text for line in s.chat), timeout=10)
            typed_ok = True
        except TimeoutError:
            typed_ok = False
        records.append({"kind": "cpu", "case": "typing", "seconds": time.monotonic() - started,
                        "cpu_pct": cpu, "typed_ok": typed_ok, "loadavg_1m": load})

        client.xdotool("windowunmap", client.window)
        time.sleep(settle)
        records.append({"kind": "cpu", "case": "hidden", "seconds": seconds,
                        **_window(client, seconds)})
        client.xdotool("windowmap", client.window)
    finally:
        for bot in bots:
            bot.kill()
        if client is not None:
            client.stop()
            frames = [line for line in (work / "gui.log").read_text().splitlines()
                      if "frames drawn" in line]
            log.info("client: %s", frames[-1] if frames else "no frame count logged")
        observer.shutdown()
        server.stop()
    return [
        {"benchmark": "gui", **r, "typed_ok": r.get("typed_ok"),
         "bot_cpu_pct": r.get("bot_cpu_pct")}
        for r in records
    ]
