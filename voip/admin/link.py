"""The admin tool's connection: a `ClientCore` on the aioquic glue, one request at a time.

It is a client like any other (same handshake, same trust rules, same key
as the desktop client unless told otherwise), so the server applies the
same permissions to it. It only adds what a one-shot tool needs: wait for
the welcome and the state, send a request and await its answer, and keep
the state current meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aioquic.asyncio import connect
from google.protobuf.message import Message

from voip.client.address import ServerAddress, parse_address
from voip.client.core import ClientCore, Credentials, Timeouts
from voip.client.core import events as ev
from voip.client.transport import CoreProtocol, client_configuration
from voip.client.trust import KnownServers, examine
from voip.client.trust_policy import TrustDecision, decide
from voip.errors import VoipError
from voip.identity import default_config_dir, load_or_create_identity
from voip.proto import voip_pb2
from voip.protocol.fingerprint import format_fingerprint
from voip.protocol.state import StateModel, apply_update

#: Seconds for the whole connection attempt, and for each request's answer.
CONNECT_TIMEOUT = 10.0
REQUEST_TIMEOUT = 15.0


class ConnectFailed(Exception):
    """No welcomed session: the sentence says why (refused, unreachable, untrusted)."""


class Refused(Exception):
    """The server refused a request: `code` is the ErrorCode name, the message its sentence."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class _Answer:
    reply: Message | None = None
    refused: Refused | None = None


@dataclass(frozen=True)
class LinkSettings:
    server: str
    config_dir: Path | None = None
    name: str | None = None  # None: "voip-admin-<short id of the key>"
    password: str = ""
    fingerprint: str | None = None  # accept (and pin) this self-signed certificate


def _normalized(fingerprint: str) -> str:
    hexdigits = fingerprint.upper().removeprefix("SHA256:").replace(":", "")
    try:
        return format_fingerprint(bytes.fromhex(hexdigits))
    except ValueError:
        raise ConnectFailed(
            f"--fingerprint {fingerprint!r} is not a SHA256:AB:CD:... fingerprint"
        ) from None


class AdminLink:
    """A welcomed session: `state`, `user_id`, `request(kind, message)`."""

    def __init__(self, address: ServerAddress, known: KnownServers, accepted: str | None) -> None:
        self.address = address
        self.known = known
        self.accepted = accepted
        self.user_id = 0
        self.welcome = voip_pb2.Welcome()
        self.protocol: CoreProtocol | None = None
        self._state: StateModel | None = None
        loop = asyncio.get_running_loop()
        self._ready: asyncio.Future[None] = loop.create_future()
        self._answers: dict[int, asyncio.Future[_Answer]] = {}

    @property
    def state(self) -> StateModel:
        assert self._state is not None
        return self._state

    # --- the core's events ----------------------------------------------------------

    def on_event(self, event: ev.CoreEvent) -> None:
        match event:
            case ev.Welcomed(welcome=welcome):
                self.user_id = welcome.user_id
                self.welcome = welcome
            case ev.StateSnapshot(state=message):
                self._state = StateModel.from_proto(message)
                if not self._ready.done():
                    self._ready.set_result(None)
            case ev.StateUpdated(update=update, state_hash=digest) if self._state is not None:
                self._state = apply_update(self._state, update, digest)
            case ev.RequestAcked(request_id=rid, reply=reply):
                self._resolve(rid, _Answer(reply=reply))
            case ev.RequestFailed(request_id=rid, code=code, message=message):
                self._resolve(rid, _Answer(refused=Refused(code, message)))
            case ev.TrustRequired(fingerprint_text=text):
                self._fail(
                    f"the server's certificate {text} is not trusted here; check it against "
                    "the fingerprint the server logs at start and pass --fingerprint "
                    f"{text} (it is then pinned)"
                )
            case ev.ConnectionEnded(reason=reason):
                self._fail(reason)

    def _fail(self, reason: str) -> None:
        error = ConnectFailed(reason)
        if not self._ready.done():
            self._ready.set_exception(error)
        for future in self._answers.values():
            if not future.done():
                future.set_exception(error)
        if self.protocol is not None:
            self.protocol.core.stop(reason)
            self.protocol.pump()

    def _resolve(self, request_id: int, answer: _Answer) -> None:
        future = self._answers.pop(request_id, None)
        if future is not None and not future.done():
            future.set_result(answer)

    def decide(self, fingerprint: bytes) -> TrustDecision:
        """The same trust rules as the desktop client (voip.client.trust_policy)."""
        assert self.protocol is not None
        peer = self.protocol.peer_certificate()
        assert peer is not None
        key = self.address.key
        pinned = self.known.pinned(key) or self.accepted
        now = dt.datetime.now(dt.UTC)
        facts = examine(peer[0], peer[1], self.address.host, None, now)
        return decide(key, self.address.host, facts, pinned, now)

    # --- requests ---------------------------------------------------------------------

    async def request(self, kind: str, message: Message) -> Message | None:
        """Send one request; its reply (None for a plain ack), or `Refused`."""
        assert self.protocol is not None
        loop = asyncio.get_running_loop()
        fields = {f.name: value for f, value in message.ListFields()}
        rid = self.protocol.core.send_request(kind, kind, loop.time(), **fields)
        future: asyncio.Future[_Answer] = loop.create_future()
        self._answers[rid] = future
        self.protocol.pump()
        try:
            answer = await asyncio.wait_for(future, REQUEST_TIMEOUT)
        except TimeoutError:
            raise ConnectFailed(
                f"the server did not answer {kind} within {REQUEST_TIMEOUT:g} s"
            ) from None
        if answer.refused is not None:
            raise answer.refused
        return answer.reply

    async def wait_ready(self) -> None:
        try:
            await asyncio.wait_for(asyncio.shield(self._ready), CONNECT_TIMEOUT)
        except TimeoutError:
            raise ConnectFailed(
                f"no answer from {self.address} within {CONNECT_TIMEOUT:g} s; "
                "is the server running there?"
            ) from None


@contextlib.asynccontextmanager
async def open_link(settings: LinkSettings) -> AsyncIterator[AdminLink]:
    """Connect, authenticate and wait for the state; ConnectFailed with a sentence if not."""
    try:
        address = parse_address(settings.server)
    except ValueError as exc:
        raise ConnectFailed(str(exc)) from None
    config_dir = settings.config_dir or default_config_dir()
    try:
        identity = load_or_create_identity(config_dir)
    except VoipError as exc:
        raise ConnectFailed(str(exc)) from None
    known = KnownServers(config_dir)
    accepted = _normalized(settings.fingerprint) if settings.fingerprint else None
    link = AdminLink(address, known, accepted)
    loop = asyncio.get_running_loop()
    core = ClientCore(
        Credentials(
            display_name=settings.name or f"voip-admin-{identity.short_id}",
            public_key=identity.public_key,
            sign=identity.sign,
            password=settings.password,
        ),
        address=address.key,
        now=loop.time(),
        timeouts=Timeouts(connect=CONNECT_TIMEOUT),
    )

    def make_protocol(*args: Any, **kwargs: Any) -> CoreProtocol:
        return CoreProtocol(*args, core=core, on_event=link.on_event, **kwargs)

    try:
        async with connect(
            address.host,
            address.port,
            configuration=client_configuration(address.host, core.timeouts.idle),
            create_protocol=make_protocol,
            wait_connected=False,
        ) as protocol:
            assert isinstance(protocol, CoreProtocol)
            link.protocol = protocol
            protocol.pump()
            try:  # the core's connect deadline closes the connection if nobody answers
                await protocol.wait_connected()
            except ConnectionError:
                reason = core.failure or f"cannot connect to {address}"
                raise ConnectFailed(reason) from None
            protocol.tls_established(link.decide)
            await link.wait_ready()
            if accepted is not None and known.pinned(address.key) is None:
                known.pin(address.key, accepted)
            try:
                yield link
            finally:
                core.stop("voip-admin is done")
                protocol.pump()
    except ConnectionError:
        raise ConnectFailed(core.failure or f"the connection to {address} failed") from None
    except OSError as exc:
        raise ConnectFailed(f"cannot reach {address}: {exc.strerror or exc}") from None
