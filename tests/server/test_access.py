"""Access control and moderation in ServerCore, driven in memory (docs/PERMISSIONS.md)."""

from __future__ import annotations

import pytest
from voip_tests_core_harness import NOW, Harness, snapshot

from voip.proto import voip_pb2 as pb
from voip.protocol.permissions import ALL, AclEntry, Perm, RoomAcl
from voip.server.core import CoreSettings, Persist, ServerCore
from voip.server.records import AclRecord, Snapshot
from voip.server.session_state import SessionState

TOKEN = "first-admin-token"
DENIED = pb.PERMISSION_DENIED


def harness() -> Harness:
    snap = snapshot()
    snap = Snapshot(snap.users, snap.rooms, snap.next_user_id, snap.next_room_id, admin_token=TOKEN)
    return Harness(ServerCore(CoreSettings(), snap))


def admin_of(h: Harness, sid: int) -> None:
    ok = h.request(sid, 900 + sid, redeem_admin_token=pb.RedeemAdminToken(token=TOKEN))
    assert ok.HasField("ack"), ok


def entry(allow: Perm = Perm.NONE, deny: Perm = Perm.NONE, **who: object) -> pb.AclEntry:
    return pb.AclEntry(allow=int(allow), deny=int(deny), apply_here=True, apply_subs=True, **who)  # type: ignore[arg-type]


def denied(answer: pb.Envelope, perm: Perm | None = None) -> bool:
    ok = answer.error.code == DENIED and "permission denied" in answer.error.message
    return ok and (perm is None or answer.error.missing_permission == int(perm))


# --- default policy and creator rights ------------------------------------------------


def test_non_creator_cannot_rename_or_delete_someone_elses_room_or_the_root() -> None:
    h = harness()
    h.open(1, name="alice"), h.open(2, name="bob")
    h.request(1, 1, create_room=pb.CreateRoom(parent_id=1, name="Alice's"))
    h.request(1, 2, create_room=pb.CreateRoom(parent_id=2, name="Sub"))
    before = h.core.state
    assert denied(h.request(2, 3, rename_room=pb.RenameRoom(room_id=2, name="Mine")), Perm.WRITE)
    assert denied(h.request(2, 4, delete_room=pb.DeleteRoom(room_id=2)), Perm.WRITE)
    assert denied(h.request(2, 5, delete_room=pb.DeleteRoom(room_id=3)), Perm.WRITE)
    answer = h.request(2, 6, rename_room=pb.RenameRoom(room_id=1, name="Pwned"))
    assert denied(answer, Perm.WRITE) and "'Lobby'" in answer.error.message
    assert denied(h.request(1, 7, rename_room=pb.RenameRoom(room_id=1, name="Pwned")))
    assert h.core.state == before
    # the creator may rename and delete their room and what is below it
    assert h.request(1, 8, rename_room=pb.RenameRoom(room_id=3, name="Sub2")).HasField("ack")
    assert h.request(1, 9, delete_room=pb.DeleteRoom(room_id=2)).HasField("ack")
    # everyone may still create rooms, under the root and below
    assert h.request(2, 10, create_room=pb.CreateRoom(parent_id=3, name="Bob's")).HasField("ack")


def test_room_creation_persists_the_creator_entry_in_the_same_batch() -> None:
    h = harness()
    h.open(1)
    h.request(1, 1, create_room=pb.CreateRoom(parent_id=1, name="Mine"))
    change = next(p.change for p in h.persisted if p.change.rooms)
    assert [r.name for r in change.rooms] == ["Mine"]
    assert change.acls == (
        AclRecord(2, RoomAcl(True, (AclEntry(allow=int(Perm.WRITE | Perm.MAKE_ROOM), user_id=1),))),
    )


def test_permissions_are_sent_after_the_state_and_updated_on_change() -> None:
    h = harness()
    h.open(1), h.open(2)
    default = int(Perm.ENTER | Perm.SPEAK | Perm.TEXT | Perm.MAKE_ROOM)
    assert h.permissions(2) == {1: default}
    h.request(1, 1, create_room=pb.CreateRoom(parent_id=1, name="Mine"))
    assert h.permissions(1)[2] == default | int(Perm.WRITE)
    assert h.permissions(2)[2] == default
    admin_of(h, 2)
    assert h.permissions(2) == {
        1: int(ALL),
        2: int(ALL & ~(Perm.KICK | Perm.BAN | Perm.MANAGE_ROLES)),
    }


# --- ACLs ---------------------------------------------------------------------------------


def test_acl_deny_speak_stops_relaying_without_a_walk_per_datagram() -> None:
    h = harness()
    h.open(1), h.open(2)
    admin_of(h, 1)
    h.request(2, 1, create_room=pb.CreateRoom(parent_id=1, name="Quiet"))
    h.request(2, 2, join_room=pb.JoinRoom(room_id=2))
    assert h.speaks[2] is True
    acl = pb.SetAcl(
        room_id=2, inherit=True, entries=[entry(deny=Perm.SPEAK | Perm.TEXT, role="everyone")]
    )
    assert h.request(1, 3, set_acl=acl).HasField("ack")
    assert h.speaks[2] is False and h.hears[2] is True  # the relay got the new flag
    assert not h.permissions(2)[2] & Perm.SPEAK
    assert denied(h.request(2, 4, send_chat=pb.SendChat(text="hi")), Perm.TEXT)
    h.request(2, 5, join_room=pb.JoinRoom(room_id=1))
    assert h.speaks[2] is True  # may speak again in the root


def test_acl_deny_enter_refuses_join_and_read_back() -> None:
    h = harness()
    h.open(1), h.open(2)
    admin_of(h, 1)
    h.request(1, 1, create_room=pb.CreateRoom(parent_id=1, name="Staff"))
    acl = pb.SetAcl(room_id=2, inherit=False, entries=[entry(allow=Perm.ENTER, role="admin")])
    h.request(1, 2, set_acl=acl)
    assert denied(h.request(2, 3, join_room=pb.JoinRoom(room_id=2)), Perm.ENTER)
    assert h.request(1, 4, join_room=pb.JoinRoom(room_id=2)).HasField("ack")
    read = h.request(1, 5, get_acl=pb.GetAcl(room_id=2))
    assert read.room_acl.inherit is False and read.room_acl.entries[0].role == "admin"
    assert denied(h.request(2, 6, get_acl=pb.GetAcl(room_id=2)), Perm.WRITE)
    persisted = [p.change.acls for p in h.persisted if p.change.reason == "ACL set"]
    assert persisted and persisted[-1][0].acl.inherit is False


def test_creator_may_edit_own_acl_but_not_grant_what_they_lack() -> None:
    h = harness()
    h.open(1), h.open(2)
    h.request(1, 1, create_room=pb.CreateRoom(parent_id=1, name="Mine"))
    mine = pb.SetAcl(
        room_id=2,
        inherit=True,
        entries=[
            entry(deny=Perm.TEXT, role="everyone"),
            entry(allow=Perm.WRITE | Perm.TEXT, user_id=1),
        ],
    )
    assert h.request(1, 2, set_acl=mine).HasField("ack")
    grab = pb.SetAcl(
        room_id=2, inherit=True, entries=[entry(allow=Perm.MOVE | Perm.WRITE, user_id=1)]
    )
    answer = h.request(1, 3, set_acl=grab)
    assert denied(answer) and "move" in answer.error.message
    assert denied(h.request(2, 4, set_acl=mine), Perm.WRITE)
    assert denied(h.request(1, 5, set_acl=pb.SetAcl(room_id=1, inherit=True)), Perm.WRITE)


@pytest.mark.parametrize(
    ("entries", "needle"),
    [
        ([entry(allow=Perm.ENTER)], "neither"),
        ([entry(allow=Perm.ENTER, role="ghosts")], "does not exist"),
        ([entry(allow=Perm.ENTER, user_id=99)], "not known"),
        ([entry(allow=1 << 20, role="everyone")], "no permission"),  # type: ignore[arg-type]
    ],
)
def test_invalid_acls_are_refused(entries: list[pb.AclEntry], needle: str) -> None:
    h = harness()
    h.open(1)
    admin_of(h, 1)
    answer = h.request(1, 1, set_acl=pb.SetAcl(room_id=1, inherit=True, entries=entries))
    assert answer.error.code == pb.INVALID_ACL and needle in answer.error.message


# --- every moderation handler refuses a plain user ------------------------------------------

PLAIN_REFUSALS = [
    ({"set_acl": pb.SetAcl(room_id=1)}, Perm.WRITE),
    ({"get_acl": pb.GetAcl(room_id=1)}, Perm.WRITE),
    ({"create_role": pb.CreateRole(name="mod")}, Perm.MANAGE_ROLES),
    ({"delete_role": pb.DeleteRole(name="mod")}, Perm.MANAGE_ROLES),
    ({"grant_role": pb.GrantRole(user_id=1, role="admin")}, Perm.MANAGE_ROLES),
    ({"revoke_role": pb.RevokeRole(user_id=1, role="admin")}, Perm.MANAGE_ROLES),
    ({"kick_user": pb.KickUser(user_id=1, reason="x")}, Perm.KICK),
    ({"ban_user": pb.BanUser(user_id=1)}, Perm.BAN),
    ({"unban": pb.Unban(public_key=b"k" * 32)}, Perm.BAN),
    ({"list_bans": pb.ListBans()}, Perm.BAN),
    ({"move_user": pb.MoveUser(user_id=1, room_id=2)}, Perm.MOVE),
    ({"set_server_mute": pb.SetServerMute(user_id=1, server_mute=True)}, Perm.MUTE_DEAFEN),
    ({"list_users": pb.ListUsers()}, Perm.MANAGE_ROLES),
]


@pytest.mark.parametrize(
    ("payload", "perm"), PLAIN_REFUSALS, ids=[next(iter(p)) for p, _ in PLAIN_REFUSALS]
)
def test_each_moderation_request_is_refused_to_a_plain_user(
    payload: dict[str, object], perm: Perm
) -> None:
    h = harness()
    h.open(1), h.open(2), h.open(3)
    h.request(3, 1, create_room=pb.CreateRoom(parent_id=1, name="Other"))
    before, persisted = h.core.state, len(h.persisted)
    for p in h.peers.values():
        p.take()
    answer = h.request(2, 50, **payload)
    assert denied(answer, perm), answer
    assert h.core.state == before and len(h.persisted) == persisted
    assert h.peers[1].inbox == [] and h.peers[1].closed is None


def test_the_admin_token_works_once() -> None:
    h = harness()
    h.open(1), h.open(2)
    admin_of(h, 1)
    assert h.peers[2].state is not None and h.peers[2].state.users[1].roles == ("admin",)
    change = next(p.change for p in h.persisted if p.change.admin_token == "")
    assert change.users[0].roles == ("admin",)  # role and token in one batch
    again = h.request(2, 1, redeem_admin_token=pb.RedeemAdminToken(token=TOKEN))
    assert again.error.code == pb.BAD_TOKEN
    assert (
        h.request(2, 2, redeem_admin_token=pb.RedeemAdminToken(token="")).error.code == pb.BAD_TOKEN
    )


# --- kick, ban, move, mute --------------------------------------------------------------------


def test_kick_shows_the_reason_and_removes_the_user() -> None:
    h = harness()
    h.open(1, name="boss"), h.open(2), h.open(3)
    admin_of(h, 1)
    assert h.request(1, 1, kick_user=pb.KickUser(user_id=2, reason="be nice")).HasField("ack")
    victim = h.peers[2]
    bye = victim.inbox[-1].goodbye
    assert bye.code == pb.KICKED and "boss" in bye.message and "be nice" in bye.message
    assert victim.closed is not None and victim.closed.code == pb.KICKED
    assert h.core.session_state(2) is SessionState.CLOSED
    assert 2 not in h.peers[3].state.users  # type: ignore[union-attr]
    assert h.routes[2] is None
    assert h.request(1, 2, kick_user=pb.KickUser(user_id=2)).error.code == pb.UNKNOWN_USER


def test_ban_refuses_the_key_at_the_hello_until_it_expires_or_is_lifted() -> None:
    h = harness()
    a, b = h.open(1), h.open(2)
    admin_of(h, 1)
    ban = pb.BanUser(user_id=2, duration_s=3600, reason="spam")
    assert h.request(1, 1, ban_user=ban).HasField("ack")
    assert b.inbox[-1].goodbye.code == pb.BANNED and "spam" in b.inbox[-1].goodbye.message
    listed = h.request(1, 2, list_bans=pb.ListBans()).ban_list.bans
    assert [x.user_id for x in listed] == [2] and listed[0].until_ms == int((NOW + 3600) * 1000)
    # the same key again: refused with the reason
    retry = h.open(5, key=b.key)
    assert retry.kinds() == ["error"] and retry.inbox[0].error.code == pb.BANNED
    assert "spam" in retry.inbox[0].error.message and retry.closed is not None
    # an hour later the ban has run out
    h.now = NOW + 3601
    later = h.open(6, key=b.key)
    assert later.inbox[0].HasField("welcome")
    # a permanent ban, lifted
    h.dispatch(h.core.disconnect(6, h.now))
    h.request(1, 3, ban_user=pb.BanUser(public_key=bytes(b.key.verify_key)))
    assert h.request(1, 4, unban=pb.Unban(public_key=bytes(b.key.verify_key))).HasField("ack")
    assert (
        h.request(1, 5, unban=pb.Unban(public_key=bytes(b.key.verify_key))).error.code
        == pb.NOT_BANNED
    )
    assert h.open(7, key=b.key).inbox[0].HasField("welcome")
    lifted = [p.change for p in h.persisted if p.change.lifted_bans]
    assert lifted and lifted[0].lifted_bans == (bytes(b.key.verify_key),)
    assert a.closed is None


def test_a_non_admin_moderator_cannot_touch_an_admin() -> None:
    h = harness()
    h.open(1), h.open(2)
    admin_of(h, 1)
    h.request(1, 1, create_role=pb.CreateRole(name="mod"))
    h.request(1, 2, grant_role=pb.GrantRole(user_id=2, role="mod"))
    acl = pb.SetAcl(
        room_id=1,
        inherit=True,
        entries=[
            entry(allow=Perm.ENTER | Perm.SPEAK | Perm.TEXT, role="everyone"),
            entry(allow=Perm.KICK | Perm.BAN | Perm.MANAGE_ROLES, role="mod"),
        ],
    )
    h.request(1, 3, set_acl=acl)
    assert denied(h.request(2, 4, kick_user=pb.KickUser(user_id=1)), Perm.ADMIN)
    assert denied(h.request(2, 5, ban_user=pb.BanUser(user_id=1)), Perm.ADMIN)
    assert denied(h.request(2, 6, grant_role=pb.GrantRole(user_id=2, role="admin")), Perm.ADMIN)
    assert denied(h.request(2, 7, revoke_role=pb.RevokeRole(user_id=1, role="admin")), Perm.ADMIN)
    assert h.request(2, 8, list_users=pb.ListUsers()).user_list.users[0].roles == ["admin"]


def test_move_and_server_mute_and_deafen() -> None:
    h = harness()
    h.open(1), h.open(2), h.open(3)
    admin_of(h, 1)
    h.request(1, 1, create_room=pb.CreateRoom(parent_id=1, name="Jail"))
    assert h.request(1, 2, move_user=pb.MoveUser(user_id=2, room_id=2)).HasField("ack")
    assert h.routes[2] == 2 and h.peers[3].state.users[2].room_id == 2  # type: ignore[union-attr]
    assert (
        h.request(1, 3, move_user=pb.MoveUser(user_id=2, room_id=2)).error.code
        == pb.ALREADY_IN_ROOM
    )
    assert h.request(1, 4, set_server_mute=pb.SetServerMute(user_id=2, server_mute=True)).HasField(
        "ack"
    )
    assert h.speaks[2] is False and h.hears[2] is True
    seen = h.peers[3].state.users[2]  # type: ignore[union-attr]
    assert seen.server_mute and not seen.server_deaf  # in everyone's (hash-checked) state
    h.request(
        1, 5, set_server_mute=pb.SetServerMute(user_id=2, server_mute=False, server_deaf=True)
    )
    assert h.speaks[2] is False and h.hears[2] is False
    h.request(1, 6, set_server_mute=pb.SetServerMute(user_id=2))
    assert h.speaks[2] is True and h.hears[2] is True
    # a muted user who rejoins a room stays muted (the flag goes with the user, not the room)
    h.request(1, 7, set_server_mute=pb.SetServerMute(user_id=2, server_mute=True))
    h.request(2, 8, join_room=pb.JoinRoom(room_id=1))
    assert h.speaks[2] is False


# --- roles -------------------------------------------------------------------------------------


def test_roles_are_created_granted_used_in_acls_and_deleted() -> None:
    h = harness()
    h.open(1), h.open(2)
    admin_of(h, 1)
    assert h.request(1, 1, create_role=pb.CreateRole(name="mod")).HasField("ack")
    assert h.request(1, 2, create_role=pb.CreateRole(name="mod")).error.code == pb.ROLE_EXISTS
    assert (
        h.request(1, 3, create_role=pb.CreateRole(name="no spaces")).error.code == pb.INVALID_NAME
    )
    assert (
        h.request(1, 4, grant_role=pb.GrantRole(user_id=2, role="ghost")).error.code
        == pb.UNKNOWN_ROLE
    )
    assert (
        h.request(1, 5, grant_role=pb.GrantRole(user_id=77, role="mod")).error.code
        == pb.UNKNOWN_USER
    )
    h.request(1, 6, grant_role=pb.GrantRole(user_id=2, role="mod"))
    assert h.peers[1].state.users[2].roles == ("mod",)  # type: ignore[union-attr]
    acl = pb.SetAcl(
        room_id=1,
        inherit=True,
        entries=[
            entry(allow=Perm.ENTER | Perm.SPEAK | Perm.TEXT, role="everyone"),
            entry(allow=Perm.KICK, role="mod"),
        ],
    )
    h.request(1, 7, set_acl=acl)
    assert h.permissions(2)[1] & Perm.KICK
    roles = h.request(2, 8, list_roles=pb.ListRoles()).role_list.roles
    assert [(r.name, list(r.user_ids)) for r in roles] == [
        ("admin", [1]),
        ("everyone", []),
        ("mod", [2]),
    ]
    assert h.request(1, 9, delete_role=pb.DeleteRole(name="admin")).error.code == pb.INVALID_NAME
    assert h.request(1, 10, delete_role=pb.DeleteRole(name="mod")).HasField("ack")
    assert h.peers[1].state.users[2].roles == ()  # type: ignore[union-attr]
    assert not h.permissions(2)[1] & Perm.KICK
    assert all(
        e.role != "mod" for e in h.request(1, 11, get_acl=pb.GetAcl(room_id=1)).room_acl.entries
    )
    deleted = [p.change for p in h.persisted if p.change.deleted_roles]
    assert deleted[0].users[0].roles == () and deleted[0].acls[0].room_id == 1  # one batch


# --- names ---------------------------------------------------------------------------------------


def test_display_names_are_unique_case_insensitively() -> None:
    h = harness()
    h.open(1, name="Alice")
    clash = h.open(2, name="aLICE")
    assert clash.inbox[0].error.code == pb.NAME_TAKEN and clash.closed is not None
    h.open(3, name="bob")
    assert (
        h.request(3, 1, set_display_name=pb.SetDisplayName(name="ALICE")).error.code
        == pb.NAME_TAKEN
    )
    assert h.request(1, 2, set_display_name=pb.SetDisplayName(name="alice")).HasField(
        "ack"
    )  # own name


def test_a_role_holders_name_is_reserved_to_their_key() -> None:
    h = harness()
    h.open(1, name="Boss")
    admin_of(h, 1)
    h.dispatch(h.core.disconnect(1, NOW))
    impostor = h.open(2, name="boss")
    assert impostor.inbox[0].error.code == pb.NAME_RESERVED
    h.open(3, name="carl")
    assert (
        h.request(3, 1, set_display_name=pb.SetDisplayName(name="BOSS")).error.code
        == pb.NAME_RESERVED
    )
    assert not [
        p
        for p in h.persisted
        if isinstance(p, Persist)
        and p.change.users
        and p.change.users[0].name.lower() == "boss"
        and p.change.users[0].id != 1
    ]


def test_create_room_needs_make_room_in_the_parent() -> None:
    h = harness()
    h.open(1), h.open(2)
    admin_of(h, 1)
    no_rooms = pb.SetAcl(
        room_id=1,
        inherit=True,
        entries=[entry(allow=Perm.ENTER | Perm.SPEAK | Perm.TEXT, role="everyone")],
    )
    h.request(1, 1, set_acl=no_rooms)
    assert not h.permissions(2)[1] & Perm.MAKE_ROOM  # pushed to the client
    answer = h.request(2, 2, create_room=pb.CreateRoom(parent_id=1, name="Mine"))
    assert denied(answer, Perm.MAKE_ROOM) and "create rooms in 'Lobby'" in answer.error.message
    assert h.request(1, 3, create_room=pb.CreateRoom(parent_id=1, name="Admins'")).HasField("ack")


def test_self_mute_and_deafen_are_shared_state_and_gate_the_voice_route() -> None:
    h = harness()
    h.open(1), h.open(2)
    assert h.speaks[1] is True and h.hears[1] is True
    assert h.request(1, 1, set_self_mute=pb.SetSelfMute(self_mute=True)).HasField("ack")
    seen = h.peers[2].state.users[1]  # type: ignore[union-attr]
    assert seen.self_mute and not seen.self_deaf  # in the other client's hash-checked state
    assert h.speaks[1] is False and h.hears[1] is True
    # deafen implies mute, whatever the request says
    h.request(1, 2, set_self_mute=pb.SetSelfMute(self_mute=False, self_deaf=True))
    seen = h.peers[2].state.users[1]  # type: ignore[union-attr]
    assert seen.self_mute and seen.self_deaf
    assert h.speaks[1] is False and h.hears[1] is False
    # the same flags again: an ack, and no update for anyone
    h.peers[2].take()
    assert h.request(1, 3, set_self_mute=pb.SetSelfMute(self_deaf=True)).HasField("ack")
    assert "state_update" not in h.peers[2].kinds()
    h.request(1, 4, set_self_mute=pb.SetSelfMute())
    seen = h.peers[2].state.users[1]  # type: ignore[union-attr]
    assert not seen.self_mute and not seen.self_deaf
    assert h.speaks[1] is True and h.hears[1] is True
    # a server mute stays in force under a self-unmute
    admin_of(h, 2)
    h.request(2, 5, set_server_mute=pb.SetServerMute(user_id=1, server_mute=True))
    h.request(1, 6, set_self_mute=pb.SetSelfMute())
    assert h.speaks[1] is False
