"""The request table: every client request, its envelope field, and how it is answered.

One table serves both ends. The server core accepts exactly these payloads
from an authenticated client (and dispatches each to ``_on_<kind>``); the
client core builds them and matches their answers. A request is an
`Envelope` whose payload is one of these fields and whose ``request_id`` is
chosen by the client; the server answers it with an ``error``, or on
success with the row's `reply` (``ack``, or for a query its reply message),
carrying the same id (docs/PROTOCOL.md, "Requests"; docs/PERMISSIONS.md).

Adding a request: add its message and `Envelope` field to voip.proto, one
row here, and the server's ``_on_<kind>`` handler; the client sends it with
`request_envelope` (or `ClientCore.send_request`).
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import Message

from voip.proto import voip_pb2


@dataclass(frozen=True, slots=True)
class Request:
    message: type[Message]
    #: The payload that answers it on success (an error may answer any request).
    reply: str = "ack"


#: Envelope payload field -> the request it carries.
REQUESTS: dict[str, Request] = {
    "join_room": Request(voip_pb2.JoinRoom),
    "create_room": Request(voip_pb2.CreateRoom),
    "delete_room": Request(voip_pb2.DeleteRoom),
    "rename_room": Request(voip_pb2.RenameRoom),
    "send_chat": Request(voip_pb2.SendChat),
    "resync_request": Request(voip_pb2.ResyncRequest),
    "set_display_name": Request(voip_pb2.SetDisplayName),
    "set_self_mute": Request(voip_pb2.SetSelfMute),
    # access control and moderation (docs/PERMISSIONS.md)
    "get_acl": Request(voip_pb2.GetAcl, reply="room_acl"),
    "set_acl": Request(voip_pb2.SetAcl),
    "list_roles": Request(voip_pb2.ListRoles, reply="role_list"),
    "create_role": Request(voip_pb2.CreateRole),
    "delete_role": Request(voip_pb2.DeleteRole),
    "grant_role": Request(voip_pb2.GrantRole),
    "revoke_role": Request(voip_pb2.RevokeRole),
    "kick_user": Request(voip_pb2.KickUser),
    "ban_user": Request(voip_pb2.BanUser),
    "unban": Request(voip_pb2.Unban),
    "list_bans": Request(voip_pb2.ListBans, reply="ban_list"),
    "move_user": Request(voip_pb2.MoveUser),
    "set_server_mute": Request(voip_pb2.SetServerMute),
    "redeem_admin_token": Request(voip_pb2.RedeemAdminToken),
    "list_users": Request(voip_pb2.ListUsers, reply="user_list"),
    # loss feedback for adaptive protection (docs/PROTOCOL.md, "Loss reports")
    "loss_report": Request(voip_pb2.LossReport),
    # file sharing (docs/SHARING.md)
    "share_file": Request(voip_pb2.ShareFile),
    "announce": Request(voip_pb2.Announce, reply="peer_list"),
}

#: Payloads a client may send once authenticated, each answered.
REQUEST_KINDS = frozenset(REQUESTS)
#: Payloads that answer a request (they carry its request_id).
ANSWER_KINDS = frozenset({"ack", "error"} | {r.reply for r in REQUESTS.values()})
#: request_id is a uint32 on the wire; 0 means "not a request".
MAX_REQUEST_ID = (1 << 32) - 1


def request_envelope(kind: str, request_id: int, **fields: object) -> voip_pb2.Envelope:
    """The envelope of request `kind` with its message built from `fields`.

    Raises KeyError for a kind that is not a request and ValueError for
    fields its message does not have.
    """
    message = REQUESTS[kind].message(**fields)
    envelope = voip_pb2.Envelope(request_id=request_id)
    getattr(envelope, kind).CopyFrom(message)
    return envelope


def answered_request(envelope: voip_pb2.Envelope) -> int | None:
    """The request id this envelope answers, or None if it answers none."""
    if envelope.request_id and envelope.WhichOneof("payload") in ANSWER_KINDS:
        return envelope.request_id
    return None


def next_request_id(request_id: int) -> int:
    """The id after `request_id`, wrapping within 1..MAX_REQUEST_ID (0 is never used)."""
    return request_id % MAX_REQUEST_ID + 1
