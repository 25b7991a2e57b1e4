"""The server's LevelDB database (plyvel): users, the room tree, ACLs, counters.

Layout (all values are protobuf or ASCII):

    meta:schema             b"2"                    schema version
    meta:next_user_id       ASCII int               next user id to hand out
    meta:next_room_id       ASCII int               next room id to hand out
    meta:admin_token        UTF-8                   first-admin token until redeemed
    user:<public key>       StoredUser              32-byte Ed25519 key; roles
    room:<id, 4 bytes BE>   StoredRoom
    acl:<room id, 4 B BE>   StoredAcl               docs/PERMISSIONS.md
    role:<name, UTF-8>      StoredRole              custom roles
    ban:<public key>        StoredBan
    chat:<room id BE 4><sequence BE 8>  StoredChat  room history (server/history.py)
    share:<room id BE 4><info-hash 32>  StoredShare  shared files (server/sharing.py)

Schema 1 (before access control) is migrated on open: the root room gets
the default ACL, in one batch with the new version number. Rooms made
before have no creator entry, so only admins may edit them.

Each `StoreChange` is written in one WriteBatch, so a crash never leaves half
a change; writes are not synced (no fsync), yet a killed process loses
nothing that reached LevelDB, because its log is written with write(2)
before the call returns (only a kernel crash or power loss can lose the last
writes). The store is owned by one thread (the store actor); nothing else
touches the plyvel handle. A failed write is reported as `StorageError`; the
store actor keeps the change and retries (see `StoreActor`).
"""

from __future__ import annotations

import logging
import secrets
import struct
from pathlib import Path

import plyvel

from voip.errors import SchemaTooNew, StorageError
from voip.proto import voip_pb2
from voip.protocol.permissions import ADMIN_ROLE, RoomAcl, default_root_acl
from voip.protocol.state import ROOT_PARENT, Room
from voip.server.records import (
    AclRecord,
    BanRecord,
    ChatRecord,
    ShareRecord,
    Snapshot,
    StoreChange,
    UserRecord,
)

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 2
ROOT_ROOM_ID = 1
DB_DIR = "db"

_SCHEMA = b"meta:schema"
_NEXT_USER = b"meta:next_user_id"
_NEXT_ROOM = b"meta:next_room_id"
_USER = b"user:"
_ROOM = b"room:"
_ACL = b"acl:"
_ROLE = b"role:"
_BAN = b"ban:"
_ADMIN_TOKEN = b"meta:admin_token"
_CHAT = b"chat:"
_SHARE = b"share:"


def _room_key(room_id: int) -> bytes:
    return _ROOM + struct.pack(">I", room_id)


def _acl_key(room_id: int) -> bytes:
    return _ACL + struct.pack(">I", room_id)


def _share_key(room_id: int, info_hash: bytes) -> bytes:
    return _SHARE + struct.pack(">I", room_id) + info_hash


def _chat_key(room_id: int, sequence: int) -> bytes:
    return _CHAT + struct.pack(">IQ", room_id, sequence)


class Store:
    """A plyvel database in ``<data dir>/db``. Not thread-safe: one owner."""

    def __init__(self, db: plyvel.DB, path: Path) -> None:
        self._db: plyvel.DB | None = db
        self.path = path
        self.failed_writes = 0

    @classmethod
    def open(cls, data_dir: Path) -> Store:
        """Open (creating if needed) and check the schema version."""
        path = Path(data_dir) / DB_DIR
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"cannot create the database directory {path}: {exc}; "
                "check --data-dir and its permissions"
            ) from exc
        try:
            db = plyvel.DB(str(path), create_if_missing=True)
        except plyvel.IOError as exc:
            text = _text(exc)
            if "lock" in text.lower():
                raise StorageError(
                    f"the database {path} is in use by another process (is another "
                    "voip-server running on this data dir?); stop it or choose another "
                    f"--data-dir ({text})"
                ) from exc
            raise StorageError(f"cannot open the database {path}: {text}") from exc
        except plyvel.Error as exc:
            raise StorageError(
                f"the database {path} is damaged ({_text(exc)}); restore it from a backup"
            ) from exc
        store = cls(db, path)
        try:
            store._check_schema()
        except BaseException:
            store.close()
            raise
        return store

    def _check_schema(self) -> None:
        raw = self._handle.get(_SCHEMA)
        if raw is None:
            if any(True for _ in self._handle.iterator(include_value=False)):
                raise StorageError(
                    f"the database {self.path} has data but no schema version; it was not "
                    "written by voip-server, so refuse to touch it"
                )
            self._handle.put(_SCHEMA, str(SCHEMA_VERSION).encode(), sync=True)
            logger.info("created a new database in %s (schema %d)", self.path, SCHEMA_VERSION)
            return
        version = int(raw.decode())
        if version > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"the database {self.path} has schema version {version}, but this server "
                f"only knows version {SCHEMA_VERSION}; upgrade voip-server"
            )
        if version == 1:
            self._migrate_from_1()

    def _migrate_from_1(self) -> None:
        """Schema 1 -> 2: the root room gets the default ACL (one batch with the version)."""
        db = self._handle
        with db.write_batch(transaction=True) as batch:
            for _key, value in db.iterator(prefix=_ROOM):
                room = _room_from_bytes(value)
                if room.parent_id == ROOT_PARENT and db.get(_acl_key(room.id)) is None:
                    batch.put(_acl_key(room.id), _acl_to_bytes(room.id, default_root_acl()))
            batch.put(_SCHEMA, str(SCHEMA_VERSION).encode())
        logger.info(
            "migrated the database %s from schema 1 to %d (access control: the root room has "
            "the default ACL)",
            self.path,
            SCHEMA_VERSION,
        )

    @property
    def _handle(self) -> plyvel.DB:
        if self._db is None:
            raise StorageError("the database is closed")
        return self._db

    # --- reading -------------------------------------------------------------------

    def load(self, root_name: str) -> Snapshot:
        """Read everything, creating the root room on first start."""
        db = self._handle
        users = tuple(_user_from_bytes(value) for _key, value in db.iterator(prefix=_USER))
        rooms = [_room_from_bytes(value) for _key, value in db.iterator(prefix=_ROOM)]
        acls = [
            AclRecord(struct.unpack(">I", key[len(_ACL) :])[0], _acl_from_bytes(value))
            for key, value in db.iterator(prefix=_ACL)
        ]
        if not any(r.parent_id == ROOT_PARENT for r in rooms):
            root = Room(ROOT_ROOM_ID, root_name, ROOT_PARENT)
            root_acl = AclRecord(root.id, default_root_acl())
            self.write(StoreChange(rooms=(root,), acls=(root_acl,), reason="root room"))
            rooms.append(root)
            acls.append(root_acl)
            logger.info("created the root room %r", root_name)
        rooms = _repair_tree(rooms)
        role_keys = db.iterator(prefix=_ROLE, include_value=False)
        roles = tuple(sorted(key[len(_ROLE) :].decode() for key in role_keys))
        bans = tuple(_ban_from_bytes(value) for _key, value in db.iterator(prefix=_BAN))
        chat = tuple(_chat_from_bytes(k, v) for k, v in db.iterator(prefix=_CHAT))
        shares = tuple(_share_from_bytes(v) for _k, v in db.iterator(prefix=_SHARE))
        token = (db.get(_ADMIN_TOKEN) or b"").decode()
        has_admin = any(ADMIN_ROLE in u.roles for u in users)
        if not token and not has_admin:
            # Nobody can administer this server: hand out a one-time token (logged at start).
            token = secrets.token_urlsafe(18)
            self.write(StoreChange(admin_token=token, reason="first-admin token"))
        elif token and has_admin:  # an admin was made offline: the token is not needed
            token = ""
            self.write(StoreChange(admin_token="", reason="admin exists: token dropped"))
        next_user = _int(db.get(_NEXT_USER), 1)
        next_room = _int(db.get(_NEXT_ROOM), ROOT_ROOM_ID + 1)
        return Snapshot(
            users=users,
            rooms=tuple(rooms),
            next_user_id=max([next_user, *(u.id + 1 for u in users)]),
            next_room_id=max([next_room, *(r.id + 1 for r in rooms)]),
            acls=tuple(acls),
            roles=roles,
            bans=bans,
            admin_token=token,
            chat=chat,
            shares=shares,
        )

    def acl(self, room_id: int) -> RoomAcl | None:
        raw = self._handle.get(_acl_key(room_id))
        return None if raw is None else _acl_from_bytes(raw)

    # --- writing -------------------------------------------------------------------

    def write(self, change: StoreChange) -> None:
        """Apply one logical change atomically; StorageError if the disk refuses."""
        try:
            with self._handle.write_batch(transaction=True) as batch:
                for user in change.users:
                    batch.put(_USER + user.public_key, _user_to_bytes(user))
                for room in change.rooms:
                    batch.put(_room_key(room.id), _room_to_bytes(room))
                for room_id in change.deleted_rooms:
                    batch.delete(_room_key(room_id))
                    batch.delete(_acl_key(room_id))
                    for kind in (_CHAT, _SHARE):
                        prefix = kind + struct.pack(">I", room_id)
                        for key in self._handle.iterator(prefix=prefix, include_value=False):
                            batch.delete(key)
                for line in change.chat:
                    batch.put(_chat_key(line.room_id, line.sequence), _chat_to_bytes(line))
                for room_id, sequence in change.deleted_chat:
                    batch.delete(_chat_key(room_id, sequence))
                for share in change.shares:
                    batch.put(_share_key(share.room_id, share.info_hash), _share_to_bytes(share))
                for room_id, info_hash in change.deleted_shares:
                    batch.delete(_share_key(room_id, info_hash))
                for acl in change.acls:
                    batch.put(_acl_key(acl.room_id), _acl_to_bytes(acl.room_id, acl.acl))
                for role in change.roles:
                    stored_role = voip_pb2.StoredRole(name=role).SerializeToString()
                    batch.put(_ROLE + role.encode(), stored_role)
                for role in change.deleted_roles:
                    batch.delete(_ROLE + role.encode())
                for ban in change.bans:
                    batch.put(_BAN + ban.public_key, _ban_to_bytes(ban))
                for key in change.lifted_bans:
                    batch.delete(_BAN + key)
                if change.admin_token is not None:
                    if change.admin_token:
                        batch.put(_ADMIN_TOKEN, change.admin_token.encode())
                    else:
                        batch.delete(_ADMIN_TOKEN)
                if change.next_user_id is not None:
                    batch.put(_NEXT_USER, str(change.next_user_id).encode())
                if change.next_room_id is not None:
                    batch.put(_NEXT_ROOM, str(change.next_room_id).encode())
        except plyvel.Error as exc:
            self.failed_writes += 1
            raise StorageError(
                f"could not write to the database {self.path} ({change.reason}): "
                f"{_text(exc)}; the change is kept in memory only (is the disk full?)"
            ) from exc

    def checkpoint(self) -> None:
        """Move everything written so far out of the write-ahead log into a table file.

        After a failed write (disk full) the log may end in a torn record, and
        LevelDB's recovery skips the rest of that 32 KiB log block: writes that
        succeeded after the failure would be lost on the next start. Flushing the
        memtable (which holds exactly the acknowledged writes) to a table file and
        starting a new log makes them safe. Needs free space; StorageError if not.
        """
        try:
            self._handle.compact_range()
        except plyvel.Error as exc:
            raise StorageError(
                f"could not checkpoint the database {self.path}: {_text(exc)}"
            ) from exc

    def reopen(self) -> None:
        """Close and open the handle again (clears a sticky LevelDB error); StorageError if not."""
        self.close()
        try:
            self._db = plyvel.DB(str(self.path), create_if_missing=False)
        except plyvel.Error as exc:
            raise StorageError(f"could not reopen the database {self.path}: {_text(exc)}") from exc

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def closed(self) -> bool:
        return self._db is None


# --- encoding ----------------------------------------------------------------------


def _user_to_bytes(user: UserRecord) -> bytes:
    return voip_pb2.StoredUser(
        id=user.id,
        public_key=user.public_key,
        name=user.name,
        roles=list(user.roles),
        created_ms=user.created_ms,
        last_seen_ms=user.last_seen_ms,
    ).SerializeToString()


def _user_from_bytes(raw: bytes) -> UserRecord:
    m = voip_pb2.StoredUser()
    m.ParseFromString(raw)
    return UserRecord(
        id=m.id,
        public_key=bytes(m.public_key),
        name=m.name,
        created_ms=m.created_ms,
        last_seen_ms=m.last_seen_ms,
        roles=tuple(m.roles),
    )


def _room_to_bytes(room: Room) -> bytes:
    return voip_pb2.StoredRoom(
        room=voip_pb2.RoomInfo(id=room.id, name=room.name, parent_id=room.parent_id)
    ).SerializeToString()


def _room_from_bytes(raw: bytes) -> Room:
    m = voip_pb2.StoredRoom()
    m.ParseFromString(raw)
    return Room(m.room.id, m.room.name, m.room.parent_id)


def _acl_to_bytes(room_id: int, acl: RoomAcl) -> bytes:
    return acl.to_stored(room_id).SerializeToString()


def _acl_from_bytes(raw: bytes) -> RoomAcl:
    m = voip_pb2.StoredAcl()
    m.ParseFromString(raw)
    return RoomAcl.from_stored(m)


def _ban_to_bytes(ban: BanRecord) -> bytes:
    return voip_pb2.StoredBan(
        public_key=ban.public_key,
        reason=ban.reason,
        until_ms=ban.until_ms,
        created_ms=ban.created_ms,
        by_user_id=ban.by_user_id,
        name=ban.name,
        user_id=ban.user_id,
    ).SerializeToString()


def _ban_from_bytes(raw: bytes) -> BanRecord:
    m = voip_pb2.StoredBan()
    m.ParseFromString(raw)
    return BanRecord(
        public_key=bytes(m.public_key),
        reason=m.reason,
        until_ms=m.until_ms,
        created_ms=m.created_ms,
        by_user_id=m.by_user_id,
        name=m.name,
        user_id=m.user_id,
    )


def _chat_to_bytes(line: ChatRecord) -> bytes:
    return voip_pb2.StoredChat(message=line.to_proto()).SerializeToString()


def _chat_from_bytes(key: bytes, raw: bytes) -> ChatRecord:
    room_id, sequence = struct.unpack(">IQ", key[len(_CHAT) :])
    m = voip_pb2.StoredChat()
    m.ParseFromString(raw)
    return ChatRecord(
        room_id=room_id,
        sequence=sequence,
        sender_id=m.message.sender_id,
        sender_name=m.message.sender_name,
        text=m.message.text,
        server_time_ms=m.message.server_time_ms,
    )


def _share_to_bytes(share: ShareRecord) -> bytes:
    return voip_pb2.StoredShare(file=share.to_proto(), torrent=share.torrent).SerializeToString()


def _share_from_bytes(raw: bytes) -> ShareRecord:
    m = voip_pb2.StoredShare()
    m.ParseFromString(raw)
    f = m.file
    return ShareRecord(
        room_id=f.room_id,
        info_hash=bytes(f.info_hash),
        info_hash_v1=bytes(f.info_hash_v1),
        name=f.name,
        size=f.size,
        sharer_id=f.sharer_id,
        sharer_name=f.sharer_name,
        server_time_ms=f.server_time_ms,
        torrent=bytes(m.torrent),
        server_seeds=f.server_seeds,
    )


def _repair_tree(rooms: list[Room]) -> list[Room]:
    """Keep one root and hang orphans under it, so a damaged tree still loads."""
    roots = sorted((r for r in rooms if r.parent_id == ROOT_PARENT), key=lambda r: r.id)
    root = roots[0]
    ids = {r.id for r in rooms}
    fixed = []
    for r in rooms:
        if r.id != root.id and (r.parent_id not in ids or r.parent_id == ROOT_PARENT):
            logger.warning(
                "room %d (%r) had no valid parent; it is moved under the root", r.id, r.name
            )
            r = Room(r.id, r.name, root.id)
        fixed.append(r)
    return fixed


def _int(raw: bytes | None, default: int) -> int:
    return int(raw.decode()) if raw else default


def _text(exc: BaseException) -> str:
    arg = exc.args[0] if exc.args else exc
    return arg.decode(errors="replace") if isinstance(arg, bytes) else str(arg)
