"""File sharing inside `ServerCore`: the room's files and the tracker over QUIC.

A member offers a file by sending its .torrent (`ShareFile`); the server
checks it (libtorrent's parser, v2 or hybrid, the size limit), keeps it for
the room, tells the room (`FileShared`) and, when it seeds, asks the seeder
to fetch a copy (`Seed`). Peers find each other only here: `Announce` puts
the sender in the file's swarm and answers with the other members who may
see the file (members of its room holding ``TEXT`` who gave a port) and the
server's own seed. There is no HTTP or UDP tracker, no DHT, no local peer
discovery, no peer exchange: an address reaches a peer only through this
module (docs/SHARING.md says who learns what).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from voip.proto import voip_pb2
from voip.protocol.permissions import Perm
from voip.protocol.torrent import INFO_HASH_BYTES, BadTorrent, parse_torrent
from voip.server.access import AccessRules
from voip.server.actions import Action, Persist, Seed, Send, Unseed, error_envelope
from voip.server.records import ShareRecord, StoreChange

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class SharingSettings:
    #: Largest file a room accepts, in bytes; 0 turns sharing off.
    max_file_bytes: int = 1 << 30
    #: Shares are forgotten (and no longer seeded) after this; 0: kept.
    days: float = 7.0
    #: The server keeps a copy of each shared file and seeds it.
    seed: bool = True
    #: What the seed store may hold in all; a file that does not fit is not seeded.
    seed_store_bytes: int = 8 << 30
    #: The seeder's BitTorrent port (set once it listens; 0: none).
    seed_port: int = 0
    #: Clients announce again after this many seconds.
    announce_interval_s: int = 10
    #: Files kept per room; a room at the cap refuses new ones until some expire.
    max_files_per_room: int = 200


class SharingHandlers(AccessRules):
    """Shares per room and their swarms (a mixin of `ServerCore`)."""

    sharing: SharingSettings
    _shares: dict[tuple[int, bytes], ShareRecord]
    #: (room, info-hash) -> session -> (port, complete)
    _swarms: dict[tuple[int, bytes], dict[int, tuple[int, bool]]]

    def _init_sharing(self, settings: SharingSettings, shares: tuple[ShareRecord, ...]) -> None:
        self.sharing = settings
        self._shares = {(r.room_id, r.info_hash): r for r in shares}
        self._swarms = {}

    def seeds_at_start(self) -> list[Seed]:
        """What the seeder must (re)load when the server starts."""
        return [Seed(r.info_hash, r.torrent) for r in self._shares.values() if r.server_seeds]

    # --- requests -------------------------------------------------------------------

    def _on_share_file(self, s: Any, env: voip_pb2.Envelope, now: float) -> list[Action]:
        rid = env.request_id
        room_id = self.state.users[s.user_id].room_id
        room = self.state.rooms[room_id].name
        if refused := self._refuse(s, rid, Perm.TEXT, room_id, f"share files in {room!r}"):
            return [refused]
        limit = self.sharing.max_file_bytes
        if limit == 0:
            return [_err(s, rid, voip_pb2.FILE_TOO_BIG, "file sharing is off on this server")]
        try:
            meta = parse_torrent(env.share_file.torrent)
        except BadTorrent as exc:
            return [_err(s, rid, voip_pb2.BAD_TORRENT, f"{exc}; the file was not shared")]
        if meta.size > limit:
            return [
                _err(
                    s,
                    rid,
                    voip_pb2.FILE_TOO_BIG,
                    f"{meta.name!r} is {meta.size} bytes; this server accepts files of at most "
                    f"{limit} bytes",
                )
            ]
        actions: list[Action] = self._expire_shares(now)
        key = (room_id, meta.info_hash)
        if key in self._shares:  # offered again (a reconnect): nothing new to tell
            return [*actions, _ack(s, rid)]
        cap = self.sharing.max_files_per_room
        if sum(1 for r, _h in self._shares if r == room_id) >= cap:
            return [
                *actions,
                _err(
                    s,
                    rid,
                    voip_pb2.FILE_TOO_BIG,
                    f"{room!r} already holds {cap} shared files, the most this server keeps "
                    "per room; try again when older ones have expired",
                ),
            ]
        fits = self._seeded_bytes() + meta.size <= self.sharing.seed_store_bytes
        me = self.state.users[s.user_id]
        record = ShareRecord(
            room_id=room_id,
            info_hash=meta.info_hash,
            info_hash_v1=meta.info_hash_v1,
            name=meta.name,
            size=meta.size,
            sharer_id=me.id,
            sharer_name=me.name,
            server_time_ms=int(now * 1000),
            torrent=bytes(env.share_file.torrent),
            server_seeds=self.sharing.seed and fits,
        )
        self._shares[key] = record
        actions.append(Persist(StoreChange(shares=(record,), reason="file shared")))
        if record.server_seeds:
            actions.append(Seed(record.info_hash, record.torrent))
        shared = voip_pb2.Envelope(file_shared=voip_pb2.FileShared(file=record.to_proto()))
        actions += [Send(sid, shared) for sid in self._members_who_read(room_id)]
        actions.append(_ack(s, rid))
        if self.sharing.seed and not fits:
            free = max(0, self.sharing.seed_store_bytes - self._seeded_bytes())
            actions.append(
                Send(
                    s.id,
                    error_envelope(
                        voip_pb2.SEED_STORE_FULL,
                        f"the server's seed store has {free} bytes left, too few for "
                        f"{meta.name!r} ({meta.size} bytes): it is shared, but only while a "
                        "member who has it is online",
                    ),
                )
            )
        return actions

    def _on_announce(self, s: Any, env: voip_pb2.Envelope, now: float) -> list[Action]:
        rid, req = env.request_id, env.announce
        if len(req.info_hash) != INFO_HASH_BYTES:
            return [
                _err(
                    s,
                    rid,
                    voip_pb2.MALFORMED_MESSAGE,
                    f"the info-hash has {len(req.info_hash)} bytes; announce the file's "
                    f"{INFO_HASH_BYTES}-byte BitTorrent v2 info-hash",
                )
            ]
        if req.port > 65535:
            return [_err(s, rid, voip_pb2.MALFORMED_MESSAGE, f"port {req.port} is not a port")]
        actions: list[Action] = self._expire_shares(now)
        room_id = self.state.users[s.user_id].room_id
        key = (room_id, bytes(req.info_hash))
        share = self._shares.get(key)
        if share is None:
            elsewhere = sorted(
                self.state.rooms[r].name
                for (r, h) in self._shares
                if h == key[1] and r in self.state.rooms
            )
            if elsewhere:
                return [
                    *actions,
                    _err(
                        s,
                        rid,
                        voip_pb2.NOT_A_MEMBER,
                        f"that file is shared in {elsewhere[0]!r}, a room you are not in; "
                        "join it to fetch the file",
                    ),
                ]
            return [
                *actions,
                _err(
                    s,
                    rid,
                    voip_pb2.UNKNOWN_FILE,
                    "no file with that info-hash is shared in your room (it may have "
                    "expired or its room was deleted)",
                ),
            ]
        room = self.state.rooms[room_id].name
        if refused := self._refuse(s, rid, Perm.TEXT, room_id, f"fetch files in {room!r}"):
            return [*actions, refused]
        swarm = self._swarms.setdefault(key, {})
        reply = voip_pb2.PeerList(
            info_hash=share.info_hash,
            torrent=share.torrent,
            interval_s=self.sharing.announce_interval_s,
        )
        if req.stopped:
            swarm.pop(s.id, None)
            return [*actions, Send(s.id, voip_pb2.Envelope(request_id=rid, peer_list=reply))]
        before = swarm.get(s.id)
        swarm[s.id] = (req.port, req.complete)
        for sid, (port, _complete) in list(swarm.items()):
            if sid == s.id:
                continue
            peer = self._listed_peer(sid, room_id, port)
            if peer is None:
                if sid not in self._sessions:
                    del swarm[sid]
                continue
            reply.peers.append(peer)
        if share.server_seeds and self.sharing.seed_port:
            reply.peers.append(voip_pb2.Peer(user_id=0, host="", port=self.sharing.seed_port))
        host = plain_ip(s.address)
        if share.server_seeds and req.port and host and before != (req.port, req.complete):
            actions.append(Seed(share.info_hash, share.torrent, peers=((host, req.port),)))
        actions.append(Send(s.id, voip_pb2.Envelope(request_id=rid, peer_list=reply)))
        return actions

    # --- seeder reports ---------------------------------------------------------------

    def seed_failed(self, info_hash: bytes, message: str, now: float) -> list[Action]:
        """The seeder could not keep a file (disk full, I/O error): stop listing it."""
        actions: list[Action] = []
        for key, share in list(self._shares.items()):
            if share.info_hash != info_hash or not share.server_seeds:
                continue
            share = replace(share, server_seeds=False)
            self._shares[key] = share
            actions.append(Persist(StoreChange(shares=(share,), reason="seed failed")))
            sid = self._session_of_user.get(share.sharer_id)
            if sid is not None:
                sentence = (
                    f"the server could not keep a copy of {share.name!r} ({message}); it stays "
                    "shared only while a member who has it is online"
                )
                actions.append(Send(sid, error_envelope(voip_pb2.SEED_STORE_FULL, sentence)))
        actions.append(Unseed(info_hash))
        return actions

    # --- room content -----------------------------------------------------------------

    def _files_in(self, room_id: int) -> list[voip_pb2.SharedFile]:
        return [r.to_proto() for (room, _h), r in self._shares.items() if room == room_id]

    def _drop_room_files(self, room_id: int) -> list[Action]:
        """The room is deleted (the store drops its shares with it)."""
        actions: list[Action] = []
        for key in [k for k in self._shares if k[0] == room_id]:
            share = self._shares.pop(key)
            self._swarms.pop(key, None)
            if share.server_seeds and not self._still_seeded(share.info_hash):
                actions.append(Unseed(share.info_hash))
        return actions

    # --- helpers ------------------------------------------------------------------------

    def _listed_peer(self, sid: int, room_id: int, port: int) -> voip_pb2.Peer | None:
        """The peer entry for swarm member `sid`, if it may be listed now."""
        other = self._sessions.get(sid)
        if other is None or port == 0 or self._session_of_user.get(other.user_id) != sid:
            return None
        user = self.state.users.get(other.user_id)
        if user is None or user.room_id != room_id or not other.address:
            return None  # an empty host would read as "the server's address"
        if not other.perms.get(room_id, Perm(0)) & Perm.TEXT:
            return None
        return voip_pb2.Peer(user_id=user.id, host=plain_ip(other.address), port=port)

    def _members_who_read(self, room_id: int) -> list[int]:
        out = []
        for user in self.state.users_in(room_id):
            sid = self._session_of_user.get(user.id)
            if sid is not None and self._sessions[sid].perms.get(room_id, Perm(0)) & Perm.TEXT:
                out.append(sid)
        return out

    def _seeded_bytes(self) -> int:
        seeded = {r.info_hash: r.size for r in self._shares.values() if r.server_seeds}
        return sum(seeded.values())

    def _still_seeded(self, info_hash: bytes) -> bool:
        return any(r.info_hash == info_hash and r.server_seeds for r in self._shares.values())

    def _expire_shares(self, now: float) -> list[Action]:
        if self.sharing.days == 0:
            return []
        oldest = int(now * 1000) - int(self.sharing.days * DAY_MS)
        gone = [k for k, r in self._shares.items() if r.server_time_ms < oldest]
        if not gone:
            return []
        actions: list[Action] = []
        records = [self._shares.pop(k) for k in gone]
        for k in gone:
            self._swarms.pop(k, None)
        actions.append(Persist(StoreChange(deleted_shares=tuple(gone), reason="shares expired")))
        for r in records:
            if r.server_seeds and not self._still_seeded(r.info_hash):
                actions.append(Unseed(r.info_hash))
        return actions


def plain_ip(address: str) -> str:
    """An IPv4-mapped IPv6 address (a dual-stack socket's view) written as IPv4."""
    if address.startswith("::ffff:") and "." in address:
        return address.removeprefix("::ffff:")
    return address


def _err(s: Any, rid: int, code: int, message: str) -> Send:
    return Send(s.id, error_envelope(code, message, rid))


def _ack(s: Any, rid: int) -> Send:
    return Send(s.id, voip_pb2.Envelope(request_id=rid, ack=voip_pb2.Ack()))
