"""A real server in its own process, for the relay and e2e benchmarks.

``python -m voip.server --listen 127.0.0.1:PORT --data-dir DIR`` when the
server's CLI is there; until then ``python -m benchmarks.serve`` with the
same arguments, a thin launcher around ``voip.server.app.start_server`` (the
same in-process starter the CLI uses). Either way the server is a separate
process whose CPU time ``/proc/<pid>/stat`` reports on its own.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path
from types import TracebackType

from benchmarks.report import Unavailable

READY_TIMEOUT = 60.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def server_command(listen: str, data_dir: Path) -> tuple[list[str], str]:
    if importlib.util.find_spec("voip.server.__main__") is not None:
        module = "voip.server"
    else:
        module = "benchmarks.serve"
    cmd = [sys.executable, "-m", module, "--listen", listen, "--data-dir", str(data_dir)]
    return cmd, module


class ServerProcess:
    """Start the server, wait until it listens, stop it on exit."""

    def __init__(self, data_dir: Path, extra_args: list[str] | None = None) -> None:
        if importlib.util.find_spec("voip.server.app") is None:
            raise Unavailable("the server (voip.server.app) has not landed yet")
        self.port = free_udp_port()
        cmd, self.module = server_command(f"127.0.0.1:{self.port}", data_dir)
        self.cmd = cmd + (extra_args or [])
        self.lines: deque[str] = deque(maxlen=200)
        self._ready = threading.Event()
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, env=env,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + READY_TIMEOUT
        while not self._ready.wait(0.1):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                output = "\n".join(self.lines)
                self.stop()
                raise RuntimeError(f"server did not start ({' '.join(self.cmd)}):\n{output}")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())
            if "listening on" in line:
                self._ready.set()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
