"""The tracker in ServerCore: shares, announces, peer lists and every refusal."""

from __future__ import annotations

from pathlib import Path

import libtorrent as lt
import pytest
from voip_tests_core_harness import Harness, snapshot

from voip.bittorrent.making import make_torrent
from voip.proto import voip_pb2
from voip.protocol.torrent import parse_torrent
from voip.server.actions import Seed, Unseed
from voip.server.core import CoreSettings, ServerCore
from voip.server.sharing import SharingSettings


@pytest.fixture
def torrent(tmp_path: Path) -> bytes:
    path = tmp_path / "notes.bin"
    path.write_bytes(bytes(range(256)) * 400)  # 100 kB
    return make_torrent(path)


def harness(**sharing: object) -> Harness:
    settings = SharingSettings(**{"seed_port": 7000, **sharing})  # type: ignore[arg-type]
    return Harness(ServerCore(CoreSettings(sharing=settings), snapshot()))


def open_at(h: Harness, sid: int, host: str, name: str) -> None:
    """A client connecting from `host`."""
    h.open(sid, name=name, host=host)


def run(h: Harness, sid: int, rid: int, **payload: object) -> tuple[voip_pb2.Envelope, list]:
    env = voip_pb2.Envelope(request_id=rid, **payload)  # type: ignore[arg-type]
    actions = h.dispatch(h.core.receive(sid, env, h.now))
    answers = [e for e in h.peers[sid].inbox if e.request_id == rid]
    assert len(answers) == 1, answers
    return answers[0], actions


def share(h: Harness, sid: int, rid: int, torrent: bytes) -> tuple[voip_pb2.Envelope, list]:
    return run(h, sid, rid, share_file=voip_pb2.ShareFile(torrent=torrent))


def announce(h: Harness, sid: int, rid: int, info_hash: bytes, port: int = 6881, **kw: object):  # type: ignore[no-untyped-def]
    return run(h, sid, rid, announce=voip_pb2.Announce(info_hash=info_hash, port=port, **kw))


def test_a_share_reaches_the_room_and_the_server_seeds_it(torrent: bytes) -> None:
    h = harness()
    open_at(h, 1, "10.0.0.1", "alice")
    open_at(h, 2, "10.0.0.2", "bob")
    assert h.peers[1].inbox[0].welcome.max_share_size == SharingSettings().max_file_bytes
    for p in h.peers.values():
        p.take()
    answer, actions = share(h, 1, 1, torrent)
    assert answer.HasField("ack")
    meta = parse_torrent(torrent)
    for sid in (1, 2):
        (offered,) = [e.file_shared.file for e in h.peers[sid].inbox if e.HasField("file_shared")]
        assert offered.info_hash == meta.info_hash and len(offered.info_hash) == 32
        assert len(offered.info_hash_v1) == 20  # hybrid
        assert (offered.name, offered.size, offered.sharer_name) == ("notes.bin", 102400, "alice")
        assert offered.server_seeds
    assert [a for a in actions if isinstance(a, Seed)] == [Seed(meta.info_hash, torrent)]
    persisted = [p.change.shares for p in h.persisted if p.change.shares]
    assert persisted and persisted[-1][0].info_hash == meta.info_hash


def test_peer_lists_name_other_members_and_the_seed_but_never_yourself(torrent: bytes) -> None:
    h = harness()
    open_at(h, 1, "10.0.0.1", "alice")
    open_at(h, 2, "10.0.0.2", "bob")
    open_at(h, 3, "10.0.0.3", "carol")
    info_hash = parse_torrent(torrent).info_hash
    share(h, 1, 1, torrent)
    first, actions = announce(h, 1, 2, info_hash, port=5001, complete=True)
    assert first.peer_list.torrent == torrent and first.peer_list.interval_s > 0
    assert [(p.user_id, p.host, p.port) for p in first.peer_list.peers] == [(0, "", 7000)]
    # the seeder is told where to fetch the file
    assert Seed(info_hash, torrent, peers=(("10.0.0.1", 5001),)) in actions
    reply, _ = announce(h, 2, 1, info_hash, port=5002)
    assert [(p.user_id, p.host, p.port) for p in reply.peer_list.peers] == [
        (1, "10.0.0.1", 5001),
        (0, "", 7000),
    ]
    hidden, _ = announce(h, 3, 1, info_hash, port=0)  # fetch only: nobody learns carol's address
    assert {p.user_id for p in hidden.peer_list.peers} == {1, 2, 0}
    again, _ = announce(h, 2, 2, info_hash, port=5002)
    assert {p.user_id for p in again.peer_list.peers} == {1, 0}
    # a member who leaves the room is no longer listed
    assert h.request(1, 9, create_room=voip_pb2.CreateRoom(parent_id=1, name="side")).ack
    side = max(h.core.state.rooms)
    assert h.request(1, 10, join_room=voip_pb2.JoinRoom(room_id=side)).ack
    later, _ = announce(h, 2, 3, info_hash, port=5002)
    assert {p.user_id for p in later.peer_list.peers} == {0}
    stopped, _ = announce(h, 2, 4, info_hash, stopped=True)
    assert list(stopped.peer_list.peers) == []


def test_refusals_say_why(torrent: bytes, tmp_path: Path) -> None:
    h = harness(max_file_bytes=50_000)
    open_at(h, 1, "10.0.0.1", "alice")
    open_at(h, 2, "10.0.0.2", "bob")
    too_big, _ = share(h, 1, 1, torrent)
    assert too_big.error.code == voip_pb2.FILE_TOO_BIG and "50000" in too_big.error.message
    garbage, _ = share(h, 1, 2, b"d4:spam")
    assert garbage.error.code == voip_pb2.BAD_TORRENT
    v1 = tmp_path / "old.bin"
    v1.write_bytes(b"x" * 1000)
    creator = lt.create_torrent(lt.list_files(str(v1)), 0, lt.create_torrent.v1_only)
    lt.set_piece_hashes(creator, str(tmp_path))
    old, _ = share(h, 1, 3, bytes(lt.bencode(creator.generate())))
    assert old.error.code == voip_pb2.BAD_TORRENT and "v1 only" in old.error.message
    bad_hash, _ = announce(h, 1, 4, b"\x01" * 20)
    assert bad_hash.error.code == voip_pb2.MALFORMED_MESSAGE
    unknown, _ = announce(h, 1, 5, b"\x01" * 32)
    assert unknown.error.code == voip_pb2.UNKNOWN_FILE

    h2 = harness()
    open_at(h2, 1, "10.0.0.1", "alice")
    open_at(h2, 2, "10.0.0.2", "bob")
    assert h2.request(1, 1, create_room=voip_pb2.CreateRoom(parent_id=1, name="side")).ack
    side = max(h2.core.state.rooms)
    assert h2.request(1, 2, join_room=voip_pb2.JoinRoom(room_id=side)).ack
    assert share(h2, 1, 3, torrent)[0].HasField("ack")
    assert not [e for e in h2.peers[2].inbox if e.HasField("file_shared")]  # not bob's room
    outsider, _ = announce(h2, 2, 1, parse_torrent(torrent).info_hash)
    assert outsider.error.code == voip_pb2.NOT_A_MEMBER and "'side'" in outsider.error.message


def test_a_room_keeps_at_most_its_cap_of_files(torrent: bytes, tmp_path: Path) -> None:
    h = harness(max_files_per_room=1)
    open_at(h, 1, "10.0.0.1", "alice")
    assert share(h, 1, 1, torrent)[0].HasField("ack")
    other = tmp_path / "other.bin"
    other.write_bytes(b"y" * 5000)
    refused, _ = share(h, 1, 2, make_torrent(other))
    assert (
        refused.error.code == voip_pb2.FILE_TOO_BIG
        and "holds 1 shared files" in refused.error.message
    )
    assert share(h, 1, 3, torrent)[0].HasField("ack")  # the same file again is no new file


def test_a_full_seed_store_still_shares_and_says_so(torrent: bytes) -> None:
    h = harness(seed_store_bytes=1000)
    open_at(h, 1, "10.0.0.1", "alice")
    h.peers[1].take()
    answer, actions = share(h, 1, 1, torrent)
    assert answer.HasField("ack")
    assert not [a for a in actions if isinstance(a, Seed)]
    kinds = h.peers[1].kinds()
    assert kinds.index("ack") < len(kinds) - 1
    (notice,) = [e.error for e in h.peers[1].inbox if e.HasField("error")]
    assert notice.code == voip_pb2.SEED_STORE_FULL and "1000 bytes left" in notice.message
    reply, _ = announce(h, 1, 2, parse_torrent(torrent).info_hash)
    assert [p.user_id for p in reply.peer_list.peers] == []  # no seed entry


def test_the_seeder_failing_stops_seeding_and_tells_the_sharer(torrent: bytes) -> None:
    h = harness()
    open_at(h, 1, "10.0.0.1", "alice")
    share(h, 1, 1, torrent)
    h.peers[1].take()
    info_hash = parse_torrent(torrent).info_hash
    actions = h.dispatch(h.core.seed_failed(info_hash, "No space left on device", h.now))
    assert Unseed(info_hash) in actions
    (notice,) = [e.error for e in h.peers[1].inbox if e.HasField("error")]
    assert notice.code == voip_pb2.SEED_STORE_FULL and "No space left" in notice.message
    reply, _ = announce(h, 1, 2, info_hash)
    assert all(p.user_id != 0 for p in reply.peer_list.peers)


def test_a_newcomer_sees_the_rooms_files_in_its_history(torrent: bytes) -> None:
    h = harness()
    open_at(h, 1, "10.0.0.1", "alice")
    share(h, 1, 1, torrent)
    open_at(h, 2, "10.0.0.2", "bob")
    (hist,) = [e.room_history for e in h.peers[2].inbox if e.HasField("room_history")]
    assert [f.name for f in hist.files] == ["notes.bin"]
