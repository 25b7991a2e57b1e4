"""Fixtures for the client backend tests: backends in tmp config dirs, real servers.

Servers are the real thing (`voip.server.app.start_server`: LevelDB store,
actors, aioquic) on 127.0.0.1 with an ephemeral port, each in its own data
dir, so tests see exactly what a user would.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from voip.client import BackendHandle
from voip.client import commands as c
from voip.client.state import AwaitingTrust, State

#: Deadline for every wait on a snapshot; generous for slow CI, never a sleep.
WAIT = 15.0


@pytest.fixture
def make_backend(tmp_path: Path) -> Iterator[Callable[..., BackendHandle]]:
    """Start backends (default config dir: tmp_path/"client"); all shut down at the end."""
    started: list[BackendHandle] = []

    def make(config_dir: Path | None = None, **kwargs: Any) -> BackendHandle:
        backend = BackendHandle(
            config_dir=config_dir if config_dir is not None else tmp_path / "client",
            connect_timeout=kwargs.pop("connect_timeout", 10.0),
            **kwargs,
        )
        started.append(backend)
        return backend

    yield make
    for backend in reversed(started):
        backend.shutdown()


def start_test_server(data_dir: Path, port: int = 0, bundle: Any = None, **options: Any) -> Any:
    from voip.server.app import ServerOptions, start_server
    from voip.server.certs import load_or_create_self_signed

    data_dir.mkdir(parents=True, exist_ok=True)
    if bundle is None:
        bundle = load_or_create_self_signed(data_dir, ("localhost", "127.0.0.1"))
    return start_server(
        ServerOptions(data_dir=data_dir, bundle=bundle, host="127.0.0.1", port=port, **options)
    )


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Start real servers (stopped at the end if the test did not)."""
    started: list[Any] = []

    def make(name: str = "server", port: int = 0, **options: Any) -> Any:
        server = start_test_server(tmp_path / name, port=port, **options)
        started.append(server)
        return server

    yield make
    for server in reversed(started):
        server.stop()


@pytest.fixture
def server(server_factory: Callable[..., Any]) -> Any:
    return server_factory()


def address_of(server: Any) -> str:
    return f"127.0.0.1:{server.port}"


def connect_trusting(backend: BackendHandle, server: Any, name: str = "alice") -> State:
    """Connect, accept the first-use certificate prompt, wait for the full state."""
    backend.send(c.Connect(address_of(server), name))
    state = backend.wait_for(
        lambda s: isinstance(s.connection, AwaitingTrust) or (s.is_connected and bool(s.rooms)),
        WAIT,
    )
    if isinstance(state.connection, AwaitingTrust):
        backend.send(c.AcceptCertificate())
    return backend.wait_for(lambda s: s.is_connected and bool(s.rooms) and s.me is not None, WAIT)


# --- a private CA, for certificates that verify without pinning ----------------------


def make_ca_signed_bundle(tmp_path: Path) -> tuple[Any, Path]:
    """A server bundle for 127.0.0.1/localhost signed by a fresh CA; returns (bundle, ca.pem)."""
    from voip.server.certs import bundle_from_pem

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "voip test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(ca_pem)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    bundle = bundle_from_pem(leaf.public_bytes(serialization.Encoding.PEM), key_pem, "files")
    return bundle, ca_file


class Helpers:
    """Helpers for the tests (tests/ is not a package, so they come as a fixture)."""

    WAIT = WAIT
    address_of = staticmethod(address_of)
    connect_trusting = staticmethod(connect_trusting)
    make_ca_signed_bundle = staticmethod(make_ca_signed_bundle)


@pytest.fixture
def h() -> type[Helpers]:
    return Helpers
