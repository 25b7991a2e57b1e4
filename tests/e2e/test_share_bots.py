"""File sharing with real processes: a voip-server and voip-bots on loopback.

One bot shares a 20 MB file, two fetch it through the server's tracker and
report the SHA-256 of what they got; the sharer leaves and a newcomer that
fetches from the server alone still gets it from the server's seed.
"""

from __future__ import annotations

import hashlib
import os
import queue
import re
import runpy
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

_SERVER = SimpleNamespace(
    **runpy.run_path(str(Path(__file__).resolve().parents[1] / "server" / "server_process.py"))
)
FETCHED = re.compile(r"fetched (\S+) \(.*\) to (\S+), sha256 ([0-9a-f]{64})")
WAIT = 120.0


class BotProcess:
    def __init__(self, port: int, config_dir: Path, name: str, *args: str) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "voip.bot",
                "--server",
                f"127.0.0.1:{port}",
                "--name",
                name,
                "--config-dir",
                str(config_dir),
                "--accept-new-certificate",
                *args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_line(self, pattern: re.Pattern[str], timeout: float = WAIT) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    break
                continue
            self.log.append(line)
            if m := pattern.search(line):
                return m
        raise AssertionError(f"no line matching {pattern.pattern}:\n{''.join(self.log)}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.mark.timeout(300)
def test_three_bots_share_a_file_and_the_server_keeps_it(tmp_path: Path) -> None:
    data = os.urandom(20 * 1000 * 1000)
    source = tmp_path / "share" / "big.bin"
    source.parent.mkdir()
    source.write_bytes(data)
    expected = hashlib.sha256(data).hexdigest()
    server = _SERVER.ServerProcess(
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        str(tmp_path / "server"),
        "--announce-interval",
        "1",
    )
    bots: list[BotProcess] = []
    try:
        port = server.wait_port()
        sharer = BotProcess(
            port, tmp_path / "sharer", "sharer", "--room", "Files", "--share", str(source)
        )
        bots.append(sharer)
        sharer.wait_line(re.compile(r"seeding big\.bin"))
        fetchers = [
            BotProcess(
                port,
                tmp_path / name,
                name,
                "--room",
                "Files",
                "--fetch",
                "all",
                "--downloads",
                str(tmp_path / f"dl-{name}"),
            )
            for name in ("one", "two")
        ]
        bots += fetchers
        for bot in fetchers:
            m = bot.wait_line(FETCHED)
            assert m.group(3) == expected
            assert Path(m.group(2)).read_bytes() == data
            assert bot.proc.wait(timeout=30) == 0  # --fetch without --seconds: done, exit 0
        server.wait_line(re.compile(r"seed store: has all of"))
        sharer.stop()
        late = BotProcess(
            port,
            tmp_path / "late",
            "late",
            "--room",
            "Files",
            "--fetch",
            "big.bin",
            "--server-only",
            "--downloads",
            str(tmp_path / "dl-late"),
        )
        bots.append(late)
        m = late.wait_line(FETCHED)
        assert m.group(3) == expected
    finally:
        for bot in bots:
            bot.stop()
        server.proc.terminate()
        server.finish()
