"""The connection actor: owns a thread running an asyncio loop, and the QUIC connection in it.

Following Mopidy's HTTP frontend actor, the actor's own thread only forwards
its messages into the loop (`call_soon_threadsafe`), where `ConnectionClient`
does the work; stopping the actor ends the session and stops the loop from
`on_stop`. Results leave the loop only as tells (`ActorListener`), and
incoming voice goes straight from the loop to the audio side's inbox.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pykka

from voip.audio.protection import LossMeter
from voip.client import commands as c
from voip.client.connection_events import (
    ConnectionEvent,
    SessionClosed,
    SessionLost,
    SessionWelcomed,
)
from voip.client.core.events import CoreEvent, StateUpdated
from voip.client.listeners import ConfigListener, StateListener, VoicePathListener
from voip.client.session import ConnectionClient, Timeouts
from voip.client.trust import KnownServers
from voip.identity import Identity, load_or_create_identity
from voip.proto import voip_pb2
from voip.protocol.voice import VoiceFrame

log = logging.getLogger(__name__)


class ActorListener:
    """`SessionListener` that turns session results into tells (thread-safe)."""

    def __init__(
        self,
        state: StateListener,
        audio: VoicePathListener,
        config: ConfigListener,
        sharing: Any = None,
    ) -> None:
        self._state = state
        self._audio = audio
        self._config = config
        self._sharing = sharing

    def connection(self, event: ConnectionEvent) -> None:
        self._state.connection_event(event)
        if self._sharing is not None:
            if isinstance(event, SessionWelcomed):
                self._sharing.connected.defer(event.server_addr)
            elif isinstance(event, SessionLost | SessionClosed):
                self._sharing.disconnected.defer()

    def peer_list(self, peers: voip_pb2.PeerList) -> None:
        if self._sharing is not None:
            self._sharing.peer_list.defer(peers)

    def server_event(self, event: CoreEvent) -> None:
        self._state.server_event(event)
        if isinstance(event, StateUpdated) and event.update.WhichOneof("change") == "user_left":
            self._audio.user_left(event.update.user_left.user_id)

    def error(self, code: str, message: str, command: str) -> None:
        self._state.report_error(code, message, command)

    def voice_path(self, sender: Callable[[bytes], None] | None, user_id: int | None) -> None:
        self._audio.set_voice_sender(sender)
        self._audio.set_session(user_id)

    def loss_feedback(self, reporter_id: int, frames: int, lost: int) -> None:
        self._audio.loss_feedback(reporter_id, frames, lost)

    def remember(self, last_server: str, display_name: str) -> None:
        self._config.update(last_server=last_server, display_name=display_name)


class ConnectionActor(pykka.ThreadingActor):
    def __init__(
        self,
        *,
        config_dir: Path,
        state: StateListener,
        audio: VoicePathListener,
        config: ConfigListener,
        voice_sink: Callable[[VoiceFrame], None],
        timeouts: Timeouts,
        loss_meter: LossMeter | None = None,
        sharing: Any = None,
    ) -> None:
        super().__init__()
        self._loss_meter = loss_meter
        self._config_dir = config_dir
        self._state = state
        self._listener = ActorListener(state, audio, config, sharing)
        self._voice_sink = voice_sink
        self._timeouts = timeouts
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._client: ConnectionClient | None = None
        self._identity: Identity | None = None

    # --- lifecycle ------------------------------------------------------------------

    def on_start(self) -> None:
        known = KnownServers(self._config_dir)  # reread on each Connect
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._client = ConnectionClient(
            loop, self._listener, self._load_identity, known, self._voice_sink, self._timeouts,
            loss_meter=self._loss_meter,
        )
        self._thread = threading.Thread(
            target=self._run_loop, args=(loop,), name="voip-connection-loop", daemon=True
        )
        self._thread.start()

    def _run_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            loop.close()

    def on_stop(self) -> None:
        loop, client, thread = self._loop, self._client, self._thread
        if loop is None or client is None or thread is None:
            return
        try:
            future = asyncio.run_coroutine_threadsafe(client.shutdown(), loop)
            future.result(timeout=10)
        except Exception:
            log.warning("connection did not close cleanly on shutdown", exc_info=True)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        if thread.is_alive():
            log.warning("the connection loop thread did not stop within 10 s")

    def on_failure(self, *args: Any) -> None:
        self.on_stop()

    def ready(self) -> bool:
        return True

    def _load_identity(self) -> Identity:
        # Called in the loop thread; cached after the first success.
        if self._identity is None:
            self._identity = load_or_create_identity(self._config_dir)
        return self._identity

    def _call(self, fn: Callable[..., None], *args: Any) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(fn, *args)

    # --- messages (all tells) ------------------------------------------------------------

    def connect(self, command: c.Connect) -> None:
        assert self._client is not None
        self._call(self._client.connect, command)

    def disconnect(self) -> None:
        assert self._client is not None
        self._call(self._client.disconnect)

    def accept_certificate(self) -> None:
        assert self._client is not None
        self._call(self._client.accept_certificate)

    def reject_certificate(self) -> None:
        assert self._client is not None
        self._call(self._client.reject_certificate)

    def request(self, command: c.ServerCommand | c.RequestResync) -> None:
        assert self._client is not None
        self._call(self._client.request, command)

    def resync(self) -> None:
        assert self._client is not None
        self._call(self._client.resync)
