"""File sharing through real servers and backends: refusals, and a peer that lies.

The lying peer is `tests/support/evil_peer.py`: a hostile client, not a mock.

Every wait is on the snapshot with a deadline; libtorrent runs for real on
loopback, with peers only from the server's tracker.
"""

from __future__ import annotations

import hashlib
import os
import runpy
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import libtorrent as lt

from voip.bittorrent.making import make_torrent
from voip.client import commands as c
from voip.client.state import State
from voip.server.sharing import SharingSettings

WAIT = 60.0
Backends = Callable[..., Any]
_SUPPORT = Path(__file__).resolve().parents[1] / "support"
backends = SimpleNamespace(**runpy.run_path(str(_SUPPORT / "backends.py")))
evil_peer = SimpleNamespace(**runpy.run_path(str(_SUPPORT / "evil_peer.py")))


def connect(backend: Any, server: Any, name: str) -> State:
    state: State = backends.connect_trusting(backend, f"127.0.0.1:{server.port}", name, WAIT)
    return state


def go_to(backend: Any, name: str) -> None:
    state = backend.state()
    room = state.find_room(name)
    if room is None:
        backend.send(c.CreateRoom(state.root_room.id, name))
        room = backend.wait_for(lambda s: s.find_room(name) is not None, WAIT).find_room(name)
    backend.send(c.JoinRoom(room.id))
    backend.wait_for(lambda s: s.my_room_id == room.id, WAIT)


def offered(backend: Any) -> bytes:
    state = backend.wait_for(lambda s: bool(s.files), WAIT)
    return state.files[0].info_hash


def test_only_members_fetch_and_a_corrupt_peer_does_not_corrupt_the_copy(
    make_backend: Backends, server_factory: Any, tmp_path: Path
) -> None:
    server = server_factory(sharing=SharingSettings(seed=False, announce_interval_s=1))
    data = os.urandom(3 * 1000 * 1000)
    (tmp_path / "a").mkdir()
    (tmp_path / "m").mkdir()
    (tmp_path / "a" / "data.bin").write_bytes(data)
    (tmp_path / "m" / "data.bin").write_bytes(data)

    alice = make_backend(tmp_path / "alice")
    connect(alice, server, "alice")
    go_to(alice, "Files")
    alice.send(c.ShareFile(str(tmp_path / "a" / "data.bin")))
    info_hash = offered(alice)
    line = alice.wait_for(lambda s: any(x.file_hash == info_hash for x in s.chat), WAIT)
    assert any("data.bin (3.0 MB)" in x.text for x in line.chat if x.file_hash)

    # carol is in another room: the tracker refuses her, naming the room to join
    carol = make_backend(tmp_path / "carol", downloads_dir=tmp_path / "carol-dl")
    connect(carol, server, "carol")
    carol.send(c.DownloadFile(info_hash))
    refused = carol.wait_for(lambda s: s.last_error is not None, WAIT).last_error
    assert refused is not None and refused.code == "NOT_A_MEMBER" and "'Files'" in refused.message
    assert not (tmp_path / "carol-dl" / "data.bin").exists()

    # mallory says she has it, at the address of a peer that answers with noise
    meta = lt.torrent_info(make_torrent(tmp_path / "a" / "data.bin"))
    evil = evil_peer.EvilPeer(meta.num_pieces())
    mallory = make_backend(tmp_path / "mallory")
    connect(mallory, server, "mallory")
    go_to(mallory, "Files")
    mallory.send(c.AnnounceFile(info_hash, port=evil.port, complete=True))
    mallory.wait_for(lambda s: True, WAIT)
    alice.send(c.Disconnect())  # only mallory is left to fetch from

    bob = make_backend(tmp_path / "bob", downloads_dir=tmp_path / "bob-dl")
    connect(bob, server, "bob")
    go_to(bob, "Files")
    bob.send(c.DownloadFile(offered(bob)))
    bob.wait_for(lambda s: (t := s.transfer(info_hash)) is not None and t.rejected_pieces > 0, WAIT)
    assert not bob.state().transfer(info_hash).complete
    assert evil.blocks_sent > 0

    connect(alice, server, "alice")  # the honest copy comes back
    go_to(alice, "Files")
    alice.send(c.ShareFile(str(tmp_path / "a" / "data.bin")))
    done = bob.wait_for(lambda s: (t := s.transfer(info_hash)) is not None and t.complete, WAIT)
    transfer = done.transfer(info_hash)
    assert transfer is not None and transfer.path == str(tmp_path / "bob-dl" / "data.bin")
    got = (tmp_path / "bob-dl" / "data.bin").read_bytes()
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
    evil.close()
