"""Access control cost in the server core: what a check, and a change, costs at scale.

`ServerCore` is driven in memory (no sockets) with a room tree like the one
from the abuse report (2,500 rooms, each with its creator's ACL entry) and
100 connected users, each the creator of some rooms (so each has user
entries: no sharing of the permission cache between them). Per case, the
CPU time of one request, median of several:

- ``check``: one permission check as every handler makes it (`_refuse`,
  reading the session's cache), per call;
- ``join``: a whole `JoinRoom` (mostly the state hash and the broadcast);
- ``create``: `CreateRoom` (the new room's permissions for every session);
- ``set_acl_leaf`` / ``set_acl_root``: `SetAcl` on a leaf room / on the root
  (the subtree below is re-evaluated for every session: the root is the
  worst case);
- ``hello``: a user connecting (their permissions in every room);
- ``delete``: `DeleteRoom` of a room with sub-rooms (they are re-evaluated).

``sessions`` and ``rooms`` say the scale; a relay datagram never pays any
of this (it reads one flag set by these).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import time
from collections.abc import Callable

from nacl.signing import SigningKey

from benchmarks.report import Record
from voip.proto import voip_pb2 as pb
from voip.protocol.handshake import make_hello
from voip.protocol.permissions import AclEntry, Perm, creator_acl, default_root_acl
from voip.protocol.state import Room
from voip.server.core import CoreSettings, ServerCore
from voip.server.records import AclRecord, Snapshot, UserRecord

FP = hashlib.sha256(b"bench").digest()
NOW = 1_700_000_000.0


def _core(rooms: int, users: int, seed: int = 1) -> ServerCore:
    rng = random.Random(seed)
    keys = [SigningKey.generate() for _ in range(users + 1)]
    records = tuple(
        UserRecord(i + 1, bytes(k.verify_key), f"user{i + 1}", 0, 0) for i, k in enumerate(keys)
    )
    tree = [Room(1, "Lobby", 0)]
    acls = [AclRecord(1, default_root_acl())]
    for rid in range(2, rooms + 1):
        parent = rng.choice(tree[-50:]).id if rng.random() < 0.6 else 1
        tree.append(Room(rid, f"room {rid}", parent))
        acls.append(AclRecord(rid, creator_acl(rng.randint(1, users))))
    snapshot = Snapshot(records, tuple(tree), users + 2, rooms + 1, tuple(acls), admin_token="t")
    core = ServerCore(CoreSettings(), snapshot)
    for sid in range(1, users + 1):
        _hello(core, sid, keys[sid - 1], f"user{sid}")
    redeem = pb.RedeemAdminToken(token="t")
    core.receive(1, pb.Envelope(request_id=1, redeem_admin_token=redeem), NOW)  # user 1: admin
    return core


def _hello(core: ServerCore, sid: int, key: SigningKey, name: str) -> None:
    core.connect(sid, FP)
    challenge = core.open_stream(sid)[0].envelope.challenge  # type: ignore[union-attr]
    hello = make_hello(
        challenge=challenge,
        cert_fingerprint=FP,
        public_key=bytes(key.verify_key),
        sign=lambda data: bytes(key.sign(data).signature),
        display_name=name,
        password="",
    )
    core.receive(sid, pb.Envelope(client_hello=hello), NOW)


def _median_us(fn: Callable[[int], object], repeats: int) -> float:
    times = []
    for n in range(repeats):
        started = time.process_time()
        fn(n)
        times.append(time.process_time() - started)
    return 1e6 * statistics.median(times)


def run(args: argparse.Namespace) -> list[Record]:
    rooms, users, repeats = (300, 20, 5) if args.short else (2500, 100, 15)
    core = _core(rooms, users)
    rid = iter(range(10_000, 1_000_000))
    leaf = max(core.state.rooms)
    everyone = int(Perm.ENTER | Perm.SPEAK | Perm.TEXT | Perm.MAKE_ROOM)

    def join(n: int) -> object:
        target = 2 + (n % (rooms - 1))
        request = pb.JoinRoom(room_id=target)
        return core.receive(2, pb.Envelope(request_id=next(rid), join_room=request), NOW)

    def create(n: int) -> object:
        request = pb.CreateRoom(parent_id=1, name=f"new {n}")
        return core.receive(3, pb.Envelope(request_id=next(rid), create_room=request), NOW)

    def set_acl(room: int) -> Callable[[int], object]:
        def go(n: int) -> object:
            entries = [AclEntry(allow=everyone, role="everyone").to_proto()]
            if n % 2:
                entries.append(AclEntry(deny=int(Perm.TEXT), role="everyone").to_proto())
            request = pb.SetAcl(room_id=room, inherit=True, entries=entries)
            return core.receive(1, pb.Envelope(request_id=next(rid), set_acl=request), NOW)

        return go

    def hello(n: int) -> object:
        sid = 50_000 + n
        _hello(core, sid, SigningKey.generate(), f"guest{n}")
        return core.disconnect(sid, NOW)

    parents = [r.id for r in core.state.rooms.values() if core.state.children(r.id) and r.id != 1]

    def delete(n: int) -> object:
        victim = parents[n % len(parents)]
        request = pb.DeleteRoom(room_id=victim)
        return core.receive(1, pb.Envelope(request_id=next(rid), delete_room=request), NOW)

    session = core._sessions[2]

    def check(n: int) -> object:
        for room in range(1, 1001):
            core._refuse(session, 0, Perm.ENTER, room, "enter")
        return None

    cases: dict[str, Callable[[int], object]] = {
        "check": check,
        "join": join,
        "create": create,
        "set_acl_leaf": set_acl(leaf),
        "set_acl_root": set_acl(1),
        "hello": hello,
        "delete": delete,
    }
    records: list[Record] = []
    for name, fn in cases.items():
        records.append(
            {
                "benchmark": "acl",
                "kind": "request",
                "case": name,
                "rooms": len(core.state.rooms),
                "sessions": users,
                "cpu_us": _median_us(fn, repeats) / (1000 if name == "check" else 1),
            }
        )
    return records
