"""Starting and stopping a whole server in-process: store, actors, network.

`start_server` is what the CLI runs and what tests and benchmarks use: it
opens the database, chooses the certificate, starts the actors in order
(store, then network), waits until each answers, then starts the ACME
manager (if any) once the server listens, and returns a `RunningServer` with
the bound port and the certificate fingerprint. `RunningServer.stop` (or
leaving its `with` block) stops them in reverse: ACME first (so nothing is
installed into a stopping server), goodbyes to clients, then the database is
flushed and closed.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any

import pykka

from voip.server.actors import NetworkActor, NetworkSettings, StoreActor
from voip.server.certs.acme import AcmeCertificateManager
from voip.server.certs.bundle import CertificateBundle
from voip.server.certs.source import CertificateSettings, resolve_certificate
from voip.server.certs.web_cert import WebIdentity
from voip.server.core import DEFAULT_MAX_CHAT_LENGTH, CoreSettings
from voip.server.history import HistorySettings
from voip.server.limits import Limits
from voip.server.metrics import MetricsServer, ServerCounters
from voip.server.seeder import SeedActor
from voip.server.sharing import SharingSettings
from voip.server.store import Store
from voip.server.web_frontend import WebFrontend, WebSettings

logger = logging.getLogger(__name__)

START_TIMEOUT = 30.0
#: QUIC idle timeout we advertise (docs/PROTOCOL.md, Transport): a client that
#: vanished is dropped after this long, and clients keep alive well within it.
IDLE_TIMEOUT = 15.0


@dataclass(frozen=True)
class ServerOptions:
    """Everything a server needs: paths known, the certificate chosen or given."""

    data_dir: Path
    #: Where the certificate comes from (files, ACME, self-signed in the data dir).
    certificates: CertificateSettings = field(default_factory=CertificateSettings)
    #: A ready certificate (tests, benchmarks): served as is, ``certificates`` unused.
    bundle: CertificateBundle | None = None
    host: str = "127.0.0.1"
    port: int = 0
    name: str = "Lobby"
    password: str = ""
    motd: str = ""
    max_chat_length: int = DEFAULT_MAX_CHAT_LENGTH
    history: HistorySettings = field(default_factory=HistorySettings)
    sharing: SharingSettings = field(default_factory=SharingSettings)
    flush_interval: float = 0.020  # seconds; see NetworkSettings
    ack_delay: float | None = 0.02
    use_uvloop: bool = True
    idle_timeout: float = IDLE_TIMEOUT
    #: Browsers over HTTP/3 + WebTransport on the same port (docs/WEB.md).
    web: bool = True
    #: (host, port) of the page's HTTP(S) listener; None: the page is not served.
    web_page: tuple[str, int] | None = None
    #: (host, port) written in join links; None: the bound address.
    public_address: tuple[str, int] | None = None
    limits: Limits = field(default_factory=Limits)
    metrics_port: int | None = None  # Prometheus metrics on metrics_host:PORT; None: off
    metrics_host: str = "127.0.0.1"


class RunningServer:
    """Handle on a started server. Thread-safe; stop it exactly once (idempotent)."""

    def __init__(
        self,
        options: ServerOptions,
        bundle: CertificateBundle,
        store: pykka.ActorRef[Any],
        network: pykka.ActorRef[Any],
        host: str,
        port: int,
        admin_token: str = "",
        seeder: pykka.ActorRef[Any] | None = None,
    ) -> None:
        self.options = options
        #: The first-admin token as it was at start ("" if someone is admin).
        self.admin_token = admin_token
        self.host = host
        self.port = port
        self._store = store
        self._network = network
        self._seeder = seeder
        #: The seed store's BitTorrent port (0: the server does not seed).
        self.seed_port = options.sharing.seed_port
        self._fingerprint = bundle.fingerprint
        self._bundle = bundle
        self._stopped = False
        #: Renews the certificate when it came from ACME; started by `start_server`.
        self.acme: AcmeCertificateManager | None = None
        #: Browsers' certificate, page and join link; None with ``web=False``.
        self.web: WebFrontend | None = None
        #: The Prometheus endpoint, when `metrics_port` is set; started by `start_server`.
        self.metrics_server: MetricsServer | None = None

    @property
    def fingerprint(self) -> bytes:
        """SHA-256 of the certificate served to new connections (32 raw bytes)."""
        return self._fingerprint

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    def stats(self) -> dict[str, int]:
        """Relay counters: received, relayed, sent, dropped_*, flushes, connections."""
        result: dict[str, int] = self._network.proxy().stats().get(timeout=10)
        return result

    def certificate_status(self, now: dt.datetime | None = None) -> dict[str, float]:
        """Gauges for monitoring the certificate: alert on a short expiry or failing renewals.

        ``certificate_expires_in_seconds`` (negative once expired),
        ``certificate_self_signed`` (1/0); with ACME also
        ``acme_next_renewal_in_seconds``, ``acme_consecutive_failures``,
        ``acme_orders_failed``, ``acme_urgent_failures`` (failed while near
        expiry) and ``acme_expired_fallbacks``.
        """
        now = now or dt.datetime.now(dt.UTC)
        bundle = self._bundle
        status: dict[str, float] = {
            "certificate_expires_in_seconds": (bundle.not_after - now).total_seconds(),
            "certificate_self_signed": float(bundle.is_self_signed),
        }
        acme = self.acme
        if acme is not None:
            counters = acme.counters
            due = acme.next_renewal
            status.update(
                acme_next_renewal_in_seconds=(due - now).total_seconds() if due else -1.0,
                acme_consecutive_failures=counters.consecutive_failures,
                acme_orders_failed=counters.orders_failed,
                acme_urgent_failures=counters.urgent_failures,
                acme_expired_fallbacks=counters.expired_fallbacks,
            )
        return status

    def metrics(self) -> ServerCounters:
        """A copy of the operator counters (docs/SERVER.md, "Metrics")."""
        result: ServerCounters = self._network.proxy().metrics().get(timeout=10)
        return result

    def set_certificate(self, bundle: CertificateBundle) -> None:
        """Hot-swap the certificate for new connections (any thread; existing ones keep theirs)."""
        self._network.proxy().set_certificate(bundle).get(timeout=10)
        self._fingerprint = bundle.fingerprint
        self._bundle = bundle
        logger.info(
            "installed certificate fingerprint %s (%s, valid until %s) for new connections",
            bundle.fingerprint_text,
            bundle.source,
            bundle.not_after.isoformat(),
        )

    def set_web(self, identity: WebIdentity | None, hashes: tuple[bytes, ...], page: str) -> None:
        """Serve another certificate to browsers from now on, and tell clients in Welcome."""
        self._network.proxy().set_web(identity, hashes, page).get(timeout=10)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        try:
            if self.web is not None:
                self.web.stop()
            if self.metrics_server is not None:
                self.metrics_server.stop()
            if self.acme is not None:
                self.acme.stop()  # first: no certificate is installed into a stopping server
        finally:
            try:
                self._network.stop(timeout=30)
            finally:
                try:
                    if self._seeder is not None:
                        self._seeder.stop(timeout=30)
                finally:
                    self._store.stop(timeout=30)  # after the queued writes: flushes them
        logger.info("server stopped")

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class _Installer:
    """The ACME manager's callback: hands new certificates to the running server.

    The manager exists before the server does (it picks the first
    certificate); it is started only once the server is attached.
    """

    def __init__(self) -> None:
        self.server: RunningServer | None = None

    def __call__(self, bundle: CertificateBundle) -> None:
        if self.server is None:
            raise RuntimeError("no running server to install the certificate in")
        self.server.set_certificate(bundle)  # thread-safe: an actor message into the loop


def start_server(options: ServerOptions) -> RunningServer:
    """Open the store, choose the certificate, start the actors, bind, start ACME.

    Raises StorageError, CertificateError, ConfigError or OSError with a clear
    sentence; whatever was started is stopped again first.
    """
    store = Store.open(options.data_dir)  # StorageError: locked, damaged, too new
    store_ref: pykka.ActorRef[Any] | None = None
    network_ref: pykka.ActorRef[Any] | None = None
    seed_ref: pykka.ActorRef[Any] | None = None
    installer = _Installer()
    try:
        bundle, acme = _choose_certificate(options, installer)
        web = _web_frontend(options, bundle) if options.web else None
        store_ref = StoreActor.start(store)
        store_ref.proxy().ping().get(timeout=START_TIMEOUT)
        snapshot = store_ref.proxy().load(options.name).get(timeout=START_TIMEOUT)
        sharing = options.sharing
        if sharing.seed and sharing.max_file_bytes > 0:
            seed_ref = SeedActor.start(options.data_dir, options.host)
            seed_port = seed_ref.proxy().port().get(timeout=START_TIMEOUT)
            sharing = replace(sharing, seed_port=seed_port)
            options = replace(options, sharing=sharing)
        settings = NetworkSettings(
            host=options.host,
            port=options.port,
            bundle=bundle,
            core=CoreSettings(
                server_name=options.name,
                password=options.password,
                max_chat_length=options.max_chat_length,
                motd=options.motd,
                history=options.history,
                limits=options.limits,
                sharing=sharing,
            ),
            flush_interval=options.flush_interval,
            ack_delay=options.ack_delay,
            use_uvloop=options.use_uvloop,
            idle_timeout=options.idle_timeout,
            web=options.web,
            web_identity=web.prepare() if web is not None else None,
        )
        network_ref = NetworkActor.start(settings, snapshot, store_ref, seed_ref)
        network_ref.proxy().ping().get(timeout=START_TIMEOUT)
        host, port = network_ref.proxy().listen().get(timeout=START_TIMEOUT)
    except BaseException:
        if network_ref is not None:
            network_ref.stop(timeout=30)
        if seed_ref is not None:
            seed_ref.stop(timeout=30)
        if store_ref is not None:
            store_ref.stop(timeout=30)
        else:
            store.close()
        raise
    server = RunningServer(
        options, bundle, store_ref, network_ref, host, port, snapshot.admin_token, seed_ref
    )
    if options.metrics_port is not None:
        try:
            server.metrics_server = MetricsServer(
                options.metrics_host,
                options.metrics_port,
                server.metrics,
                server.certificate_status,
            )
        except OSError as exc:
            server.stop()
            where = format_address(options.metrics_host, options.metrics_port)
            raise OSError(f"cannot serve metrics on {where}: {exc}; choose another port") from exc
    logger.info("listening on %s", format_address(host, port))
    logger.info("certificate fingerprint %s", bundle.fingerprint_text)
    if snapshot.admin_token:
        logger.info(
            "nobody is admin on this server yet: the first user to redeem this one-time admin "
            "token becomes admin (voip-bot --redeem-admin-token, or the client's menu): %s",
            snapshot.admin_token,
        )
    if web is not None:
        if options.public_address is None:
            web.settings = replace(web.settings, public_port=port)
        try:
            web.start(server)
        except BaseException:
            server.stop()
            raise
        server.web = web
    if acme is not None:
        installer.server = server
        server.acme = acme
        acme.start()  # orders/renews in the background; the server is already serving
    return server


def _choose_certificate(
    options: ServerOptions, installer: _Installer
) -> tuple[CertificateBundle, AcmeCertificateManager | None]:
    if options.bundle is not None:
        return options.bundle, None
    return resolve_certificate(options.data_dir, options.certificates, on_new_certificate=installer)


def _web_frontend(options: ServerOptions, bundle: CertificateBundle) -> WebFrontend:
    hostnames = options.certificates.hostnames
    if options.public_address is not None:
        public_host, public_port = options.public_address
    else:
        wildcard = options.host in ("0.0.0.0", "::", "")
        public_host, public_port = (hostnames[0] if wildcard else options.host), options.port
    settings = WebSettings(options.data_dir, hostnames, public_host, public_port, options.web_page)
    return WebFrontend(settings, bundle)


def format_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
