"""Property tests: arbitrary bytes and hostile envelopes never break the server.

Hypothesis drives the framing and `ServerCore` (sans-I/O, so thousands of
cases run in seconds) with arbitrary bytes and with well-formed envelopes a
hostile client could send: any payload, any request id, names and text from
all of Unicode, sessions coming and going, clocks jumping. Properties: no
exception but the documented ones escapes, every request gets exactly one
answer, and every authenticated session's copy of the state, built only
from what it was sent, hashes to the core's state.
"""

from __future__ import annotations

import hashlib
from typing import Any

from google.protobuf.message import DecodeError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from voip.errors import ProtocolError
from voip.proto import voip_pb2
from voip.protocol.framing import FrameDecoder, encode_frame
from voip.protocol.handshake import make_hello
from voip.protocol.state import Room, StateModel, apply_update, state_hash
from voip.protocol.voice import MAX_VOICE_DATAGRAM, parse_voice_message, stamp
from voip.server.core import Close, CoreSettings, Send, ServerCore
from voip.server.limits import Limits
from voip.server.records import Snapshot

FP = hashlib.sha256(b"cert").digest()
KEYS = [SigningKey(bytes([i + 1]) * 32) for i in range(4)]


# --- framing ---------------------------------------------------------------------------


@given(st.lists(st.binary(max_size=300), max_size=20), st.integers(1, 5000))
def test_arbitrary_bytes_only_raise_protocol_errors(chunks: list[bytes], max_frame: int) -> None:
    decoder = FrameDecoder(max_frame)
    try:
        for chunk in chunks:
            for body in decoder.feed(chunk):
                assert len(body) <= max_frame
        decoder.close()
    except ProtocolError:
        pass
    assert decoder.buffered <= max_frame + 5 + max(map(len, chunks), default=0)


@given(st.lists(st.binary(max_size=2000), max_size=10), st.data())
def test_frames_survive_any_split(bodies: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(encode_frame(b) for b in bodies)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    decoder = FrameDecoder()
    out: list[bytes] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        out += decoder.feed(stream[start:end])
    decoder.close()
    assert out == bodies


# --- voice -----------------------------------------------------------------------------


@given(st.binary(max_size=1400), st.integers(1, 2**32 - 1), st.integers(1, 2**32 - 1))
def test_any_datagram_is_refused_cleanly_or_relayed_within_bounds(
    data: bytes, user_id: int, room_id: int
) -> None:
    try:
        message = parse_voice_message(data)
    except ProtocolError:
        return
    assert len(data) <= MAX_VOICE_DATAGRAM
    out = stamp(message, user_id, room_id)
    assert len(out) <= MAX_VOICE_DATAGRAM
    relayed = voip_pb2.VoiceDatagram.FromString(out)
    assert (relayed.sender_id, relayed.room_id) == (user_id, room_id)
    assert relayed.opus == message.opus and relayed.sequence == message.sequence
    assert relayed.SerializeToString() == out  # nothing but known fields


# --- the core --------------------------------------------------------------------------

names = st.text(max_size=70)
ids = st.integers(0, 12)
request_ids = st.integers(0, 5)

requests = st.one_of(
    st.builds(lambda r: {"join_room": voip_pb2.JoinRoom(room_id=r)}, ids),
    st.builds(lambda p, n: {"create_room": voip_pb2.CreateRoom(parent_id=p, name=n)}, ids, names),
    st.builds(lambda r: {"delete_room": voip_pb2.DeleteRoom(room_id=r)}, ids),
    st.builds(lambda r, n: {"rename_room": voip_pb2.RenameRoom(room_id=r, name=n)}, ids, names),
    st.builds(lambda t: {"send_chat": voip_pb2.SendChat(text=t)}, st.text(max_size=40)),
    st.builds(lambda n: {"set_display_name": voip_pb2.SetDisplayName(name=n)}, names),
    st.just({"resync_request": voip_pb2.ResyncRequest()}),
    st.just({}),  # no payload
    st.just({"ack": voip_pb2.Ack()}),  # a server-only payload
    st.just({"client_hello": voip_pb2.ClientHello(display_name="again")}),
)

events = st.one_of(
    st.tuples(st.just("request"), st.integers(0, 3), requests, request_ids),
    st.tuples(st.just("connect"), st.integers(0, 3), names, st.booleans()),
    st.tuples(st.just("leave"), st.integers(0, 3), st.sampled_from(["disconnect", "abort"])),
    st.tuples(st.just("wait"), st.floats(0, 30)),
    st.tuples(st.just("raw"), st.integers(0, 3), st.binary(max_size=40)),
)


class World:
    """The core and, for each session, only what the core sent it."""

    def __init__(self) -> None:
        limits = Limits(max_rooms=8, max_room_depth=3, hello_timeout=10)
        snap = Snapshot(users=(), rooms=(Room(1, "Lobby", 0),), next_user_id=1, next_room_id=2)
        self.core = ServerCore(CoreSettings(limits=limits), snap)
        self.now = 1000.0
        self.next_sid = 1
        self.sid_of: dict[int, int] = {}  # slot -> live session
        self.models: dict[int, StateModel] = {}
        self.closed: set[int] = set()

    def dispatch(self, actions: list[Any]) -> None:
        for a in actions:
            if isinstance(a, Send):
                assert a.session not in self.closed, "sent after close"
                self.track(a.session, a.envelope)
            elif isinstance(a, Close):
                self.closed.add(a.session)
                self.models.pop(a.session, None)

    def track(self, sid: int, env: voip_pb2.Envelope) -> None:
        if env.HasField("server_state"):
            self.models[sid] = StateModel.from_proto(env.server_state)
            assert state_hash(self.models[sid]) == env.state_hash
        elif env.HasField("state_update"):
            self.models[sid] = apply_update(self.models[sid], env.state_update, env.state_hash)

    def connect(self, slot: int, name: str, honest: bool) -> None:
        if slot in self.sid_of:
            return
        sid = self.next_sid
        self.next_sid += 1
        self.sid_of[slot] = sid
        self.dispatch(self.core.connect(sid, FP, self.now, "192.0.2.1"))
        self.dispatch(self.core.open_stream(sid, bytes(32)))
        key = KEYS[slot]
        hello = make_hello(
            challenge=voip_pb2.Challenge(nonce=bytes(32)),
            cert_fingerprint=FP if honest else bytes(32),
            public_key=bytes(key.verify_key),
            sign=lambda d: bytes(key.sign(d).signature),
            display_name=name,
            password="",
        )
        self.receive(sid, voip_pb2.Envelope(client_hello=hello))

    def receive(self, sid: int, env: voip_pb2.Envelope) -> None:
        was_open = sid not in self.closed
        actions = self.core.receive(sid, env, self.now)
        self.dispatch(actions)
        kind = env.WhichOneof("payload")
        if was_open and sid not in self.closed and kind != "client_hello" and (
            env.request_id or kind is not None
        ):
            # A request (or a would-be one) on an open session: exactly one answer.
            answers = [
                a
                for a in actions
                if isinstance(a, Send)
                and a.session == sid
                and a.envelope.WhichOneof("payload") in ("ack", "error")
            ]
            assert len(answers) == 1, (env, answers)
            assert answers[0].envelope.request_id == env.request_id

    def check(self) -> None:
        digest = state_hash(self.core.state)
        authenticated = [sid for sid in self.sid_of.values() if self.core.user_of(sid)]
        for sid in authenticated:
            assert state_hash(self.models[sid]) == digest
        assert set(self.core.state.users) == {self.core.user_of(s) for s in authenticated}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(events, max_size=40))
def test_hostile_envelopes_keep_every_client_in_step(script: list[tuple[Any, ...]]) -> None:
    world = World()
    for event in script:
        kind = event[0]
        if kind == "connect":
            world.connect(event[1], event[2], event[3])
        elif kind == "wait":
            world.now += event[1]
            for sid in list(world.sid_of.values()):
                world.dispatch(world.core.hello_deadline(sid, world.now))
        elif event[1] in world.sid_of:
            sid = world.sid_of[event[1]]
            if kind == "request":
                _, _, payload, rid = event
                world.receive(sid, voip_pb2.Envelope(request_id=rid, **payload))
            elif kind == "raw":
                env = voip_pb2.Envelope()
                try:
                    env.ParseFromString(event[2])
                except DecodeError:  # the framing refuses those
                    continue
                world.receive(sid, env)
            else:
                del world.sid_of[event[1]]
                if event[2] == "abort":
                    world.dispatch(world.core.abort(sid, voip_pb2.TOO_SLOW, "slow", world.now))
                world.dispatch(world.core.disconnect(sid, world.now))
                world.models.pop(sid, None)
        world.sid_of = {k: v for k, v in world.sid_of.items() if v not in world.closed}
        world.check()
