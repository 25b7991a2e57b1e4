"""An in-memory harness for ServerCore: simulated peers, a hand-driven clock.

Shared by the core's test files (loaded by path in conftest.py as
``voip_tests_core_harness``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from nacl.signing import SigningKey

from voip.proto import voip_pb2
from voip.protocol.handshake import make_hello
from voip.protocol.state import Room, StateModel, apply_update, state_hash
from voip.server.core import Action, Close, CoreSettings, Persist, Route, Send, ServerCore
from voip.server.records import Snapshot, UserRecord

FP = hashlib.sha256(b"cert").digest()
NOW = 1_700_000_000.0


def snapshot(users: tuple[UserRecord, ...] = ()) -> Snapshot:
    return Snapshot(users=users, rooms=(Room(1, "Lobby", 0),), next_user_id=1, next_room_id=2)


@dataclass
class Peer:
    """One simulated client: its key, and what the core sent it so far."""

    sid: int
    key: SigningKey = field(default_factory=SigningKey.generate)
    inbox: list[voip_pb2.Envelope] = field(default_factory=list)
    closed: Close | None = None
    state: StateModel | None = None
    user_id: int = 0

    def kinds(self) -> list[str | None]:
        return [e.WhichOneof("payload") for e in self.inbox]

    def take(self) -> list[voip_pb2.Envelope]:
        out, self.inbox = self.inbox, []
        return out


class Harness:
    def __init__(self, core: ServerCore | None = None, password: str = "") -> None:
        self.core = core or ServerCore(CoreSettings(password=password), snapshot())
        self.peers: dict[int, Peer] = {}
        self.persisted: list[Persist] = []
        self.routes: dict[int, int | None] = {}
        self.speaks: dict[int, bool] = {}
        self.hears: dict[int, bool] = {}
        self.now = NOW

    def dispatch(self, actions: list[Action]) -> list[Action]:
        for a in actions:
            if isinstance(a, Send):
                peer = self.peers[a.session]
                peer.inbox.append(a.envelope)
                self._track_state(peer, a.envelope)
            elif isinstance(a, Close):
                self.peers[a.session].closed = a
            elif isinstance(a, Persist):
                self.persisted.append(a)
            elif isinstance(a, Route):
                self.routes[a.session] = a.room_id
                self.speaks[a.session] = a.room_id is not None and a.speak
                self.hears[a.session] = a.room_id is not None and a.hear
        return actions

    @staticmethod
    def _track_state(peer: Peer, env: voip_pb2.Envelope) -> None:
        if env.HasField("server_state"):
            peer.state = StateModel.from_proto(env.server_state)
            assert state_hash(peer.state) == env.state_hash
        elif env.HasField("state_update"):
            assert peer.state is not None, "update before snapshot"
            peer.state = apply_update(peer.state, env.state_update, env.state_hash)

    def open(
        self,
        sid: int,
        password: str = "",
        key: SigningKey | None = None,
        host: str = "",
        **hello: object,
    ) -> Peer:
        peer = self.peers[sid] = Peer(sid) if key is None else Peer(sid, key=key)
        self.dispatch(self.core.connect(sid, FP, self.now, host))
        self.dispatch(self.core.open_stream(sid))
        challenge = peer.inbox[-1].challenge
        assert len(challenge.nonce) == 32
        msg = make_hello(
            challenge=challenge,
            cert_fingerprint=hello.pop("fingerprint", FP),  # type: ignore[arg-type]
            public_key=bytes(peer.key.verify_key),
            sign=lambda data: bytes(peer.key.sign(data).signature),
            display_name=str(hello.pop("name", f"user{sid}")),
            password=password,
        )
        for k, v in hello.items():
            setattr(msg, k, v)
        peer.take()
        self.dispatch(self.core.receive(sid, voip_pb2.Envelope(client_hello=msg), self.now))
        if peer.inbox and peer.inbox[0].HasField("welcome"):
            peer.user_id = peer.inbox[0].welcome.user_id
        return peer

    def request(self, sid: int, rid: int, **payload: object) -> voip_pb2.Envelope:
        env = voip_pb2.Envelope(request_id=rid, **payload)  # type: ignore[arg-type]
        self.dispatch(self.core.receive(sid, env, self.now))
        answers = [e for e in self.peers[sid].inbox if e.request_id == rid]
        assert len(answers) == 1, answers
        return answers[0]

    def permissions(self, sid: int) -> dict[int, int]:
        """The peer's view of its permissions, from every Permissions envelope it got."""
        view: dict[int, int] = {}
        for env in self.peers[sid].inbox:
            if env.HasField("permissions"):
                for rp in env.permissions.rooms:
                    view[rp.room_id] = rp.allowed
        return view
