"""ACME challenge responders: HTTP-01 (RFC 8555 §8.3) and TLS-ALPN-01 (RFC 8737).

Each responder is a small listener that runs only while a challenge is
pending, in its own thread, so that the voice server's event loop is never
involved. The voice server speaks QUIC over UDP, so neither listener (both
TCP) collides with it, even on port 443.

The ``acme`` package (5.x) dropped its TLS-ALPN-01 classes, so this module
registers its own ``tls-alpn-01`` challenge type with the package's JSON
registry and builds the RFC 8737 validation certificate itself.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import http.server
import logging
import socket
import socketserver
import ssl
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Protocol

import josepy as jose
from acme import challenges
from cryptography import x509
from cryptography.x509.oid import ObjectIdentifier

from voip.server.certs.self_signed import self_signed_pem

logger = logging.getLogger(__name__)

ACME_TLS_1 = "acme-tls/1"
#: id-pe-acmeIdentifier, RFC 8737 §3.
ACME_IDENTIFIER_OID = ObjectIdentifier("1.3.6.1.5.5.7.1.31")
HTTP01_PATH_PREFIX = "/.well-known/acme-challenge/"


# --- the tls-alpn-01 challenge type ------------------------------------------------


class TLSALPN01Response(challenges.KeyAuthorizationChallengeResponse):
    """Answer to a tls-alpn-01 challenge: an empty object once the listener is up."""

    typ = "tls-alpn-01"


class TLSALPN01(challenges.KeyAuthorizationChallenge):
    """The tls-alpn-01 challenge; its validation is the SHA-256 of the key authorization."""

    response_cls = TLSALPN01Response
    typ = "tls-alpn-01"

    def validation(self, account_key: jose.JWK, **unused_kwargs: Any) -> bytes:
        return hashlib.sha256(self.key_authorization(account_key).encode("ascii")).digest()


# Register once, even if this module is re-imported (tests load modules by path).
if "tls-alpn-01" not in challenges.ChallengeResponse.TYPES:
    challenges.ChallengeResponse.register(TLSALPN01Response)
if "tls-alpn-01" not in challenges.Challenge.TYPES:
    challenges.Challenge.register(TLSALPN01)


def tls_alpn01_certificate(domain: str, digest: bytes) -> tuple[bytes, bytes]:
    """The RFC 8737 validation certificate for ``domain`` as PEM (cert, key)."""
    now = dt.datetime.now(dt.UTC)
    return self_signed_pem(
        "ACME challenge",
        [x509.DNSName(domain)],
        now - dt.timedelta(days=1),
        now + dt.timedelta(days=7),
        # The value is the DER encoding of an OCTET STRING holding the digest.
        [(x509.UnrecognizedExtension(ACME_IDENTIFIER_OID, b"\x04\x20" + digest), True)],
    )


# --- listeners ------------------------------------------------------------------------


class ChallengeResponder(Protocol):
    """A listener that proves control of a domain while a challenge is pending."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


def _bind_dual_stack(server: socketserver.TCPServer, host: str, port: int) -> None:
    """Bind IPv6+IPv4 when the host is "" (a CA may validate over either)."""
    if host == "":
        try:
            sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            sock.bind(("::", port))
        except OSError:
            sock.close()
        else:
            server.socket.close()
            server.socket = sock
            server.address_family = socket.AF_INET6
            server.server_address = sock.getsockname()
            return
    server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.socket.bind((host, port))
    server.server_address = server.socket.getsockname()


class _ThreadingTCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True


class _ListenerResponder:
    """One TCP listener served from its own thread between ``start`` and ``stop``.

    A responder says how to build its (not yet bound) server, what to tell
    the operator when the port cannot be had, and its challenge's name.
    """

    _CHALLENGE: ClassVar[str]  # "HTTP-01" / "TLS-ALPN-01"

    def __init__(self, host: str, port: int) -> None:
        self._host = host
        self._port = port
        self._server: socketserver.TCPServer | None = None
        self._thread: threading.Thread | None = None

    def _make_server(self) -> socketserver.TCPServer:
        raise NotImplementedError

    def _cannot_listen(self, exc: OSError) -> str:
        raise NotImplementedError

    def start(self) -> None:
        server = self._make_server()
        try:
            _bind_dual_stack(server, self._host, self._port)
            server.server_activate()
        except OSError as exc:
            server.server_close()
            raise OSError(self._cannot_listen(exc)) from exc
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"acme-{self._CHALLENGE.lower()}",
        )
        self._thread.daemon = True
        self._thread.start()
        logger.debug("%s responder listening on %s", self._CHALLENGE, server.server_address)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


class _HTTP01Handler(http.server.BaseHTTPRequestHandler):
    server: _HTTP01Server
    timeout = 10

    def do_GET(self) -> None:
        token = self.path.removeprefix(HTTP01_PATH_PREFIX)
        body = None
        if self.path.startswith(HTTP01_PATH_PREFIX) and "/" not in token:
            body = self.server.resources.get(token)
        if body is None:
            self.send_error(404)
            return
        data = body.encode("ascii")
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        logger.info("answered HTTP-01 validation request from %s", self.client_address[0])

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("http-01 %s: " + format, self.client_address[0], *args)


class _HTTP01Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    resources: dict[str, str]


class HTTP01Responder(_ListenerResponder):
    """Serves ``/.well-known/acme-challenge/<token>`` and nothing else, on ``port``."""

    _CHALLENGE = "HTTP-01"

    def __init__(self, host: str, port: int, resources: dict[str, str]) -> None:
        super().__init__(host, port)
        self._resources = dict(resources)

    def _make_server(self) -> socketserver.TCPServer:
        server = _HTTP01Server((self._host, self._port), _HTTP01Handler, bind_and_activate=False)
        server.resources = self._resources
        return server

    def _cannot_listen(self, exc: OSError) -> str:
        return (
            f"cannot listen for the HTTP-01 challenge on TCP port {self._port}: {exc}; "
            "free the port, run with the right to bind it, choose another "
            "--acme-http-port behind a port forward, or use --acme-challenge tls-alpn-01"
        )


class _TLSALPNHandler(socketserver.BaseRequestHandler):
    server: _TLSALPNServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(10)
        try:
            with self.server.context.wrap_socket(sock, server_side=True) as tls:
                if tls.selected_alpn_protocol() == ACME_TLS_1:
                    logger.info(
                        "answered TLS-ALPN-01 validation request from %s", self.client_address[0]
                    )
                # The validator only looks at the certificate; close right away.
        except (OSError, ssl.SSLError) as exc:
            logger.debug("tls-alpn-01 handshake with %s failed: %s", self.client_address[0], exc)


class _TLSALPNServer(_ThreadingTCPServer):
    context: ssl.SSLContext


class TLSALPN01Responder(_ListenerResponder):
    """A TCP listener that presents the acme-tls/1 validation certificate on ``port``."""

    _CHALLENGE = "TLS-ALPN-01"

    def __init__(self, host: str, port: int, certificates: dict[str, tuple[bytes, bytes]]) -> None:
        """``certificates`` maps each domain to its (cert PEM, key PEM) validation pair."""
        super().__init__(host, port)
        self._certificates = dict(certificates)

    def _context(self) -> ssl.SSLContext:
        contexts: dict[str, ssl.SSLContext] = {}
        with tempfile.TemporaryDirectory(prefix="voip-acme-") as tmp:
            for i, (domain, (cert_pem, key_pem)) in enumerate(self._certificates.items()):
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.minimum_version = ssl.TLSVersion.TLSv1_2
                ctx.set_alpn_protocols([ACME_TLS_1])
                cert_file, key_file = Path(tmp, f"{i}.crt"), Path(tmp, f"{i}.key")
                cert_file.write_bytes(cert_pem)
                key_file.touch(mode=0o600)
                key_file.write_bytes(key_pem)
                ctx.load_cert_chain(cert_file, key_file)
                contexts[domain.lower()] = ctx
        default = next(iter(contexts.values()))

        def pick(sslobj: ssl.SSLObject, server_name: str | None, _: ssl.SSLContext) -> None:
            if server_name is not None and server_name.lower() in contexts:
                sslobj.context = contexts[server_name.lower()]

        default.sni_callback = pick
        return default

    def _make_server(self) -> socketserver.TCPServer:
        server = _TLSALPNServer((self._host, self._port), _TLSALPNHandler, bind_and_activate=False)
        server.context = self._context()
        return server

    def _cannot_listen(self, exc: OSError) -> str:
        return (
            f"cannot listen for the TLS-ALPN-01 challenge on TCP port {self._port}: {exc}; "
            "free the port (a web server on 443/tcp?), run with the right to bind it, "
            "or use --acme-challenge http-01"
        )


class NullResponder:
    """Nothing to serve (every authorization was already valid)."""

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


@contextlib.contextmanager
def responding(responder: ChallengeResponder) -> Iterator[ChallengeResponder]:
    responder.start()
    try:
        yield responder
    finally:
        responder.stop()
