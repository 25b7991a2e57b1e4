"""Serving the browser client: the static page over HTTPS (or HTTP on loopback).

The page is the built folder ``voip/web/static`` (package data). A browser
needs it from a secure context to use WebTransport and WebCrypto: HTTPS with
the server's certificate, or plain HTTP on a loopback address, which browsers
treat as secure (for development). Plain HTTP on any other address is
refused: a page loaded over it could be altered on the way and could not use
WebTransport anyway.

Besides the files, ``/voip-web.json`` tells a page served from here where to
connect (``server``, ``host:port`` of the QUIC port) and which certificate
hashes to pin (``cert``, base64url), so opening the bare page works without a
join link. The standard library's threaded HTTP server is enough for a
handful of static files; it runs in its own daemon thread.
"""

from __future__ import annotations

import base64
import functools
import http.server
import ipaddress
import json
import logging
import os
import ssl
import tempfile
import threading
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from voip.errors import ConfigError
from voip.server.certs.bundle import CertificateBundle

logger = logging.getLogger(__name__)

INFO_PATH = "/voip-web.json"
#: The page loads only its own files; it connects to any https: origin (the
#: WebTransport server may be on another host or port than the page).
CONTENT_SECURITY_POLICY = "default-src 'self'; img-src 'self' data:; connect-src 'self' https:"


def static_dir() -> Path:
    """The built page inside the installed package."""
    return Path(str(resources.files("voip.web") / "static"))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Handler(http.server.SimpleHTTPRequestHandler):
    info: Callable[[], dict[str, Any]]

    def do_GET(self) -> None:
        if self.path.split("?")[0] == INFO_PATH:
            body = json.dumps(self.info()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def end_headers(self) -> None:
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)


def _ssl_context(bundle: CertificateBundle) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # load_cert_chain reads files only: a private temporary file, removed at once.
    fd, path = tempfile.mkstemp(suffix=".pem")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(bundle.cert_chain_pem + b"\n" + bundle.key_pem)
        context.load_cert_chain(path)
    finally:
        os.unlink(path)
    return context


class WebPageServer:
    """The page's HTTP(S) listener, in a daemon thread."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        info: Callable[[], dict[str, Any]],
        bundle: CertificateBundle | None,
        directory: Path | None = None,
    ) -> None:
        if bundle is None and not is_loopback(host):
            raise ConfigError(
                f"the web page on {host} needs HTTPS: browsers allow WebTransport only in a "
                "secure context; serve it on a loopback address (development) or with TLS"
            )
        folder = directory or static_dir()
        if not (folder / "index.html").exists():
            raise ConfigError(
                f"the browser client is not built ({folder} has no index.html); "
                "run tools/setup.sh, which builds it"
            )
        handler = type("Handler", (_Handler,), {"info": staticmethod(info)})
        factory = functools.partial(handler, directory=str(folder))
        self._httpd = http.server.ThreadingHTTPServer((host, port), factory)
        self._httpd.daemon_threads = True
        self.scheme = "http" if bundle is None else "https"
        if bundle is not None:
            context = _ssl_context(bundle)
            self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self.host = host
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="voip-web-page", daemon=True
        )

    @property
    def url(self) -> str:
        host = "localhost" if is_loopback(self.host) and self.scheme == "http" else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"{self.scheme}://{host}:{self.port}/"

    def start(self) -> WebPageServer:
        self._thread.start()
        logger.info("serving the browser client at %s", self.url)
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def encode_hash(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")
