"""The ACL evaluation as a table of inheritance cases (docs/PERMISSIONS.md)."""

from __future__ import annotations

import random

import pytest

from voip.protocol.permissions import (
    ALL,
    EVERYONE,
    SERVER_WIDE,
    AclEntry,
    Perm,
    RoomAcl,
    Subject,
    acl_problem,
    creator_acl,
    default_root_acl,
    effective,
    evaluate_from_roles,
    evaluate_subtree,
    parse_perms,
    perm_names,
    rooms_with_user_entries,
)
from voip.protocol.state import Room

P = Perm
E, S, T, M, W = P.ENTER, P.SPEAK, P.TEXT, P.MAKE_ROOM, P.WRITE

# root(1) -> a(2) -> b(3) -> c(4); root -> d(5)
ROOMS = {
    1: Room(1, "root", 0),
    2: Room(2, "a", 1),
    3: Room(3, "b", 2),
    4: Room(4, "c", 3),
    5: Room(5, "d", 1),
}
ALICE = Subject(10)
BOB = Subject(11, frozenset({"mod"}))
ADMIN = Subject(12, frozenset({"admin"}))


def everyone(
    allow: Perm = P.NONE, deny: Perm = P.NONE, here: bool = True, subs: bool = True
) -> AclEntry:
    return AclEntry(
        allow=int(allow), deny=int(deny), role=EVERYONE, apply_here=here, apply_subs=subs
    )


def role(
    name: str, allow: Perm = P.NONE, deny: Perm = P.NONE, here: bool = True, subs: bool = True
) -> AclEntry:
    return AclEntry(allow=int(allow), deny=int(deny), role=name, apply_here=here, apply_subs=subs)


def user(
    uid: int, allow: Perm = P.NONE, deny: Perm = P.NONE, here: bool = True, subs: bool = True
) -> AclEntry:
    return AclEntry(allow=int(allow), deny=int(deny), user_id=uid, apply_here=here, apply_subs=subs)


def acl(*entries: AclEntry, inherit: bool = True) -> RoomAcl:
    return RoomAcl(inherit, tuple(entries))


BASE = {1: acl(everyone(E | S | T))}

CASES = [
    # (name, acls, subject, room, expected)
    ("no ACL anywhere: nothing", {}, ALICE, 3, P.NONE),
    ("root entry reaches the deepest room", BASE, ALICE, 4, E | S | T),
    ("root entry applies at the root", BASE, ALICE, 1, E | S | T),
    ("deny in a room removes the bit there", {**BASE, 2: acl(everyone(deny=S))}, ALICE, 2, E | T),
    ("... and below it", {**BASE, 2: acl(everyone(deny=S))}, ALICE, 4, E | T),
    ("... but not in a sibling", {**BASE, 2: acl(everyone(deny=S))}, ALICE, 5, E | S | T),
    (
        "apply_here only: not below",
        {**BASE, 2: acl(everyone(deny=S, subs=False))},
        ALICE,
        3,
        E | S | T,
    ),
    (
        "apply_subs only: not in the room itself",
        {**BASE, 2: acl(everyone(deny=S, here=False))},
        ALICE,
        2,
        E | S | T,
    ),
    (
        "apply_subs only: below it",
        {**BASE, 2: acl(everyone(deny=S, here=False))},
        ALICE,
        3,
        E | T,
    ),
    ("inherit off: starts from nothing", {**BASE, 3: acl(inherit=False)}, ALICE, 3, P.NONE),
    ("inherit off: below it too", {**BASE, 3: acl(inherit=False)}, ALICE, 4, P.NONE),
    (
        "inherit off with own entries",
        {**BASE, 3: acl(everyone(T), inherit=False)},
        ALICE,
        4,
        T,
    ),
    (
        "a deeper allow overrides a higher deny",
        {**BASE, 2: acl(everyone(deny=S)), 3: acl(everyone(S))},
        ALICE,
        4,
        E | S | T,
    ),
    (
        "later entry in a room overrides an earlier one (deny then allow)",
        {**BASE, 2: acl(everyone(deny=S), everyone(S))},
        ALICE,
        2,
        E | S | T,
    ),
    (
        "later entry overrides (allow then deny)",
        {**BASE, 2: acl(everyone(S), everyone(deny=S))},
        ALICE,
        2,
        E | T,
    ),
    (
        "inside one entry deny beats allow",
        {**BASE, 2: acl(everyone(allow=W, deny=W))},
        ALICE,
        2,
        E | S | T,
    ),
    (
        "a role entry applies to members",
        {**BASE, 2: acl(role("mod", P.MOVE))},
        BOB,
        2,
        E | S | T | P.MOVE,
    ),
    ("... and not to others", {**BASE, 2: acl(role("mod", P.MOVE))}, ALICE, 2, E | S | T),
    (
        "order within a room decides: a role allow after a user deny wins",
        {**BASE, 2: acl(user(11, deny=T), role("mod", T))},
        BOB,
        2,
        E | S | T,
    ),
    (
        "user entry after role entry wins",
        {**BASE, 2: acl(role("mod", T), user(11, deny=T))},
        BOB,
        2,
        E | S,
    ),
    ("user entry applies to that user only", {**BASE, 2: acl(user(10, W))}, BOB, 2, E | S | T),
    ("creator rights in the room", {**BASE, 2: creator_acl(10)}, ALICE, 2, E | S | T | W | M),
    ("creator rights below it", {**BASE, 2: creator_acl(10)}, ALICE, 4, E | S | T | W | M),
    ("no creator rights above it", {**BASE, 3: creator_acl(10)}, ALICE, 2, E | S | T),
    ("no creator rights in a sibling", {**BASE, 2: creator_acl(10)}, ALICE, 5, E | S | T),
    ("server-wide bits count at the root", {1: acl(everyone(P.KICK))}, ALICE, 1, P.KICK),
    ("server-wide bits do not count in other rooms", {1: acl(everyone(P.KICK))}, ALICE, 2, P.NONE),
    (
        "ADMIN bit in a room means everything there",
        {2: acl(user(10, P.ADMIN))},
        ALICE,
        3,
        ALL & ~SERVER_WIDE,
    ),
    ("ADMIN bit at the root includes server-wide bits", {1: acl(user(10, P.ADMIN))}, ALICE, 1, ALL),
    ("the admin role holds everything", {}, ADMIN, 1, ALL),
    ("... server-wide bits only at the root", {}, ADMIN, 4, ALL & ~SERVER_WIDE),
    (
        "the admin role cannot be denied",
        {1: acl(everyone(deny=ALL)), 3: acl(inherit=False)},
        ADMIN,
        3,
        ALL & ~SERVER_WIDE,
    ),
    ("default policy: everyone", {1: default_root_acl()}, ALICE, 4, E | S | T | M),
    ("default policy: no write at the root", {1: default_root_acl()}, ALICE, 1, E | S | T | M),
]


@pytest.mark.parametrize(
    ("acls", "who", "room", "expected"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_effective(acls: dict[int, RoomAcl], who: Subject, room: int, expected: Perm) -> None:
    got = effective(ROOMS, acls, room, who)
    assert got == expected, f"got {perm_names(got)}, expected {perm_names(expected)}"


@pytest.mark.parametrize(("acls", "who"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_subtree_pass_equals_per_room_walks(acls: dict[int, RoomAcl], who: Subject) -> None:
    whole = evaluate_subtree(ROOMS, acls, 1, who)
    assert whole == {rid: effective(ROOMS, acls, rid, who) for rid in ROOMS}
    assert evaluate_subtree(ROOMS, acls, 3, who) == {3: whole[3], 4: whole[4]}


def test_subtree_pass_equals_walks_on_random_trees() -> None:
    rng = random.Random(7)
    bits = [p for p in Perm if p]
    for _ in range(50):
        rooms = {1: Room(1, "r", 0)}
        for rid in range(2, 40):
            rooms[rid] = Room(rid, str(rid), rng.choice(list(rooms)))
        acls: dict[int, RoomAcl] = {}
        for rid in rng.sample(list(rooms), 15):
            entries = []
            for _ in range(rng.randint(0, 3)):
                subject = rng.choice(
                    [{"role": EVERYONE}, {"role": "mod"}, {"user_id": 10}, {"user_id": 11}]
                )
                entries.append(
                    AclEntry(
                        allow=int(rng.choice(bits)) | int(rng.choice(bits)),
                        deny=int(rng.choice(bits)) if rng.random() < 0.5 else 0,
                        apply_here=rng.random() < 0.8,
                        apply_subs=rng.random() < 0.8,
                        **subject,  # type: ignore[arg-type]
                    )
                )
            acls[rid] = RoomAcl(rng.random() < 0.8, tuple(entries))
        entry_rooms = rooms_with_user_entries(acls)
        for who in (ALICE, BOB):
            whole = evaluate_subtree(rooms, acls, 1, who)
            assert whole == {rid: effective(rooms, acls, rid, who) for rid in rooms}
            # sharing the roles-only pass gives the same answer, from any start
            for start in rng.sample(list(rooms), 5):
                roles_only = evaluate_subtree(rooms, acls, start, Subject(0, who.roles))
                mine = entry_rooms.get(who.user_id, set())
                shared = evaluate_from_roles(rooms, acls, start, who, roles_only, mine)
                assert shared == evaluate_subtree(rooms, acls, start, who)


def test_acl_problems_are_named() -> None:
    users = {10: object()}
    assert acl_problem(acl(everyone(E)), (), users) is None
    assert acl_problem(acl(role("mod", E)), ("mod",), users) is None
    assert "does not exist" in (acl_problem(acl(role("mod", E)), (), users) or "")
    assert "not known" in (acl_problem(acl(user(99, E)), (), users) or "")
    assert "neither" in (acl_problem(acl(AclEntry(allow=1)), (), users) or "")
    both = AclEntry(allow=1, role="mod", user_id=10)
    assert "both" in (acl_problem(acl(both), ("mod",), users) or "")
    assert "no permission" in (
        acl_problem(acl(AclEntry(allow=1 << 20, role=EVERYONE)), (), users) or ""
    )
    assert "neither here" in (
        acl_problem(acl(everyone(E, here=False, subs=False)), (), users) or ""
    )


def test_an_acl_holds_at_most_100_entries() -> None:
    many = acl(*[everyone(E)] * 101)
    assert "at most 100" in (acl_problem(many, (), {}) or "")
    assert acl_problem(acl(*[everyone(E)] * 100), (), {}) is None


def test_permission_names_round_trip() -> None:
    assert parse_perms("enter, speak+text") == E | S | T
    assert parse_perms("all") == ALL
    assert perm_names(int(E | W)) == ["enter", "write"]
    with pytest.raises(ValueError, match="unknown permission 'fly'"):
        parse_perms("enter,fly")
