"""`voip-server` as a real subprocess, for tests that need a process to signal or kill.

Shared by tests/server, tests/acme and tests/client (loaded by path: tests/
is not a package). The server's stderr log is pumped on a thread so tests can
wait for a log line with a deadline instead of sleeping.
"""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

PYTHON = Path(sys.executable)
LISTENING = re.compile(r"listening on (\S+):(\d+)")
FINGERPRINT = re.compile(r"certificate fingerprint (SHA256:[0-9A-F:]+)")


class ServerProcess:
    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [str(PYTHON), "-m", "voip.server", *args],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)

    def wait_line(self, pattern: re.Pattern[str], timeout: float = 20.0) -> re.Match[str]:
        """The next log line matching `pattern` (lines read on the way are kept in `log`)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"no log line matching {pattern.pattern}:\n{''.join(self.log)}"
                )
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            self.log.append(line)
            match = pattern.search(line)
            if match:
                return match

    def wait_port(self, timeout: float = 20.0) -> int:
        return int(self.wait_line(LISTENING, timeout).group(2))

    def finish(self, timeout: float = 30.0) -> int:
        """Wait for the exit; the rest of the log goes into `log`. Returns the exit code."""
        code = self.proc.wait(timeout=timeout)
        self._pump_thread.join(timeout)
        while not self.lines.empty():
            self.log.append(self.lines.get_nowait())
        return code

    def kill(self) -> None:
        """SIGKILL (no goodbye, no database close) and reap."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
