"""Access control against a real `voip-server` process (docs/PERMISSIONS.md).

The first-admin token is read from the server's log, as an operator would;
kills are SIGKILL, so what survives is what LevelDB had stored.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey
from voip_tests_server_client import Client
from voip_tests_server_process import PYTHON, ServerProcess

from voip.proto import voip_pb2 as pb
from voip.protocol.permissions import Perm

TOKEN = re.compile(r"one-time admin token .*: (\S+)$")
STORED_ACL = re.compile(r"stored: ACL set")
DENIED = pb.PERMISSION_DENIED


def args(data_dir: Path) -> tuple[str, ...]:
    return ("--listen", "127.0.0.1:0", "--data-dir", str(data_dir), "--log-level", "DEBUG")


async def ok(client: Client, **payload: Any) -> pb.Envelope:
    answer = await client.request(**payload)
    assert not answer.HasField("error"), answer
    return answer


def voice(seq: int) -> bytes:
    return pb.VoiceDatagram(sequence=seq, opus=b"\x08" * 40).SerializeToString()


def test_permissions_moderation_and_their_survival_of_kill_9(tmp_path: Path) -> None:
    keys = {n: SigningKey.generate() for n in ("admin", "alice", "bob", "carol", "mallory")}
    first = ServerProcess(*args(tmp_path))
    try:
        port = first.wait_port()
        token = first.wait_line(TOKEN).group(1)

        async def scenario() -> None:
            join = {n: (lambda n=n: Client.join(port, name=n, key=keys[n])) for n in keys}
            alice, bob = await join["alice"](), await join["bob"]()
            await ok(alice, create_room=pb.CreateRoom(parent_id=1, name="Alice's"))
            # a non-creator can neither rename nor delete it, nor rename the root
            for payload in (
                {"rename_room": pb.RenameRoom(room_id=2, name="Bob's now")},
                {"delete_room": pb.DeleteRoom(room_id=2)},
                {"rename_room": pb.RenameRoom(room_id=1, name="Pwned")},
            ):
                answer = await bob.request(**payload)
                assert answer.error.code == DENIED, answer
                assert "permission denied" in answer.error.message
            # nobody but an admin kicks
            assert (
                await bob.request(kick_user=pb.KickUser(user_id=alice.user_id))
            ).error.code == DENIED
            # the token makes an admin, once
            admin = await join["admin"]()
            await ok(admin, redeem_admin_token=pb.RedeemAdminToken(token=token))
            again = await bob.request(redeem_admin_token=pb.RedeemAdminToken(token=token))
            assert again.error.code == pb.BAD_TOKEN
            perms = await admin.wait_envelope(
                "permissions", lambda e: any(r.allowed & Perm.KICK for r in e.permissions.rooms)
            )
            assert perms.permissions.rooms[0].room_id == 1
            await ok(admin, rename_room=pb.RenameRoom(room_id=1, name="Home"))
            # a kicked user sees the reason
            await ok(admin, kick_user=pb.KickUser(user_id=bob.user_id, reason="too loud"))
            bye = await bob.wait_envelope("goodbye")
            assert bye.goodbye.code == pb.KICKED and "too loud" in bye.goodbye.message
            await bob.wait_closed()
            # a banned key is refused on reconnect, with the reason
            carol = await join["carol"]()
            await ok(admin, ban_user=pb.BanUser(user_id=carol.user_id, reason="spam"))
            assert (await carol.wait_envelope("goodbye")).goodbye.code == pb.BANNED
            retry = await Client.open(port, name="carol", key=keys["carol"])
            await retry.hello()
            refused = await retry.wait_envelope("error")
            assert refused.error.code == pb.BANNED and "spam" in refused.error.message
            # a server-muted user's voice reaches nobody; unmuted, it does
            mallory = await join["mallory"]()
            await ok(
                admin, set_server_mute=pb.SetServerMute(user_id=mallory.user_id, server_mute=True)
            )
            await alice.wait_state(lambda s: s.users[mallory.user_id].server_mute, "the mute")
            for seq in range(5):
                mallory.send_datagram(voice(seq))
            await ok(admin, set_server_mute=pb.SetServerMute(user_id=mallory.user_id))
            await alice.wait_state(lambda s: not s.users[mallory.user_id].server_mute, "unmute")
            mallory.send_datagram(voice(100))
            for listener in (alice, admin):
                got = await listener.wait_datagrams(1)
                seqs = [pb.VoiceDatagram.FromString(d).sequence for d in got]
                assert seqs == [100], seqs  # none of the muted ones
            # an ACL that survives the kill: nobody but admins may enter room 2
            entries = [
                pb.AclEntry(role="admin", allow=int(Perm.ENTER), apply_here=True, apply_subs=True)
            ]
            await ok(admin, set_acl=pb.SetAcl(room_id=2, inherit=False, entries=entries))
            denied = await alice.request(join_room=pb.JoinRoom(room_id=2))
            assert denied.error.code == DENIED and denied.error.missing_permission == Perm.ENTER
            for c in (alice, admin, mallory):
                await c.close()

        asyncio.run(scenario())
        first.wait_line(STORED_ACL)
    finally:
        first.kill()
    assert first.proc.returncode == -9

    again = ServerProcess(*args(tmp_path))
    try:
        port = again.wait_port()

        async def after_restart() -> None:
            admin = await Client.join(port, name="admin", key=keys["admin"])
            state = admin.sync()
            assert state.users[admin.user_id].roles == ("admin",)
            assert state.rooms[1].name == "Home"
            acl = (await ok(admin, get_acl=pb.GetAcl(room_id=2))).room_acl
            assert acl.inherit is False and [e.role for e in acl.entries] == ["admin"]
            bans = (await ok(admin, list_bans=pb.ListBans())).ban_list.bans
            assert [b.reason for b in bans] == ["spam"]
            retry = await Client.open(port, name="carol", key=keys["carol"])
            await retry.hello()
            assert (await retry.wait_envelope("error")).error.code == pb.BANNED
            await ok(admin, unban=pb.Unban(public_key=bytes(keys["carol"].verify_key)))
            carol = await Client.join(port, name="carol", key=keys["carol"])
            for c in (admin, carol):
                await c.close()
            # offline, the admin's name is still reserved to their key
            impostor = await Client.open(port, name="ADMIN")
            await impostor.hello()
            assert (await impostor.wait_envelope("error")).error.code == pb.NAME_RESERVED

        asyncio.run(after_restart())
        assert not any(TOKEN.search(line) for line in again.log)  # redeemed: no new token
    finally:
        again.kill()


def test_offline_admin_grant_then_the_user_is_admin(tmp_path: Path) -> None:
    key = SigningKey.generate()
    first = ServerProcess(*args(tmp_path))
    try:
        port = first.wait_port()

        async def meet() -> int:
            bob = await Client.join(port, name="Bob", key=key)
            await bob.close()
            return bob.user_id

        bob_id = asyncio.run(meet())
    finally:
        first.proc.terminate()
        assert first.finish() == 0

    def admin(*argv: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(PYTHON), "-m", "voip.server", "admin", *argv, "--data-dir", str(tmp_path)]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60)

    missing = admin("grant", "--user", "nobody")
    assert missing.returncode == 1 and "no known user is called 'nobody'" in missing.stderr
    granted = admin("grant", "--user", "bob")  # names match case-insensitively
    assert granted.returncode == 0, granted.stderr
    assert f"user {bob_id} (Bob) is now an admin" in granted.stdout
    listing = admin("list", "--json")
    assert (
        '"roles": ["admin"]' in listing.stdout and key.verify_key.encode().hex() in listing.stdout
    )

    again = ServerProcess(*args(tmp_path))
    try:
        port = again.wait_port()

        async def check() -> None:
            bob = await Client.join(port, name="Bob", key=key)
            assert bob.sync().users[bob_id].roles == ("admin",)
            await ok(bob, rename_room=pb.RenameRoom(room_id=1, name="Bob's server"))
            await bob.close()

        asyncio.run(check())
        assert not any(TOKEN.search(line) for line in again.log)
    finally:
        again.kill()
