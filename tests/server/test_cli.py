"""`voip-server` as a real subprocess, and its config handling."""

from __future__ import annotations

import asyncio
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from voip_tests_server_client import Client

from voip.errors import ConfigError
from voip.proto import voip_pb2
from voip.server.config import build_config, load_config_file, parse_listen

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
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)

    def wait_line(self, pattern: re.Pattern[str], timeout: float = 20.0) -> re.Match[str]:
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

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def spawn() -> Iterator[type[ServerProcess]]:
    started: list[ServerProcess] = []

    class Tracked(ServerProcess):
        def __init__(self, *args: str) -> None:
            super().__init__(*args)
            started.append(self)

    yield Tracked
    for p in started:
        p.kill()


def test_sigterm_says_goodbye_and_exits_0(tmp_path: Path, spawn: type[ServerProcess]) -> None:
    server = spawn("--listen", "127.0.0.1:0", "--data-dir", str(tmp_path), "--name", "Test")
    port = int(server.wait_line(LISTENING).group(2))
    fingerprint = server.wait_line(FINGERPRINT).group(1)

    async def scenario() -> None:
        client = await Client.join(port, name="a")
        assert fingerprint.replace("SHA256:", "").replace(":", "").lower() == (
            client.fingerprint.hex()
        )
        server.proc.send_signal(signal.SIGTERM)
        bye = await client.wait_envelope("goodbye")
        assert bye.goodbye.code == voip_pb2.SERVER_SHUTDOWN
        await client.wait_closed()
        await client.close()

    asyncio.run(scenario())
    assert server.proc.wait(timeout=30) == 0


def test_second_server_on_the_same_data_dir_fails_clearly(
    tmp_path: Path, spawn: type[ServerProcess]
) -> None:
    first = spawn("--listen", "127.0.0.1:0", "--data-dir", str(tmp_path))
    first.wait_line(LISTENING)
    second = spawn("--listen", "127.0.0.1:0", "--data-dir", str(tmp_path))
    assert second.proc.wait(timeout=30) == 1
    second.wait_line(re.compile(r"voip-server: error: .*another voip-server"))
    first.proc.send_signal(signal.SIGINT)
    assert first.proc.wait(timeout=30) == 0


def test_bad_flags_are_usage_errors(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(PYTHON), "-m", "voip.server", "--listen", "nonsense", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "HOST:PORT" in result.stderr


def test_config_file_then_flags(tmp_path: Path) -> None:
    path = tmp_path / "server.toml"
    path.write_text(
        'listen = "[::1]:9000"\nname = "From file"\npassword = "pw"\n'
        'data_dir = "data"\nflush_interval_ms = 5\n'
    )
    config = build_config(load_config_file(path), {"name": "From flag", "password": None})
    assert (config.host, config.port) == ("::1", 9000)
    assert config.name == "From flag"
    assert config.password == "pw"
    assert config.data_dir == tmp_path / "data"
    assert config.flush_interval_ms == 5


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('colour = "blue"\n', "unknown setting 'colour'"),
        ("name = \n", "not valid TOML"),
        ('cert = "a.pem"\n', "both --cert and --key"),
        ("ack_delay_ms = 80\n", "ack_delay_ms"),
    ],
)
def test_config_file_errors(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "server.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        build_config(load_config_file(path), {})


def test_parse_listen() -> None:
    assert parse_listen("0.0.0.0:7731") == ("0.0.0.0", 7731)
    assert parse_listen("[::]:0") == ("::", 0)
    with pytest.raises(ConfigError):
        parse_listen("7731")
