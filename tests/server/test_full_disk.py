"""A full disk, for real: the data dir on a tiny tmpfs that the test fills up.

While the disk refuses writes the server logs a clear error and keeps serving
from memory; once space is freed the queued changes are written, and a
restart shows everything: what was written before, during and after the outage.
Needs root to mount a tmpfs; skips with the reason otherwise.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from nacl.signing import SigningKey
from voip_tests_server_client import Client

from voip.proto import voip_pb2
from voip.server import actors
from voip.server.app import ServerOptions, start_server
from voip.server.certs import load_or_create_self_signed
from voip.server.limits import Limits

TMPFS_SIZE = "1m"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mountpoint = tmp_path / "disk"
    mountpoint.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(mountpoint)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {result.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        if subprocess.run(["umount", str(mountpoint)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True)


def fill(path: Path) -> None:
    """Write until the file system says ENOSPC."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC, exc
    try:
        while True:  # the last partial page too
            os.write(fd, b"\0")
    except OSError as exc:
        assert exc.errno == errno.ENOSPC, exc
    finally:
        os.close(fd)


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    async def poll() -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            assert loop.time() < deadline, f"timed out waiting for {what}"
            await asyncio.sleep(0.05)

    asyncio.run(poll())


def test_full_disk_keeps_serving_and_stores_the_changes_once_space_is_back(
    small_disk: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(actors, "STORE_RETRY_INTERVAL", 0.2)
    caplog.set_level(logging.INFO, logger="voip.server")
    bundle = load_or_create_self_signed(tmp_path / "tls", ["localhost"])  # not on the small disk
    # Up to 200 rooms quickly: no room-change rate limit here.
    options = ServerOptions(
        data_dir=small_disk, bundle=bundle, limits=Limits(room_ops_burst=1000)
    )
    alice_key, bob_key = SigningKey.generate(), SigningKey.generate()
    ballast = small_disk / "ballast"
    ids: dict[str, int] = {}

    def refused() -> bool:
        return "could not write to the database" in caplog.text

    async def during_outage(port: int) -> None:
        alice = await Client.join(port, name="alice", key=alice_key)
        ids["alice"] = alice.user_id
        created = await alice.request(create_room=voip_pb2.CreateRoom(parent_id=1, name="before"))
        assert created.HasField("ack")
        await asyncio.sleep(0.2)  # let the store write it before the disk fills
        fill(ballast)
        # The log file's last page may still take a few small writes: go on until refused.
        n = 0
        while not refused():
            n += 1
            assert n < 200, "the full disk never refused a write"
            answer = await alice.request(
                create_room=voip_pb2.CreateRoom(parent_id=1, name=f"during {n:03d} " + "x" * 40)
            )
            assert answer.HasField("ack")  # served from memory all along
            await asyncio.sleep(0.01)
        # A new user registers and sees the state while nothing can be written.
        bob = await Client.join(port, name="bob", key=bob_key)
        ids["bob"] = bob.user_id
        names = {r.name for r in bob.state.rooms.values()} if bob.state else set()
        assert "before" in names and f"during {n:03d} " + "x" * 40 in names
        ids["during"] = n
        await bob.close()
        await alice.close()

    with start_server(options) as server:
        asyncio.run(during_outage(server.port))
        record = next(r for r in caplog.records if "could not write" in r.getMessage())
        assert record.levelno == logging.ERROR
        assert "keeps serving from memory" in record.getMessage()
        assert "No space left on device" in record.getMessage()

        ballast.unlink()
        wait_until(lambda: "is writable again" in caplog.text, "the queued writes to be stored")

        async def after(port: int) -> None:
            alice = await Client.join(port, name="alice", key=alice_key)
            assert (
                await alice.request(create_room=voip_pb2.CreateRoom(parent_id=1, name="after"))
            ).HasField("ack")
            await alice.close()

        asyncio.run(after(server.port))

    # A restart reads everything back: users with their ids, every room.
    with start_server(options) as again:

        async def check(port: int) -> None:
            alice = await Client.join(port, name="alice", key=alice_key)
            bob = await Client.join(port, name="bob", key=bob_key)
            assert (alice.user_id, bob.user_id) == (ids["alice"], ids["bob"])
            assert alice.state is not None
            names = {r.name for r in alice.state.rooms.values()}
            expected = {f"during {i:03d} " + "x" * 40 for i in range(1, ids["during"] + 1)}
            assert {"before", "after"} | expected <= names
            await alice.close()
            await bob.close()

        asyncio.run(check(again.port))
