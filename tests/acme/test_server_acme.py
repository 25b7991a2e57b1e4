"""`voip-server --acme-domain ...` end to end: a real server process gets a certificate from
pebble, hot-swaps it in, and a real voip client that verifies the chain connects without
pinning."""

from __future__ import annotations

import re
import runpy
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from voip.client import BackendHandle
from voip.client import commands as c
from voip.client.state import AwaitingTrust, ConnectionLost, State
from voip.client.trust import KnownServers

pytestmark = pytest.mark.acme

DOMAIN = "voice.voip.test"
WAIT = 30.0
INSTALLED = re.compile(r"installed certificate fingerprint (SHA256:[0-9A-F:]+) \(acme")
STARTED_WITH = re.compile(r"certificate fingerprint (SHA256:[0-9A-F:]+)")


# tests/ is not a package (importlib mode): helpers are loaded by path.
_load = runpy.run_path(str(Path(__file__).resolve().parents[1] / "support" / "loading.py"))["load"]


server_process = _load(
    "voip_tests_server_process", Path(__file__).parents[1] / "server" / "server_process.py"
)


@pytest.fixture
def resolve_domain(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make DOMAIN resolve to 127.0.0.1 in this process, as DNS would for a real server.

    The client then connects by name, so SNI and the certificate's name check are
    exactly what a user's client does (pebble's own DNS already says 127.0.0.1).
    """
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host == DOMAIN else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def processes() -> Iterator[list[Any]]:
    started: list[Any] = []
    yield started
    for p in started:
        p.kill()


def acme_server(pebble: Any, data_dir: Path, processes: list[Any], *extra: str) -> Any:
    proc = server_process.ServerProcess(
        "--listen", "127.0.0.1:0",
        "--data-dir", str(data_dir),
        "--acme-domain", DOMAIN,
        "--acme-email", "ops@voip.test",
        "--acme-directory", pebble.directory_url,
        "--acme-ca-bundle", str(pebble.tls_ca),
        "--acme-http-port", str(pebble.http_port),
        *extra,
    )  # fmt: skip
    processes.append(proc)
    return proc


def test_server_obtains_a_certificate_and_a_verifying_client_connects_without_pinning(
    pebble: Any, tmp_path: Path, processes: list[Any], resolve_domain: None
) -> None:
    root = tmp_path / "pebble-root.pem"
    root.write_bytes(pebble.issuing_root_pem)
    server = acme_server(pebble, tmp_path / "data", processes)
    port = server.wait_port()
    fallback = server.wait_line(STARTED_WITH).group(1)
    installed = server.wait_line(INSTALLED, timeout=WAIT).group(1)
    assert installed != fallback  # the self-signed fallback was replaced without a restart

    config_dir = tmp_path / "alice"
    alice = BackendHandle(config_dir=config_dir, connect_timeout=10.0)
    try:
        seen: list[State] = []
        alice.subscribe(seen.append)
        address = f"{DOMAIN}:{port}"
        alice.send(c.Connect(address, "alice", ca_file=str(root)))
        alice.wait_for(lambda s: s.is_connected and s.me is not None, WAIT)
        assert not any(isinstance(s.connection, AwaitingTrust) for s in seen)
        assert KnownServers(config_dir).pinned(address) is None
        # Guard: without pebble's root the same server is merely unknown (verification is on).
        alice.send(c.Connect(address, "alice"))
        alice.wait_for(lambda s: isinstance(s.connection, AwaitingTrust), WAIT)
    finally:
        alice.shutdown()

    # Restart on the same data dir: the stored certificate is served at once, no new order.
    server.proc.send_signal(signal.SIGTERM)
    assert server.finish() == 0
    again = acme_server(pebble, tmp_path / "data", processes)
    again.wait_port()
    assert again.wait_line(STARTED_WITH).group(1) == installed
    again.proc.send_signal(signal.SIGTERM)
    assert again.finish() == 0
    log = "".join(again.log)
    assert "serving the stored ACME certificate" in log
    assert "ordering a certificate" not in log


def test_domain_without_email_is_a_clear_usage_error(tmp_path: Path) -> None:
    import subprocess

    result = subprocess.run(
        [sys.executable, "-m", "voip.server", "--data-dir", str(tmp_path),
         "--acme-domain", DOMAIN],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "voip-server: error: --acme-domain needs --acme-email (the CA's contact for the account)"
    )


NEXT_RENEWAL = re.compile(
    r"next renewal of the certificate for \S+ \(valid until (\S+)\) is due at (\S+), in ([^(]+) \("
)


def test_short_lived_certificates_are_renewed_by_their_lifetime_and_clients_keep_verifying(
    short_pebble: Any,
    quic_probe: Any,
    tmp_path: Path,
    processes: list[Any],
    resolve_domain: None,
) -> None:
    """300 s certificates, renewed 290 s before expiry by the server's own schedule.

    After each renewal a new verifying client connects (its handshake presents
    the certificate just installed); a client connected before the first
    renewal stays connected and keeps talking through all of them.
    """
    root = tmp_path / "pebble-root.pem"
    root.write_bytes(short_pebble.issuing_root_pem)
    server = acme_server(short_pebble, tmp_path / "data", processes, "--acme-renew-before", "290s")
    port = server.wait_port()
    first = server.wait_line(INSTALLED, timeout=WAIT).group(1)
    due = server.wait_line(NEXT_RENEWAL, timeout=WAIT)
    value, unit = due.group(3).split()
    assert unit == "s" and 3 < float(value) <= 10  # 290 s before the end of a 300 s life

    address = f"{DOMAIN}:{port}"
    bob = BackendHandle(config_dir=tmp_path / "bob", connect_timeout=10.0)
    try:
        bob.send(c.Connect(address, "bob", ca_file=str(root)))
        bob.wait_for(lambda s: s.is_connected and s.me is not None, WAIT)
        seen = [first]
        for round_ in range(3):
            renewed = server.wait_line(INSTALLED, timeout=WAIT).group(1)
            assert renewed not in seen
            seen.append(renewed)
            assert presented_fingerprint(quic_probe, port, short_pebble.issuing_root_pem) == renewed
            visitor = BackendHandle(config_dir=tmp_path / f"v{round_}", connect_timeout=10.0)
            try:
                visitor.send(c.Connect(address, f"visitor{round_}", ca_file=str(root)))
                visitor.wait_for(lambda s: s.is_connected and s.me is not None, WAIT)
                assert KnownServers(tmp_path / f"v{round_}").pinned(address) is None
                text = f"still here after renewal {round_ + 1}"
                bob.send(c.SendChat(text))
                visitor.wait_for(lambda s, t=text: any(line.text == t for line in s.chat), WAIT)
            finally:
                visitor.shutdown()
        assert bob.state().is_connected
    finally:
        bob.shutdown()
    server.proc.send_signal(signal.SIGTERM)
    assert server.finish() == 0
    log = "".join(server.log)
    assert "expired" not in log and "ERROR" not in log


def presented_fingerprint(quic_probe: Any, port: int, root_pem: bytes) -> str:
    """The certificate a verifying QUIC handshake by the domain name gets right now."""
    import asyncio

    from cryptography.hazmat.primitives import serialization

    from voip.protocol.fingerprint import certificate_fingerprint, format_fingerprint

    async def handshake() -> str:
        configuration = quic_probe.client_configuration(DOMAIN, cadata=root_pem)
        peer = await quic_probe.handshake_once(port, configuration)
        return format_fingerprint(
            certificate_fingerprint(peer.public_bytes(serialization.Encoding.DER))
        )

    return asyncio.run(asyncio.wait_for(handshake(), 20))


def test_a_pin_of_the_self_signed_fallback_gives_way_to_the_acme_certificate_with_the_ca(
    pebble: Any, tmp_path: Path, processes: list[Any], resolve_domain: None
) -> None:
    """Both users pinned the fallback the server served before ACME finished.

    The one who trusts the CA connects without a prompt and the pin moves to
    the ACME certificate (said once); the one without the CA still gets the
    pin check: refused, naming both fingerprints and why the new one does not
    verify.
    """
    root = tmp_path / "pebble-root.pem"
    root.write_bytes(pebble.issuing_root_pem)
    server = acme_server(pebble, tmp_path / "data", processes)
    port = server.wait_port()
    fallback = server.wait_line(STARTED_WITH).group(1)
    installed = server.wait_line(INSTALLED, timeout=WAIT).group(1)
    address = f"{DOMAIN}:{port}"
    for user in ("carol", "dave"):
        KnownServers(tmp_path / user).pin(address, fallback)

    carol = BackendHandle(config_dir=tmp_path / "carol", connect_timeout=10.0)
    dave = BackendHandle(config_dir=tmp_path / "dave", connect_timeout=10.0)
    try:
        seen: list[State] = []
        carol.subscribe(seen.append)
        carol.send(c.Connect(address, "carol", ca_file=str(root)))
        state = carol.wait_for(lambda s: s.is_connected and s.me is not None, WAIT)
        assert not any(isinstance(s.connection, AwaitingTrust) for s in seen)
        assert KnownServers(tmp_path / "carol").pinned(address) == installed
        notes = [line.text for line in state.chat if line.local and "pin" in line.text]
        assert len(notes) == 1 and fallback in notes[0] and installed in notes[0]

        dave.send(c.Connect(address, "dave"))
        lost = dave.wait_for(lambda s: isinstance(s.connection, ConnectionLost), WAIT)
        assert isinstance(lost.connection, ConnectionLost)
        error = lost.connection.error
        assert fallback in error and installed in error and "may be an attack" in error
        assert "this client does not trust" in error
        assert KnownServers(tmp_path / "dave").pinned(address) == fallback
    finally:
        carol.shutdown()
        dave.shutdown()
