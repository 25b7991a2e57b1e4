"""The LevelDB store against a real database in a temp dir."""

from __future__ import annotations

from pathlib import Path

import plyvel
import pytest

from voip.errors import SchemaTooNew, StorageError
from voip.proto import voip_pb2
from voip.protocol.state import Room
from voip.server.records import AclRecord, StoreChange, UserRecord
from voip.server.store import DB_DIR, ROOT_ROOM_ID, Store


def test_first_open_creates_root_room(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    try:
        snap = store.load("Home")
        assert snap.rooms == (Room(ROOT_ROOM_ID, "Home", 0),)
        assert snap.users == ()
        assert snap.next_user_id == 1
        assert snap.next_room_id == ROOT_ROOM_ID + 1
    finally:
        store.close()


def test_changes_survive_reopen(tmp_path: Path) -> None:
    user = UserRecord(7, b"k" * 32, "alice", created_ms=1, last_seen_ms=2, roles=("admin",))
    acl = voip_pb2.StoredAcl(room_id=2, inherit=True, entries=[voip_pb2.AclEntry(allow=1)])
    store = Store.open(tmp_path)
    store.load("Lobby")
    store.write(
        StoreChange(
            users=(user,),
            rooms=(Room(2, "Games", 1), Room(3, "Chess", 2)),
            acls=(AclRecord(2, acl.SerializeToString()),),
            next_user_id=8,
            next_room_id=4,
        )
    )
    store.write(StoreChange(rooms=(Room(3, "Chess", 1),), deleted_rooms=(2,)))
    store.close()
    store = Store.open(tmp_path)
    try:
        snap = store.load("ignored")
        assert sorted(snap.rooms, key=lambda r: r.id) == [Room(1, "Lobby", 0), Room(3, "Chess", 1)]
        assert snap.users == (user,)
        assert snap.next_user_id == 8
        assert snap.next_room_id == 4
        assert snap.acls == ()  # deleted with its room
        assert store.acl(2) is None
    finally:
        store.close()


def test_acl_round_trip(tmp_path: Path) -> None:
    acl = voip_pb2.StoredAcl(room_id=1, entries=[voip_pb2.AclEntry(role="mod", allow=16)])
    store = Store.open(tmp_path)
    try:
        store.load("Lobby")
        store.write(StoreChange(acls=(AclRecord(1, acl.SerializeToString()),)))
        assert store.acl(1) == acl
        assert store.load("Lobby").acls == (AclRecord(1, acl.SerializeToString()),)
    finally:
        store.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    Store.open(tmp_path).close()
    db = plyvel.DB(str(tmp_path / DB_DIR))
    db.put(b"meta:schema", b"99")
    db.close()
    with pytest.raises(SchemaTooNew, match="upgrade voip-server"):
        Store.open(tmp_path)


def test_foreign_database_is_refused(tmp_path: Path) -> None:
    db = plyvel.DB(str(tmp_path / DB_DIR), create_if_missing=True)
    db.put(b"something", b"else")
    db.close()
    with pytest.raises(StorageError, match="no schema version"):
        Store.open(tmp_path)


def test_second_open_says_locked(tmp_path: Path) -> None:
    first = Store.open(tmp_path)
    try:
        with pytest.raises(StorageError, match="another voip-server"):
            Store.open(tmp_path)
    finally:
        first.close()


def test_unwritable_data_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a dir")
    with pytest.raises(StorageError, match="cannot create the database directory"):
        Store.open(blocker)


def test_write_after_close_is_storage_error(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    store.close()
    with pytest.raises(StorageError):
        store.write(StoreChange(rooms=(Room(2, "x", 1),)))


def test_orphan_rooms_are_hung_under_root(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    try:
        store.load("Lobby")
        store.write(StoreChange(rooms=(Room(5, "lost", 44),)))
        rooms = {r.id: r for r in store.load("Lobby").rooms}
        assert rooms[5].parent_id == ROOT_ROOM_ID
    finally:
        store.close()
