"""The server's Pykka actors: the store, and the network with its event loop.

`StoreActor` owns the plyvel handle; the loop thread hands it changes with
`tell` and never waits on the disk. `NetworkActor` owns a thread running an
asyncio (uvloop when available) event loop with the aioquic server, the hub,
the relay and the core in it, like Mopidy's HTTP frontend owns a Tornado
thread; it stops that loop with a thread-safe call. Voice never crosses an
actor mailbox: the relay runs inside that loop.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import logging
import socket
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import pykka
from aioquic.asyncio.server import QuicServer, serve
from aioquic.quic.configuration import QuicConfiguration

from voip.errors import StorageError
from voip.protocol.handshake import ALPN
from voip.protocol.voice import MAX_VOICE_DATAGRAM
from voip.server.certs.bundle import CertificateBundle, apply_bundle
from voip.server.certs.web_cert import WebIdentity
from voip.server.core import CoreSettings, ServerCore
from voip.server.hub import Hub
from voip.server.metrics import ServerCounters
from voip.server.quic import REALTIME_CC
from voip.server.records import Snapshot, StoreChange
from voip.server.store import Store
from voip.server.webtransport import H3_ALPN

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

#: Both sides accept DATAGRAM frames up to this size (docs/PROTOCOL.md).
MAX_DATAGRAM_FRAME_SIZE = 65536
#: Room left in one QUIC packet for the header, AEAD tag and DATAGRAM framing.
#: A voice datagram larger than the packet minus this would never be sent.
QUIC_PACKET_OVERHEAD = 64
#: Receive/send buffer asked for the server's one UDP socket. The kernel default
#: (~208 KiB) holds ~50 ms of a 100-client room's packets (ACKs included): a
#: busy or descheduled loop thread then loses talkers' datagrams in the kernel,
#: each one a loss for every listener. 1 MiB is ~200 ms of that load: more
#: would only turn drops into queueing delay. Linux caps it at net.core.rmem_max.
SOCKET_BUFFER_BYTES = 1024 * 1024
#: How long shutdown waits for goodbyes to leave before stopping the loop.
SHUTDOWN_GRACE = 0.2


#: Seconds between attempts to write changes the disk refused (disk full).
STORE_RETRY_INTERVAL = 5.0


class _RetryWrites:
    """Timer message to the store actor: try the refused writes again."""


class StoreActor(pykka.ThreadingActor):
    """Owns the LevelDB handle. `tell` it `StoreChange`s; `ask` only at start.

    A write the disk refuses (ENOSPC, I/O error) does not stop the server: the
    core keeps the state in memory, and the change stays queued here, in
    order, behind which later changes wait. Every `retry_interval` seconds the
    queue is tried again; once it is written, the store is checkpointed (see
    `Store.checkpoint`) so a torn log record cannot take later writes with it.
    If the checkpoint fails, the handle is reopened and everything written
    since the outage began is written again (changes are whole records, so
    replaying them in order is harmless).
    """

    def __init__(self, store: Store, retry_interval: float | None = None) -> None:
        super().__init__()
        self._store = store
        self._retry_interval = STORE_RETRY_INTERVAL if retry_interval is None else retry_interval
        self.failed_writes = 0
        self._pending: collections.deque[StoreChange] = collections.deque()
        self._since_outage: list[StoreChange] = []  # written during an outage, not checkpointed
        self._outage = False
        self._timer: threading.Timer | None = None

    def ping(self) -> bool:
        """Answered once the actor runs: start order waits on it."""
        return True

    def load(self, root_name: str) -> Snapshot:
        return self._store.load(root_name)

    def pending_writes(self) -> int:
        """Changes kept in memory because the disk refused them (tests, diagnostics)."""
        return len(self._pending)

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, StoreChange):
            self._pending.append(message)
            if not self._outage:
                self._write_pending()
            return None
        if isinstance(message, _RetryWrites):
            self._timer = None
            self._retry()
            return None
        return super().on_receive(message)

    def _write_pending(self) -> bool:
        """Write the queue in order; False (retry scheduled) if the disk refuses."""
        while self._pending:
            change = self._pending[0]
            try:
                self._store.write(change)
            except StorageError as exc:
                self.failed_writes += 1
                if not self._outage:
                    self._outage = True
                    logger.error(
                        "%s. The server keeps serving from memory and retries every %g s; "
                        "free some space on the disk of %s",
                        exc,
                        self._retry_interval,
                        self._store.path,
                    )
                else:
                    logger.debug("database write still failing: %s", exc)
                self._schedule_retry()
                return False
            self._pending.popleft()
            if self._outage:
                self._since_outage.append(change)
            logger.debug("stored: %s", change.reason)
        if self._outage:
            try:
                self._store.checkpoint()
            except StorageError as exc:
                logger.warning("%s; reopening the database on the next retry", exc)
                self._store.close()
                self._schedule_retry()
                return False
            logger.info(
                "the database %s is writable again: %d changes kept in memory are stored",
                self._store.path,
                len(self._since_outage),
            )
            self._outage = False
            self._since_outage.clear()
        return True

    def _retry(self) -> None:
        if self._store.closed:
            try:
                self._store.reopen()
            except StorageError as exc:
                logger.debug("%s", exc)
                self._schedule_retry()
                return
            # What was written since the outage began may sit behind a torn log record.
            self._pending.extendleft(reversed(self._since_outage))
            self._since_outage.clear()
        self._write_pending()

    def _schedule_retry(self) -> None:
        if self._timer is not None or self._retry_interval <= 0:
            return
        ref = self.actor_ref

        def tell() -> None:
            with contextlib.suppress(pykka.ActorDeadError):
                ref.tell(_RetryWrites())

        self._timer = threading.Timer(self._retry_interval, tell)
        self._timer.daemon = True
        self._timer.start()

    def on_stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._outage:
            self._retry()  # one last try
        if self._pending:
            logger.error(
                "%d changes could not be written to the database %s and are lost "
                "(last: %s); the disk is still refusing writes",
                len(self._pending),
                self._store.path,
                self._pending[-1].reason,
            )
        self._store.close()
        logger.info("database %s closed", self._store.path)

    def on_failure(self, *args: Any) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._store.close()


@dataclass(frozen=True)
class NetworkSettings:
    host: str
    port: int
    bundle: CertificateBundle
    core: CoreSettings
    # seconds; 0 = once per loop iteration. 20 ms = one packet per listener per
    # voice frame (benchmarks/README.md, relay): adds 0-20 ms of delay, halves CPU.
    flush_interval: float = 0.020
    ack_delay: float | None = 0.02  # seconds; None = aioquic's default (1 ms)
    use_uvloop: bool = True
    idle_timeout: float = 15.0  # seconds; see IDLE_TIMEOUT in app.py
    # Browsers (HTTP/3 + WebTransport, ALPN h3) on the same port; webtransport.py.
    web: bool = True
    # Served to browsers instead of `bundle` (a self-signed server); web_cert.py.
    web_identity: WebIdentity | None = None


def new_event_loop(use_uvloop: bool = True) -> asyncio.AbstractEventLoop:
    if use_uvloop:
        try:
            import uvloop
        except ImportError:
            logger.info("uvloop is not installed; using the default asyncio loop")
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def _grow_buffers(sock: Any) -> None:
    for option, name in ((socket.SO_RCVBUF, "receive"), (socket.SO_SNDBUF, "send")):
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, SOCKET_BUFFER_BYTES)
            size = sock.getsockopt(socket.SOL_SOCKET, option)
        except (OSError, AttributeError) as exc:
            logger.warning("could not enlarge the UDP %s buffer: %s", name, exc)
        else:
            logger.debug("UDP %s buffer: %d bytes", name, size)


class NetworkActor(pykka.ThreadingActor):
    """Owns the event-loop thread with the QUIC server, the hub and the core."""

    def __init__(
        self,
        settings: NetworkSettings,
        snapshot: Snapshot,
        store: pykka.ActorRef[Any],
        seeder: pykka.ActorRef[Any] | None = None,
    ) -> None:
        super().__init__()
        self._seeder = seeder
        self._settings = settings
        self._snapshot = snapshot
        self._store = store
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: QuicServer | None = None
        self._config: QuicConfiguration | None = None
        self.hub: Hub | None = None

    # --- called through the proxy (actor thread) -------------------------------------

    def ping(self) -> bool:
        return True

    def listen(self) -> tuple[str, int]:
        """Start the loop thread and bind; return the bound (host, port) or raise."""
        s = self._settings
        loop = new_event_loop(s.use_uvloop)
        self._loop = loop
        ready: concurrent.futures.Future[tuple[str, int]] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=self._run_loop, args=(loop, ready), name="voip-server-loop", daemon=True
        )
        self._thread.start()
        try:
            return ready.result()
        except BaseException:
            self._thread.join()
            self._loop = None
            raise

    def stats(self) -> dict[str, int]:
        return self._in_loop(self._stats)

    def metrics(self) -> ServerCounters:
        async def copy() -> ServerCounters:
            assert self.hub is not None
            return self.hub.metrics()

        return self._in_loop(copy)

    def set_certificate(self, bundle: CertificateBundle) -> None:
        """Serve `bundle` to connections made from now on (existing ones keep theirs)."""

        async def swap() -> None:
            assert self._config is not None
            apply_bundle(self._config, bundle)

        self._in_loop(swap)

    def set_web(
        self, identity: WebIdentity | None, hashes: tuple[bytes, ...], page: str
    ) -> None:
        """Serve `identity` to browser connections made from now on; tell clients the rest."""

        async def swap() -> None:
            assert self.hub is not None
            self.hub.web_identity = identity
            self.hub.core.set_web_join(hashes, page)

        self._in_loop(swap)

    def on_stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            counters = self._in_loop(self._shutdown, timeout=10.0)
            logger.info("relay counters at shutdown: %s", counters)
            if self.hub is not None:
                logger.info("server summary: %s", self.hub.metrics().summary())
        except (RuntimeError, concurrent.futures.TimeoutError) as exc:
            logger.warning("graceful shutdown failed (%s); stopping the loop anyway", exc)
        if loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10.0)
        self._loop = None

    # --- the loop thread -------------------------------------------------------------------

    def _run_loop(
        self, loop: asyncio.AbstractEventLoop, ready: concurrent.futures.Future[tuple[str, int]]
    ) -> None:
        asyncio.set_event_loop(loop)
        try:
            address = loop.run_until_complete(self._start())
        except BaseException as exc:
            ready.set_exception(exc)
            loop.close()
            return
        ready.set_result(address)
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _start(self) -> tuple[str, int]:
        s = self._settings
        config = QuicConfiguration(
            is_client=False,
            alpn_protocols=[ALPN, H3_ALPN] if s.web else [ALPN],
            max_datagram_frame_size=MAX_DATAGRAM_FRAME_SIZE,
            idle_timeout=s.idle_timeout,
            # Fixed window, no back-off on loss: voice is fixed-rate (see quic.py).
            congestion_control_algorithm=REALTIME_CC,
        )
        apply_bundle(config, s.bundle)
        max_datagram = min(MAX_VOICE_DATAGRAM, config.max_datagram_size - QUIC_PACKET_OVERHEAD)
        core_settings = s.core
        if core_settings.max_datagram_size > max_datagram:
            from dataclasses import replace

            core_settings = replace(core_settings, max_datagram_size=max_datagram)
        core = ServerCore(core_settings, self._snapshot)
        self.hub = Hub(
            core,
            persist=self._store.tell,
            max_datagram=max_datagram,
            flush_interval=s.flush_interval,
            ack_delay=s.ack_delay,
            seed=self._seeder.proxy().apply.defer if self._seeder is not None else None,
        )
        if self._seeder is not None:
            hub, loop = self.hub, asyncio.get_running_loop()

            def failed(info_hash: bytes, message: str) -> None:  # seeder thread -> loop
                loop.call_soon_threadsafe(hub.seed_failed, info_hash, message)

            self._seeder.proxy().set_failure_sink(failed).get()
            for seed in core.seeds_at_start():
                self._seeder.proxy().apply.defer(seed)
        self.hub.web_identity = s.web_identity
        self._config = config
        self._server = await serve(
            s.host, s.port, configuration=config, create_protocol=self.hub.create_protocol
        )
        transport = self._server._transport
        assert transport is not None
        _grow_buffers(transport.get_extra_info("socket"))
        sockname = transport.get_extra_info("sockname")
        return str(sockname[0]), int(sockname[1])

    async def _stats(self) -> dict[str, int]:
        assert self.hub is not None
        return self.hub.stats()

    async def _shutdown(self) -> dict[str, int]:
        assert self.hub is not None and self._server is not None
        hub = self.hub
        hub.shutdown()
        # Let the goodbyes and CONNECTION_CLOSE frames leave the socket.
        await asyncio.sleep(SHUTDOWN_GRACE)
        self._server.close()
        return hub.stats()

    def _in_loop(
        self, fn: Callable[[], Coroutine[Any, Any, _T]], timeout: float | None = 10.0
    ) -> _T:
        loop = self._loop
        if loop is None:
            raise RuntimeError("the server loop is not running")
        return asyncio.run_coroutine_threadsafe(fn(), loop).result(timeout)
