"""`voip-bot --reconnect`: a server killed (no goodbye) and restarted on its port; the bot
comes back by itself into the room it was in."""

from __future__ import annotations

import runpy
import socket
import subprocess
import sys
import time
from pathlib import Path

from voip.client import BackendHandle
from voip.client import commands as c
from voip.client.state import State
from voip.client.trust import KnownServers

_tests = Path(__file__).resolve().parents[1]
_load = runpy.run_path(str(_tests / "support" / "loading.py"))["load"]
server_process = _load("voip_tests_server_process", _tests / "server" / "server_process.py")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_bot_reconnects_into_its_room_after_the_server_comes_back(tmp_path: Path) -> None:
    address = f"127.0.0.1:{_free_port()}"
    data = tmp_path / "server"
    server = server_process.ServerProcess("--listen", address, "--data-dir", str(data))
    bot = None
    out = ""
    observer: BackendHandle | None = None
    try:
        server.wait_port()
        fingerprint = server.wait_line(server_process.FINGERPRINT).group(1)
        bot = subprocess.Popen(
            [sys.executable, "-m", "voip.bot", "--server", address, "--name", "bot",
             "--room", "Ops", "--trust-fingerprint", fingerprint, "--reconnect",
             "--config-dir", str(tmp_path / "bot"), "--seconds", "60"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        KnownServers(tmp_path / "observer").pin(address, fingerprint)

        def bot_in_ops(state: State) -> bool:
            ops = state.find_room("Ops")
            return ops is not None and any(
                u.name == "bot" and u.room_id == ops.id for u in state.users
            )

        observer = BackendHandle(config_dir=tmp_path / "observer", connect_timeout=5)
        observer.send(c.Connect(address, "observer"))
        observer.wait_for(bot_in_ops, 30)
        observer.shutdown()
        observer = None

        server.kill()
        time.sleep(2.0)
        server = server_process.ServerProcess("--listen", address, "--data-dir", str(data))
        server.wait_port()
        observer = BackendHandle(config_dir=tmp_path / "observer", connect_timeout=5)
        observer.send(c.Connect(address, "observer"))
        observer.wait_for(bot_in_ops, 60)  # back, and in Ops again
        assert bot.poll() is None, "the bot gave up instead of reconnecting"
    finally:
        if observer is not None:
            observer.shutdown()
        if bot is not None:
            bot.terminate()
            out = bot.communicate(timeout=30)[0]
            print(out)
        server.kill()
    assert "reconnected" in out, out
