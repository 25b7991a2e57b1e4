"""`voip-admin` against a real `voip-server` process, each command as an operator runs it.

The admin becomes admin with the token from the server's log; a plain user
(the test's own client) stays connected to be moved, muted, kicked and
banned, and sees each effect in its hash-checked state.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from nacl.signing import SigningKey
from voip_tests_server_client import Client
from voip_tests_server_process import FINGERPRINT, ServerProcess

from voip.proto import voip_pb2 as pb

TOKEN = re.compile(r"one-time admin token .*: (\S+)$")


class Admin:
    """Runs `python -m voip.admin` with one config dir (one key)."""

    def __init__(self, port: int, config_dir: Path, fingerprint: str) -> None:
        self.base = [
            "--server",
            f"127.0.0.1:{port}",
            "--config-dir",
            str(config_dir),
            "--fingerprint",
            fingerprint,
        ]

    async def run(self, *args: str, json_out: bool = False) -> tuple[int, str, str]:
        cmd = [sys.executable, "-m", "voip.admin", *self.base]
        if json_out:
            cmd.append("--json")
        proc = await asyncio.create_subprocess_exec(
            *cmd,
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode is not None
        return proc.returncode, out.decode(), err.decode()

    async def ok(self, *args: str) -> str:
        code, out, err = await self.run(*args)
        assert code == 0, (args, code, out, err)
        return out

    async def json(self, *args: str) -> Any:
        code, out, err = await self.run(*args, json_out=True)
        assert code == 0, (args, code, out, err)
        return json.loads(out)


@pytest.mark.timeout(480)  # about 30 voip-admin processes, each a Python start and a handshake
def test_voip_admin_drives_each_command(tmp_path: Path) -> None:
    server = ServerProcess("--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "server"))
    try:
        port = server.wait_port()
        fingerprint = server.wait_line(FINGERPRINT).group(1)
        token = server.wait_line(TOKEN).group(1)

        async def scenario() -> None:
            admin = Admin(port, tmp_path / "admin", fingerprint)
            stranger = Admin(port, tmp_path / "stranger", fingerprint)
            bob_key = SigningKey.generate()
            bob = await Client.join(port, name="bob", key=bob_key)

            # before the token: refused, exit 4, and the server's sentence
            code, _, err = await admin.run("kick", "bob")
            assert code == 4 and "permission denied" in err, err
            code, out, _ = await admin.run("kick", "bob", json_out=True)
            assert code == 4 and json.loads(out)["error"] == "PERMISSION_DENIED"
            assert "is now an admin" in await admin.ok("redeem", token)
            code, _, err = await stranger.run("redeem", token)
            assert code == 5 and "already used" in err

            users = {u["name"]: u for u in await admin.json("users")}
            assert users["bob"]["online"] and True
            assert users["bob"]["key"] == bytes(bob_key.verify_key).hex()
            rooms = await admin.json("rooms")
            assert [r["room"] for r in rooms] == ["Lobby"]

            await admin.ok("roles", "create", "moderator")
            await admin.ok("roles", "grant", "bob", "moderator")
            await bob.wait_state(lambda s: s.users[bob.user_id].roles == ("moderator",), "role")
            roles = {r["role"]: r for r in await admin.json("roles", "list")}
            assert roles["moderator"]["users"] == [bob.user_id] and roles["admin"]["builtin"]

            # an ACL on the root: moderators may kick; shown back as set
            await admin.ok(
                "acl",
                "set",
                "Lobby",
                "--entry",
                "role=everyone allow=enter,speak,text,make-room",
                "--entry",
                "role=moderator allow=kick",
            )
            shown = await admin.json("acl", "show", "1")
            assert shown["inherit"] is True
            assert [e["allow"] for e in shown["entries"]] == [
                ["enter", "speak", "text", "make-room"],
                ["kick"],
            ]
            code, _, err = await admin.run(
                "acl", "set", "Lobby", "--entry", "role=ghosts allow=enter"
            )
            assert code == 5 and "does not exist" in err

            # mute, move: bob sees each in his state
            await bob.request(create_room=pb.CreateRoom(parent_id=1, name="Quiet"))
            await admin.ok("mute", "bob")
            await bob.wait_state(lambda s: s.users[bob.user_id].server_mute, "server mute")
            await admin.ok("unmute", str(bob.user_id))
            await bob.wait_state(lambda s: not s.users[bob.user_id].server_mute, "unmute")
            await admin.ok("move", "bob", "Quiet")
            await bob.wait_state(lambda s: s.users[bob.user_id].room_id == 2, "moved")
            code, _, err = await admin.run("move", "bob", "Nowhere")
            assert code == 2 and "no room is called 'Nowhere'" in err

            # kick with a reason bob sees
            await admin.ok("kick", "bob", "--reason", "lunch time")
            bye = await bob.wait_envelope("goodbye")
            assert bye.goodbye.code == pb.KICKED and "lunch time" in bye.goodbye.message
            # ban the (offline, known) key, list, lift
            await admin.ok("ban", "bob", "--duration", "2h", "--reason", "spam")
            bans = await admin.json("bans")
            assert [(b["name"], b["reason"]) for b in bans] == [("bob", "spam")]
            again = await Client.open(port, name="bob", key=bob_key)
            await again.hello()
            assert (await again.wait_envelope("error")).error.code == pb.BANNED
            await admin.ok("unban", bans[0]["key"])
            assert await admin.json("bans") == []
            code, _, err = await admin.run("unban", bans[0]["key"])
            assert code == 5 and "not banned" in err
            code, _, err = await admin.run("kick", "nobody")
            assert code == 2 and "no user is called 'nobody'" in err
            bob = await Client.join(port, name="bob", key=bob_key)  # welcome again
            await admin.ok("roles", "revoke", "bob", "moderator")
            await bob.wait_state(lambda s: s.users[bob.user_id].roles == (), "revoked")
            await admin.ok("roles", "delete", "moderator")
            assert "moderator" not in {r["role"] for r in await admin.json("roles", "list")}
            shown = await admin.json("acl", "show", "Lobby")
            assert [e["role"] for e in shown["entries"]] == ["everyone"]  # its entry went too

        asyncio.run(scenario())
    finally:
        server.kill()


def test_voip_admin_says_why_it_cannot_connect(tmp_path: Path) -> None:
    async def scenario() -> None:
        unreachable = Admin(9, tmp_path / "a", "SHA256:" + ":".join(["00"] * 32))
        code, _, err = await unreachable.run("rooms")
        assert code == 3 and err.startswith("voip-admin: "), err

    asyncio.run(scenario())


def test_voip_admin_refuses_an_unpinned_self_signed_server(tmp_path: Path) -> None:
    server = ServerProcess("--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "server"))
    try:
        port = server.wait_port()
        fingerprint = server.wait_line(FINGERPRINT).group(1)

        async def scenario() -> None:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "voip.admin",
                "--server",
                f"127.0.0.1:{port}",
                "--config-dir",
                str(tmp_path / "cfg"),
                "rooms",
                stderr=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
            _, err = await asyncio.wait_for(proc.communicate(), 60)
            assert proc.returncode == 3
            assert fingerprint in err.decode() and "--fingerprint" in err.decode()

        asyncio.run(scenario())
    finally:
        server.kill()
