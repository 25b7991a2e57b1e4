"""The LevelDB store against a real database in a temp dir."""

from __future__ import annotations

from pathlib import Path

import plyvel
import pytest

from voip.errors import SchemaTooNew, StorageError
from voip.proto import voip_pb2
from voip.protocol.permissions import AclEntry, RoomAcl, default_root_acl
from voip.protocol.state import Room
from voip.server.records import AclRecord, BanRecord, StoreChange, UserRecord
from voip.server.store import DB_DIR, ROOT_ROOM_ID, Store


def test_first_open_creates_root_room(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    try:
        snap = store.load("Home")
        assert snap.rooms == (Room(ROOT_ROOM_ID, "Home", 0),)
        assert snap.acls == (AclRecord(ROOT_ROOM_ID, default_root_acl()),)
        assert len(snap.admin_token) >= 20  # nobody is admin yet
        assert snap.users == ()
        assert snap.next_user_id == 1
        assert snap.next_room_id == ROOT_ROOM_ID + 1
    finally:
        store.close()


def test_changes_survive_reopen(tmp_path: Path) -> None:
    user = UserRecord(7, b"k" * 32, "alice", created_ms=1, last_seen_ms=2, roles=("admin",))
    acl = RoomAcl(True, (AclEntry(allow=1, role="everyone"),))
    store = Store.open(tmp_path)
    store.load("Lobby")
    store.write(
        StoreChange(
            users=(user,),
            rooms=(Room(2, "Games", 1), Room(3, "Chess", 2)),
            acls=(AclRecord(2, acl),),
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
        assert [a.room_id for a in snap.acls] == [1]  # room 2's was deleted with its room
        assert store.acl(2) is None
        assert snap.admin_token == ""  # user 7 is an admin
    finally:
        store.close()


def test_acl_round_trip(tmp_path: Path) -> None:
    entries = (AclEntry(role="mod", allow=16, apply_subs=False), AclEntry(user_id=3, deny=2))
    acl = RoomAcl(False, entries)
    store = Store.open(tmp_path)
    try:
        store.load("Lobby")
        store.write(StoreChange(acls=(AclRecord(1, acl),)))
        assert store.acl(1) == acl
        assert store.load("Lobby").acls == (AclRecord(1, acl),)
    finally:
        store.close()


def test_roles_bans_and_token_round_trip(tmp_path: Path) -> None:
    ban = BanRecord(b"b" * 32, "spam", until_ms=0, created_ms=5, by_user_id=1, name="x", user_id=4)
    store = Store.open(tmp_path)
    token = store.load("Lobby").admin_token
    store.write(StoreChange(roles=("mod", "dj"), bans=(ban,), reason="t"))
    store.close()
    store = Store.open(tmp_path)
    try:
        snap = store.load("Lobby")
        assert snap.roles == ("dj", "mod")
        assert snap.bans == (ban,)
        assert snap.admin_token == token  # the same token until redeemed
        store.write(
            StoreChange(deleted_roles=("dj",), lifted_bans=(ban.public_key,), admin_token="")
        )
        snap = store.load("Lobby")
        assert snap.roles == ("mod",)
        assert snap.bans == ()
        assert snap.admin_token != token  # still nobody admin: a fresh one
    finally:
        store.close()


def test_schema_1_database_is_migrated(tmp_path: Path) -> None:
    """A data dir from before access control: rooms kept, root gets the default ACL."""
    path = tmp_path / DB_DIR
    path.mkdir()
    db = plyvel.DB(str(path), create_if_missing=True)
    db.put(b"meta:schema", b"1")
    for rid, name, parent in ((1, "Lobby", 0), (2, "Games", 1)):
        db.put(
            b"room:" + rid.to_bytes(4, "big"),
            voip_pb2.StoredRoom(
                room=voip_pb2.RoomInfo(id=rid, name=name, parent_id=parent)
            ).SerializeToString(),
        )
    user = voip_pb2.StoredUser(id=1, public_key=b"u" * 32, name="old")
    db.put(b"user:" + b"u" * 32, user.SerializeToString())
    db.close()
    store = Store.open(tmp_path)
    try:
        snap = store.load("Lobby")
        assert sorted(r.id for r in snap.rooms) == [1, 2]
        assert [u.name for u in snap.users] == ["old"]
        assert snap.acls == (AclRecord(1, default_root_acl()),)
    finally:
        store.close()
    db = plyvel.DB(str(path))
    assert db.get(b"meta:schema") == b"2"
    db.close()


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
