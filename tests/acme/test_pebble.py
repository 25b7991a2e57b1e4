"""ACME against a real pebble on loopback: issue, verify over QUIC, reuse, renew, refuse."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import stat
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from voip.protocol.fingerprint import certificate_fingerprint
from voip.server.certs import CertificateBundle, apply_bundle
from voip.server.certs.acme import AcmeCertificateManager
from voip.server.certs.acme_settings import AcmeSettings, Backoff
from voip.server.certs.source import CertificateSettings, resolve_certificate

pytestmark = pytest.mark.acme

DOMAIN = "voice.voip.test"
FAST_BACKOFF = Backoff(
    initial=dt.timedelta(milliseconds=50), maximum=dt.timedelta(milliseconds=200)
)


def settings_for(pebble: Any, **overrides: Any) -> AcmeSettings:
    values: dict[str, Any] = {
        "domain": DOMAIN,
        "email": "ops@voip.test",
        "directory_url": pebble.directory_url,
        "http_port": pebble.http_port,
        "tls_alpn_port": pebble.tls_port,
        "ca_bundle": pebble.tls_ca,
        "bind_host": "127.0.0.1",
    }
    values.update(overrides)
    return AcmeSettings(**values)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class Received:
    """Collects on_new_certificate calls from the manager's thread."""

    def __init__(self) -> None:
        self.bundles: list[CertificateBundle] = []
        self._lock = threading.Lock()

    def __call__(self, bundle: CertificateBundle) -> None:
        with self._lock:
            self.bundles.append(bundle)

    def count(self) -> int:
        with self._lock:
            return len(self.bundles)


@pytest.fixture
def managers() -> Iterator[list[AcmeCertificateManager]]:
    """Every manager a test starts is stopped, even when the test fails."""
    started: list[AcmeCertificateManager] = []
    yield started
    for manager in started:
        manager.stop()
    assert not any(m.running for m in started), "stop() did not end the ACME thread"


def verified_handshake(quic_probe: ModuleType, bundle: CertificateBundle, root_pem: bytes) -> bytes:
    """Serve ``bundle`` over aioquic; a client that verifies against ``root_pem`` connects."""

    async def scenario() -> bytes:
        configuration = quic_probe.server_configuration()
        apply_bundle(configuration, bundle)
        async with quic_probe.running_server(configuration) as port:
            client = quic_probe.client_configuration(DOMAIN, cadata=root_pem)
            peer = await quic_probe.handshake_once(port, client)
            return certificate_fingerprint(peer.public_bytes(serialization.Encoding.DER))

    return asyncio.run(asyncio.wait_for(scenario(), 30))


@pytest.mark.parametrize("challenge", ["http-01", "tls-alpn-01"])
def test_first_order_and_verified_quic_handshake(
    pebble: Any,
    quic_probe: ModuleType,
    tmp_path: Path,
    managers: list[AcmeCertificateManager],
    challenge: str,
) -> None:
    received = Received()
    manager = AcmeCertificateManager(
        settings_for(pebble, challenge=challenge), tmp_path, received, backoff=FAST_BACKOFF
    )
    managers.append(manager)
    assert manager.current() is None
    manager.start()
    wait_for(lambda: received.count() == 1, "the first certificate")
    bundle = received.bundles[0]
    assert bundle.source == "acme"
    assert not bundle.is_self_signed
    assert manager.current() == bundle
    assert manager.counters.orders_succeeded == 1
    for name in ("account.key", "cert.key"):
        mode = stat.S_IMODE((tmp_path / "acme" / name).stat().st_mode)
        assert mode == 0o600, name
    # No pinning: the client only trusts pebble's root and checks the name.
    assert verified_handshake(quic_probe, bundle, pebble.issuing_root_pem) == bundle.fingerprint


def test_client_without_the_root_refuses(
    pebble: Any, quic_probe: ModuleType, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Guards the test above: verification is really on."""
    manager = AcmeCertificateManager(settings_for(pebble), tmp_path, Received())
    bundle = manager.obtain()
    other_root = quic_probe_self_signed_root(tmp_path)
    with pytest.raises(ConnectionError):
        verified_handshake(quic_probe, bundle, other_root)
    assert "unable to get local issuer certificate" in caplog.text


def quic_probe_self_signed_root(tmp_path: Path) -> bytes:
    from voip.server.certs import load_or_create_self_signed

    return load_or_create_self_signed(tmp_path / "unrelated", ["ca.test"]).cert_chain_pem


def test_restart_reuses_the_stored_certificate(
    pebble: Any, tmp_path: Path, managers: list[AcmeCertificateManager]
) -> None:
    first = AcmeCertificateManager(settings_for(pebble), tmp_path, Received())
    issued = first.obtain()

    received = Received()
    bundle, manager = resolve_certificate(
        tmp_path, CertificateSettings(acme=settings_for(pebble)), on_new_certificate=received
    )
    assert manager is not None
    managers.append(manager)
    assert bundle == issued
    manager.start()
    wait_for(lambda: manager.counters.checks >= 1, "the manager's first check")
    assert manager.counters.orders_started == 0
    assert received.count() == 0
    assert manager.current() == issued


def test_renewal_replaces_a_stored_certificate_when_it_is_due(
    short_pebble: Any,
    quic_probe: ModuleType,
    tmp_path: Path,
    managers: list[AcmeCertificateManager],
) -> None:
    old = AcmeCertificateManager(settings_for(short_pebble), tmp_path, Received()).obtain()

    # A 300 s certificate with a 295 s margin is due 5 s after it was issued.
    received = Received()
    soon = settings_for(short_pebble, renew_before=dt.timedelta(seconds=295))
    bundle, manager = resolve_certificate(
        tmp_path, CertificateSettings(acme=soon), on_new_certificate=received
    )
    assert manager is not None
    managers.append(manager)
    assert bundle == old  # served while the renewal waits and runs
    manager.start()
    wait_for(lambda: received.count() == 1, "the renewed certificate")
    new = received.bundles[0]
    assert new.fingerprint != old.fingerprint
    assert manager.current() == new
    assert manager.next_renewal == new.not_after - dt.timedelta(seconds=295)
    # The renewal is on disk: the next start serves it.
    restarted = AcmeCertificateManager(settings_for(short_pebble), tmp_path, Received())
    assert restarted.current() == new
    assert verified_handshake(quic_probe, new, short_pebble.issuing_root_pem) == new.fingerprint


def test_hot_swap_from_self_signed_to_acme_without_restart(
    pebble: Any,
    quic_probe: ModuleType,
    tmp_path: Path,
    managers: list[AcmeCertificateManager],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The server's wiring: fallback first, then ACME's certificate for new connections."""

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        configuration = quic_probe.server_configuration()
        installed = asyncio.Event()

        def on_new(bundle: CertificateBundle) -> None:  # runs on the ACME thread
            def install() -> None:
                apply_bundle(configuration, bundle)
                installed.set()

            loop.call_soon_threadsafe(install)

        with caplog.at_level(logging.WARNING, logger="voip.server.certs"):
            first, manager = resolve_certificate(
                tmp_path, CertificateSettings(acme=settings_for(pebble)), on_new_certificate=on_new
            )
        assert manager is not None
        managers.append(manager)
        assert first.is_self_signed
        assert "SELF-SIGNED" in caplog.text
        apply_bundle(configuration, first)
        async with quic_probe.running_server(configuration) as port:
            pinned = quic_probe.client_configuration(DOMAIN, verify=False)
            peer = await quic_probe.handshake_once(port, pinned)
            assert _fp(peer) == first.fingerprint
            manager.start()
            await asyncio.wait_for(installed.wait(), 60)
            acme_bundle = manager.current()
            assert acme_bundle is not None
            verifying = quic_probe.client_configuration(DOMAIN, cadata=pebble.issuing_root_pem)
            peer = await quic_probe.handshake_once(port, verifying)
            assert _fp(peer) == acme_bundle.fingerprint

    asyncio.run(asyncio.wait_for(scenario(), 90))


def _fp(certificate: Any) -> bytes:
    return certificate_fingerprint(certificate.public_bytes(serialization.Encoding.DER))


def test_refused_validation_is_logged_with_the_ca_text_and_retried(
    pebble: Any,
    tmp_path: Path,
    managers: list[AcmeCertificateManager],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Our responder listens on a port pebble does not probe: the CA's validation fails.
    wrong_port = pebble.http_port + 1 if pebble.http_port < 65535 else pebble.http_port - 1
    received = Received()
    settings = settings_for(pebble, http_port=wrong_port)
    with caplog.at_level(logging.WARNING, logger="voip.server.certs"):
        fallback, manager = resolve_certificate(
            tmp_path,
            CertificateSettings(acme=settings),
            on_new_certificate=received,
            backoff=FAST_BACKOFF,
        )
        assert manager is not None
        managers.append(manager)
        manager.start()
        wait_for(lambda: manager.counters.orders_failed >= 2, "two failed orders")
    assert manager.running
    assert received.count() == 0
    assert manager.current() is None
    assert fallback.is_self_signed  # what the server keeps serving
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert failures
    message = failures[0].getMessage()
    assert DOMAIN in message
    assert "validation failed" in message
    # The CA's own problem document: its type URN and its detail text.
    assert "urn:ietf:params:acme:error:" in message
    assert str(pebble.http_port) in message or "connect" in message.lower()
    assert manager.counters.last_error is not None


def test_unreachable_or_broken_directory_is_logged_and_retried(
    pebble: Any,
    tmp_path: Path,
    managers: list[AcmeCertificateManager],
    caplog: pytest.LogCaptureFixture,
) -> None:
    received = Received()
    broken = settings_for(pebble, directory_url=pebble.directory_url + "-missing")
    manager = AcmeCertificateManager(broken, tmp_path, received, backoff=FAST_BACKOFF)
    managers.append(manager)
    with caplog.at_level(logging.ERROR, logger="voip.server.certs"):
        manager.start()
        wait_for(lambda: manager.counters.orders_failed >= 2, "two failed orders")
    assert manager.running
    assert received.count() == 0
    message = next(r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)
    assert broken.directory_url in message
    assert "HTTP 404" in message


def test_stop_interrupts_the_back_off_wait(
    pebble: Any, tmp_path: Path, managers: list[AcmeCertificateManager]
) -> None:
    broken = settings_for(pebble, directory_url=pebble.directory_url + "-missing")
    manager = AcmeCertificateManager(broken, tmp_path, Received())  # default 1 min .. 6 h
    managers.append(manager)
    manager.start()
    wait_for(lambda: manager.counters.orders_failed >= 1, "the first failure")
    manager.stop()
    assert not manager.running


def test_start_server_runs_the_acme_manager_inside_its_start_and_stop(
    pebble: Any, tmp_path: Path
) -> None:
    """The embedded server chooses its certificate, starts ACME once listening, stops it first."""
    from voip.server.app import ServerOptions, start_server

    options = ServerOptions(
        data_dir=tmp_path,
        certificates=CertificateSettings(acme=settings_for(pebble)),
        use_uvloop=False,
        metrics_port=0,
    )
    server = start_server(options)
    try:
        fallback = server.fingerprint
        assert server.acme is not None and server.acme.running
        wait_for(lambda: server.fingerprint != fallback, "the ACME certificate installed")
        issued = server.acme.current()
        assert issued is not None and server.fingerprint == issued.fingerprint
        wait_for(lambda: server.acme is not None and server.acme.next_renewal is not None, "plan")
        status = server.certificate_status()
        assert status["certificate_self_signed"] == 0
        assert 0 < status["certificate_expires_in_seconds"] <= 5 * 366 * 86400
        assert 0 < status["acme_next_renewal_in_seconds"] < status["certificate_expires_in_seconds"]
        assert status["acme_consecutive_failures"] == status["acme_expired_fallbacks"] == 0
        assert server.metrics_server is not None
        scraped = scrape_metrics(server.metrics_server.port)
        assert scraped["voip_certificate_self_signed"] == 0
        assert scraped["voip_acme_next_renewal_in_seconds"] > 0
        assert scraped["voip_acme_consecutive_failures"] == 0
        assert scraped["voip_acme_urgent_failures_total"] == 0
        assert scraped["voip_acme_expired_fallbacks_total"] == 0
    finally:
        server.stop()
    assert not server.acme.running


def test_an_unrenewable_certificate_is_replaced_by_the_fallback_when_it_expires(
    brief_pebble: Any,
    tmp_path: Path,
    managers: list[AcmeCertificateManager],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """12 s certificates; once issued, the challenge port is taken so every renewal fails.

    The back-off (30 s, 60 s) is longer than what is left, so only a schedule
    that is cut to the expiry wakes in time; it says so loudly, then installs
    the self-signed certificate instead of leaving the expired one served.
    """
    import socket

    received = TimedReceived()
    settings = settings_for(brief_pebble)
    slow = Backoff(initial=dt.timedelta(seconds=30), maximum=dt.timedelta(seconds=60))
    with caplog.at_level(logging.INFO, logger="voip.server.certs"):
        _, manager = resolve_certificate(
            tmp_path, CertificateSettings(acme=settings), on_new_certificate=received, backoff=slow
        )
        assert manager is not None
        managers.append(manager)
        manager.start()
        wait_for(lambda: received.count() == 1, "the first certificate")
        issued = received.bundles[0]
        with socket.create_server(("127.0.0.1", brief_pebble.http_port)):
            wait_for(lambda: received.count() == 2, "the fallback", timeout=30)
    fallback, installed_at = received.bundles[1], received.times[1]
    assert fallback.is_self_signed
    assert installed_at >= issued.not_after  # not before it was needed...
    assert installed_at - issued.not_after < dt.timedelta(seconds=15)  # ...nor a back-off late
    assert manager.counters.expired_fallbacks == 1
    assert manager.counters.orders_failed >= 2
    assert manager.counters.urgent_failures >= 1
    critical = [r.getMessage() for r in caplog.records if r.levelno == logging.CRITICAL]
    assert critical and "RENEWAL KEEPS FAILING" in critical[0]
    assert "cannot listen for the HTTP-01 challenge" in critical[0]
    assert any("expired at" in r.getMessage() for r in caplog.records)


class TimedReceived(Received):
    """Also records when each certificate was handed over."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[dt.datetime] = []

    def __call__(self, bundle: CertificateBundle) -> None:
        self.times.append(dt.datetime.now(dt.UTC))
        super().__call__(bundle)


def test_default_margin_with_300_s_certificates_renews_at_two_thirds_not_in_12_hours(
    short_pebble: Any,
    tmp_path: Path,
    managers: list[AcmeCertificateManager],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The 30-day default margin is longer than the certificate: two thirds of 300 s count."""
    received = Received()
    manager = AcmeCertificateManager(settings_for(short_pebble), tmp_path, received)
    managers.append(manager)
    with caplog.at_level(logging.INFO, logger="voip.server.certs"):
        manager.start()
        wait_for(lambda: manager.next_renewal is not None, "the first schedule")
    bundle = received.bundles[0]
    lifetime = bundle.not_after - bundle.not_before
    assert manager.next_renewal == bundle.not_before + lifetime * 2 / 3
    line = next(r.getMessage() for r in caplog.records if "next renewal" in r.getMessage())
    assert "67% of its" in line and "does not count" in line
    assert manager.running and manager.counters.orders_started == 1  # no renewal loop


def scrape_metrics(port: int) -> dict[str, float]:
    """The Prometheus endpoint's unlabelled samples, by name."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.labels
    }
