"""ClientCore against ServerCore in memory: handshake, requests, state, timers.

No sockets and no sleeping: the clock is `Network.now`, moved by hand. What
the socket tests (tests/client/test_integration.py) show end to end is shown
here at the protocol layer in microseconds, plus the timers.
"""

from __future__ import annotations

import datetime as dt
import runpy
from pathlib import Path
from typing import Any

import pytest

from voip.client.core import EMPTY_FRAME, Phase, Timeouts
from voip.client.core import events as ev
from voip.client.model import ClientModel
from voip.client.trust_policy import CertificateFacts, decide
from voip.errors import ProtocolError
from voip.proto import voip_pb2
from voip.protocol.fingerprint import format_fingerprint
from voip.protocol.framing import encode_envelope, encode_frame
from voip.protocol.state import state_hash
from voip.protocol.voice import VoiceFrame, encode_voice

_here = Path(__file__).resolve()
_load = runpy.run_path(str(_here.parents[1] / "support" / "loading.py"))["load"]
pair: Any = _load("voip_tests_client_core_pair", _here.with_name("core_pair.py"))
Network = pair.Network
FP = pair.FP


# --- the handshake -----------------------------------------------------------------


def test_handshake_welcomes_with_the_full_state() -> None:
    net = Network()
    alice = net.tls(net.client("alice"))
    assert alice.core.phase is Phase.READY
    assert alice.sent[0] == EMPTY_FRAME  # the control stream opens with an empty frame
    welcomed = alice.last(ev.Welcomed)
    assert welcomed.user_id == net.server.user_of(alice.sid)
    snapshot = alice.last(ev.StateSnapshot)
    assert snapshot.state_hash == state_hash(net.server.state)
    kinds = [type(e) for e in alice.events if not isinstance(e, ev.PermissionsReceived)]
    assert kinds == [ev.ChallengeReceived, ev.Welcomed, ev.StateSnapshot]
    # The hello signed the fingerprint of the certificate the client saw.
    assert alice.core.cert_fingerprint == FP


@pytest.mark.parametrize(
    ("server_password", "password", "name", "code"),
    [
        ("sesame", "", "alice", "WRONG_PASSWORD"),  # an empty password on a protected server
        ("sesame", "open says me", "alice", "WRONG_PASSWORD"),
        ("", "", "", "INVALID_NAME"),
        ("", "", "x" * 200, "INVALID_NAME"),
    ],
)
def test_refused_handshake_reports_the_servers_words_and_ends(
    server_password: str, password: str, name: str, code: str
) -> None:
    net = Network(server_password=server_password)
    end = net.tls(net.client(name, password))
    refused = end.last(ev.Refused)
    assert refused.code == code and refused.message
    assert not end.of(ev.Welcomed)
    ended = end.ended
    assert ended is not None and not ended.was_ready
    assert ended.reason == f"the server refused the connection: {refused.message}"
    assert end.core.phase is Phase.CLOSED
    assert net.server.user_of(end.sid) is None


def test_the_right_password_gets_in() -> None:
    net = Network(server_password="sesame")
    assert net.join("alice", password="sesame").core.ready


NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def judged(pinned: str | None, *, issuer_trusted: bool = False, host: str = "voip.test") -> Any:
    """The trust decision for FP, a certificate valid now for voip.test, reached as `host`."""
    facts = CertificateFacts(
        fingerprint=FP,
        names=("voip.test",),
        not_before=NOW - dt.timedelta(days=1),
        not_after=NOW + dt.timedelta(days=1),
        issuer_trusted=issuer_trusted,
        name_matches=host == "voip.test",
        self_signed=not issuer_trusted,
    )
    return decide(f"{host}:7731", host, facts, pinned, NOW)


def test_a_pin_mismatch_fails_before_anything_is_sent() -> None:
    net = Network()
    end = net.client()
    pinned = format_fingerprint(bytes(32))
    net.tls(end, judged(pinned))
    assert end.sent == []  # no stream opened, no hello signed for an impostor
    ended = end.ended
    assert ended is not None
    assert pinned in ended.reason and format_fingerprint(FP) in ended.reason


def test_an_unknown_certificate_asks_the_user_and_sends_nothing() -> None:
    net = Network()
    end = net.client()
    net.tls(end, judged(None))
    asked = end.last(ev.TrustRequired)
    assert asked.fingerprint_text == format_fingerprint(FP)
    assert asked.reason == "the certificate is self-signed: no certificate authority vouches for it"
    assert end.sent == [] and end.core.phase is Phase.CLOSED


def test_a_pinned_certificate_is_trusted() -> None:
    net = Network()
    end = net.tls(net.client(), judged(format_fingerprint(FP)))
    assert end.core.ready


def test_a_verified_certificate_is_trusted_whatever_is_pinned() -> None:
    net = Network()
    end = net.tls(net.client(), judged(format_fingerprint(bytes(32)), issuer_trusted=True))
    assert end.core.ready


def test_a_certificate_for_other_names_is_refused_before_anything_is_sent() -> None:
    net = Network()
    end = net.client()
    net.tls(end, judged(None, issuer_trusted=True, host="10.0.0.5"))
    assert end.sent == []
    ended = end.ended
    assert ended is not None and "the certificate is for voip.test, not 10.0.0.5" in ended.reason


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        (voip_pb2.Envelope(welcome=voip_pb2.Welcome(user_id=1)), "welcome before its challenge"),
        (voip_pb2.Envelope(ack=voip_pb2.Ack()), "ack before its challenge"),
        (
            voip_pb2.Envelope(goodbye=voip_pb2.Goodbye(message="full")),
            "the server closed the connection: full",
        ),
    ],
)
def test_a_server_that_does_not_speak_first_with_a_challenge_is_left(
    payload: voip_pb2.Envelope, words: str
) -> None:
    net = Network()
    end = net.client()
    end.silent = True  # the server core never sees it: the test plays the server
    net.tls(end)
    net.send_to_client(end, encode_envelope(payload))
    assert end.ended is not None and words in end.ended.reason


def test_garbage_on_the_stream_ends_the_connection() -> None:
    net = Network()
    end = net.join()
    net.send_to_client(end, encode_frame(b"\xff\xff\xff"))
    assert end.ended is not None and "unreadable message" in end.ended.reason
    assert end.ended.was_ready


def test_the_server_closing_the_stream_ends_the_connection() -> None:
    net = Network()
    end = net.join()
    net.send_to_client(end, b"", end_stream=True)
    assert end.ended is not None and end.ended.reason == "the server closed the control stream"


def test_goodbye_is_the_reason_when_the_server_shuts_down() -> None:
    net = Network()
    end = net.join()
    net._apply(net.server.shutdown(net.now))
    net.flow()
    assert end.last(ev.GoodbyeReceived).code == "SERVER_SHUTDOWN"
    assert end.ended is not None
    assert end.ended.reason.startswith("the server closed the connection: the server is shutting")


def test_the_same_key_again_replaces_the_old_session() -> None:
    net = Network()
    first = net.join("me")
    second = net.client("me again", key=None)
    second.core.credentials = first.core.credentials  # same key
    net.tls(second)
    assert second.core.ready
    assert first.last(ev.GoodbyeReceived).code == "ALREADY_CONNECTED"
    assert first.ended is not None and "connected again" in first.ended.reason


# --- requests and answers ----------------------------------------------------------------


def test_requests_are_answered_and_matched_by_id() -> None:
    net = Network()
    alice = net.join()
    rid = alice.core.send_request("create_room", "CreateRoom", net.now, parent_id=1, name="Games")
    net.flow()
    assert alice.last(ev.RequestAcked) == ev.RequestAcked(rid, "CreateRoom")
    games = next(r.id for r in net.server.state.rooms.values() if r.name == "Games")
    again = alice.core.send_request("join_room", "JoinRoom", net.now, room_id=games)
    net.flow()
    assert alice.last(ev.RequestAcked).request_id == again
    missing = alice.core.send_request("join_room", "JoinRoom", net.now, room_id=999)
    net.flow()
    failed = alice.last(ev.RequestFailed)
    assert (failed.request_id, failed.command, failed.code) == (missing, "JoinRoom", "UNKNOWN_ROOM")
    assert "999" in failed.message
    assert alice.core.pending_requests == {}
    assert len({rid, again, missing}) == 3


def test_no_request_before_the_welcome() -> None:
    net = Network()
    end = net.client()
    with pytest.raises(ProtocolError):
        end.core.send_request("join_room", "JoinRoom", net.now, room_id=1)


def test_chat_reaches_the_room() -> None:
    net = Network()
    alice, bob = net.join("alice"), net.join("bob")
    alice.core.send_request("send_chat", "SendChat", net.now, text="hello")
    net.flow()
    assert bob.last(ev.ChatReceived).message.text == "hello"
    assert alice.last(ev.ChatReceived).message.sender_name == "alice"


# --- state updates and resync ----------------------------------------------------------


def _model_of(end: Any) -> ClientModel:
    model = ClientModel()
    for event in end.events:
        if isinstance(event, ev.StateSnapshot | ev.StateUpdated | ev.ChatReceived):
            assert not model.apply(event)
    return model


def test_updates_keep_every_copy_equal_to_the_servers() -> None:
    net = Network()
    alice = net.join("alice")
    net.join("bob")
    alice.core.send_request("create_room", "CreateRoom", net.now, parent_id=1, name="Games")
    net.flow()
    kinds = [e.update.WhichOneof("change") for e in alice.of(ev.StateUpdated)]
    assert kinds == ["user_joined", "room_created"]
    assert state_hash(_model_of(alice).server_model) == state_hash(net.server.state)


def test_a_hash_mismatch_makes_the_state_owner_resync() -> None:
    net = Network()
    alice = net.join("alice")
    model = _model_of(alice)
    model.corrupt_for_test()
    seen = len(alice.events)
    net.join("bob")
    update = alice.events[seen]
    assert isinstance(update, ev.StateUpdated)
    assert model.apply(update) is True  # diverged: the caller must ask for a resync
    assert model.snapshot.resync_count == 1
    alice.core.send_request("resync_request", "RequestResync", net.now)
    net.flow()
    fresh = alice.last(ev.StateSnapshot)
    assert model.apply(fresh) is False
    assert state_hash(model.server_model) == state_hash(net.server.state)
    assert not model.awaiting_resync


# --- voice -----------------------------------------------------------------------------


def test_voice_is_played_only_once_welcomed_and_garbage_is_counted() -> None:
    net = Network()
    end = net.client()
    datagram = encode_voice(VoiceFrame(7, 1, 42, b"opus"))
    assert end.core.receive_datagram(datagram) is None  # not welcomed yet
    net.tls(end)
    frame = end.core.receive_datagram(datagram)
    assert frame is not None and (frame.sender_id, frame.sequence) == (7, 42)
    assert end.core.receive_datagram(b"\xff\x00garbage") is None
    assert end.core.voice_dropped == 1


# --- timers ----------------------------------------------------------------------------


def test_keepalive_every_third_of_the_idle_timeout() -> None:
    net = Network(timeouts=Timeouts(idle=15.0))
    end = net.join()
    sent = len(end.sent)
    assert end.core.get_timer() == pytest.approx(net.now + 5.0)
    net.advance(4.9)
    assert len(end.sent) == sent
    net.advance(0.2)
    assert end.sent[sent:] == [EMPTY_FRAME]
    # Requests in between do not delay it (docs/PROTOCOL.md: at least every 5 s).
    net.advance(3.0)
    end.core.send_request("send_chat", "SendChat", net.now, text="hi")
    net.flow()
    net.advance(1.9)
    assert end.sent[-1] != EMPTY_FRAME
    net.advance(0.2)
    assert end.sent[-1] == EMPTY_FRAME
    assert end.core.ready and len(end.sent) == sent + 3


def test_the_hello_deadline_runs_from_the_start_of_the_attempt() -> None:
    net = Network(timeouts=Timeouts(connect=10.0))
    end = net.client()
    assert end.core.get_timer() == pytest.approx(net.now + 10.0)
    net.advance(6.0)
    end.silent = True  # a server that never challenges
    net.tls(end)
    net.advance(3.9)
    assert end.ended is None
    net.advance(0.2)
    assert end.ended is not None
    assert end.ended.reason.startswith("no answer from voip.test:7731 within 10 s")
    assert end.core.get_timer() is None


def test_the_deadline_before_tls_too() -> None:
    net = Network(timeouts=Timeouts(connect=2.0))
    end = net.client()
    net.advance(2.5)
    assert end.core.failure is not None and "within 2 s" in end.core.failure


def test_a_welcomed_connection_has_no_deadline() -> None:
    net = Network(timeouts=Timeouts(connect=1.0, idle=60.0))
    end = net.join()
    net.advance(10.0)
    assert end.core.ready and end.ended is None


def test_an_unanswered_request_times_out() -> None:
    net = Network(timeouts=Timeouts(request=5.0, idle=60.0))
    end = net.join()
    net.drop_client_envelopes = lambda e: e.WhichOneof("payload") == "join_room"
    rid = end.core.send_request("join_room", "JoinRoom", net.now, room_id=1)
    net.flow()
    assert end.core.get_timer() == pytest.approx(net.now + 5.0)
    net.advance(4.9)
    assert not end.of(ev.RequestFailed)
    net.advance(0.2)
    failed = end.last(ev.RequestFailed)
    assert (failed.request_id, failed.command, failed.code) == (rid, "JoinRoom", ev.REQUEST_TIMEOUT)
    assert end.core.pending_requests == {} and end.core.ready


def test_stopping_closes_once_and_reports_the_end() -> None:
    net = Network()
    end = net.join()
    end.core.stop("the user disconnected")
    net.flow()
    assert end.ended is not None and end.ended.was_ready
    assert len(end.of(ev.ConnectionEnded)) == 1
    assert net.server.user_of(end.sid) is None


def test_a_query_is_answered_by_its_reply_message() -> None:
    net = Network()
    alice = net.join()
    rid = alice.core.send_request("list_roles", "ListRoles", net.now)
    net.flow()
    answer = alice.last(ev.RequestAcked)
    assert (answer.request_id, answer.command) == (rid, "ListRoles")
    assert isinstance(answer.reply, voip_pb2.RoleList)
    assert {"admin", "everyone"} <= {r.name for r in answer.reply.roles}
    assert alice.core.pending_requests == {}
