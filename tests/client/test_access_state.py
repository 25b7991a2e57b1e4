"""The client's view of access control: permissions and query answers into State."""

from __future__ import annotations

import pytest

from voip.client import commands as c
from voip.client import moderation as m
from voip.client.access_state import AclEntryView
from voip.client.core import events as ev
from voip.client.model import ClientModel
from voip.client.state import Connected, Disconnected
from voip.proto import voip_pb2 as pb
from voip.protocol.permissions import Perm
from voip.protocol.state import Room, StateModel, state_hash


def connected_model() -> ClientModel:
    model = ClientModel()
    model.set_connection(Connected("S", 1, "localhost:7731", 1, 5000, ""))
    server = StateModel.build(
        [Room(1, "Lobby", 0), Room(2, "Games", 1)],
    )
    message = server.to_proto()
    message.users.add(id=1, name="me", room_id=1, roles=["admin"])
    message.users.add(id=2, name="bob", room_id=2, server_mute=True)
    model.server_state(message, state_hash(message))
    return model


def test_permissions_merge_and_answer_may_and_refusal() -> None:
    model = connected_model()
    full = pb.Permissions(
        rooms=[
            pb.RoomPermissions(room_id=1, allowed=int(Perm.ENTER | Perm.KICK)),
            pb.RoomPermissions(room_id=2, allowed=int(Perm.ENTER)),
        ]
    )
    assert model.access_message(full)
    access = model.snapshot.access
    assert access.may(Perm.KICK) and access.may(Perm.KICK, 2)  # server-wide: the root's set
    assert not access.may(Perm.WRITE, 2)
    refusal = access.refusal(Perm.WRITE, 2, "rename this room")
    assert refusal == "You may not rename this room: it needs the write permission in this room."
    # an update lists only the rooms that changed
    model.apply(
        ev.PermissionsReceived(
            pb.Permissions(rooms=[pb.RoomPermissions(room_id=2, allowed=int(Perm.WRITE))])
        )
    )
    assert model.snapshot.access.may(Perm.WRITE, 2) and model.snapshot.access.may(Perm.KICK)
    users = {u.name: u for u in model.snapshot.users}
    assert users["me"].roles == ("admin",) and users["bob"].server_mute


def test_a_deleted_room_drops_its_permissions_and_leaving_forgets_them() -> None:
    model = connected_model()
    model.access_message(pb.Permissions(rooms=[pb.RoomPermissions(room_id=2, allowed=1)]))
    update = pb.StateUpdate(room_deleted=pb.RoomDeleted(room_id=2))
    server = model.server_model
    from voip.protocol.state import apply_change

    model.state_update(update, state_hash(apply_change(server, update)))
    assert 2 not in model.snapshot.access.permissions
    model.set_connection(Disconnected())
    assert dict(model.snapshot.access.permissions) == {}


def test_query_answers_land_in_state() -> None:
    model = connected_model()
    acl = pb.RoomAcl(
        room_id=2, inherit=False, entries=[pb.AclEntry(role="mod", allow=3, apply_here=True)]
    )
    model.apply(ev.RequestAcked(4, "FetchAcl", acl))
    got = model.snapshot.access.acl
    assert got is not None and got.room_id == 2 and not got.inherit
    assert got.entries == (AclEntryView(role="mod", allow=3, apply_here=True, apply_subs=False),)
    model.access_message(pb.BanList(bans=[pb.BanInfo(public_key=b"k" * 32, reason="spam")]))
    assert [b.reason for b in model.snapshot.access.bans or ()] == ["spam"]
    model.access_message(pb.RoleList(roles=[pb.RoleInfo(name="admin", builtin=True, user_ids=[1])]))
    assert model.snapshot.access.roles is not None and model.snapshot.access.roles[0].user_ids == (
        1,
    )
    assert not model.access_message(pb.Ack())


@pytest.mark.parametrize(
    ("command", "kind", "fields"),
    [
        (m.KickUser(3, "bye"), "kick_user", {"user_id": 3, "reason": "bye"}),
        (m.BanUser(3, 60, "x"), "ban_user", {"user_id": 3, "duration_s": 60, "reason": "x"}),
        (
            m.SetServerMute(3, True, False),
            "set_server_mute",
            {"user_id": 3, "server_mute": True, "server_deaf": False},
        ),
        (m.MoveUser(3, 2), "move_user", {"user_id": 3, "room_id": 2}),
        (m.RedeemAdminToken(" t "), "redeem_admin_token", {"token": "t"}),
        (m.FetchAcl(2), "get_acl", {"room_id": 2}),
        (m.FetchBans(), "list_bans", {}),
    ],
)
def test_commands_become_requests(
    command: m.ModerationCommand, kind: str, fields: dict[str, object]
) -> None:
    assert m.request_of(command) == (kind, fields)
    getattr(pb.Envelope(), kind)  # a real payload field
    assert c.problem(command) is None


def test_bad_moderation_commands_are_caught_before_sending() -> None:
    assert "not a user id" in (c.problem(m.KickUser(0)) or "")
    assert "32 bytes" in (c.problem(m.Unban(b"short")) or "")
    assert "token" in (c.problem(m.RedeemAdminToken("  ")) or "")
    both = m.SetAcl(2, True, (AclEntryView(role="mod", user_id=3),))
    assert "exactly one" in (c.problem(both) or "")
    kind, fields = m.request_of(m.SetAcl(2, False, (AclEntryView(role="everyone", allow=1),)))
    envelope = pb.Envelope()
    getattr(envelope, kind).CopyFrom(pb.SetAcl(**fields))  # type: ignore[arg-type]
    assert envelope.set_acl.entries[0].role == "everyone" and not envelope.set_acl.inherit
