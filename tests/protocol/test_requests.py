"""The request table shared by the server core and the client core."""

from __future__ import annotations

import pytest

from voip.proto import voip_pb2
from voip.protocol.requests import (
    MAX_REQUEST_ID,
    REQUEST_KINDS,
    REQUESTS,
    answered_request,
    next_request_id,
    request_envelope,
)


def test_every_request_is_an_envelope_payload_of_its_message_type() -> None:
    payload = voip_pb2.Envelope.DESCRIPTOR.oneofs_by_name["payload"]
    fields = {f.name: f for f in payload.fields}
    for kind, request in REQUESTS.items():
        assert fields[kind].message_type is request.message.DESCRIPTOR
        assert request.reply in fields or request.reply == "ack"
        assert request.reply not in REQUEST_KINDS
    assert frozenset(REQUESTS) == REQUEST_KINDS
    # Nothing the server sends is a request.
    assert not REQUEST_KINDS & {"challenge", "welcome", "server_state", "ack", "error"}


def test_the_server_core_serves_exactly_the_table() -> None:
    from voip.server.core import ServerCore

    handlers = {name[len("_on_") :] for name in dir(ServerCore) if name.startswith("_on_")}
    assert handlers == REQUEST_KINDS


def test_request_envelope_builds_the_message_from_fields() -> None:
    env = request_envelope("create_room", 7, parent_id=1, name="Games")
    assert env.request_id == 7 and env.WhichOneof("payload") == "create_room"
    assert (env.create_room.parent_id, env.create_room.name) == (1, "Games")
    empty = request_envelope("resync_request", 8)
    assert empty.WhichOneof("payload") == "resync_request"  # present though it has no fields
    with pytest.raises(KeyError):
        request_envelope("welcome", 1)
    with pytest.raises(ValueError):
        request_envelope("join_room", 1, no_such_field=3)


def test_answers_are_matched_by_id() -> None:
    assert answered_request(voip_pb2.Envelope(request_id=5, ack=voip_pb2.Ack())) == 5
    assert answered_request(voip_pb2.Envelope(request_id=5, error=voip_pb2.Error())) == 5
    assert answered_request(voip_pb2.Envelope(error=voip_pb2.Error())) is None  # unsolicited
    assert answered_request(voip_pb2.Envelope(request_id=5)) is None  # not an answer
    reply = voip_pb2.Envelope(request_id=6, role_list=voip_pb2.RoleList())
    assert answered_request(reply) == 6  # a query's reply


def test_request_ids_wrap_and_skip_zero() -> None:
    assert next_request_id(0) == 1
    assert next_request_id(41) == 42
    assert next_request_id(MAX_REQUEST_ID) == 1
