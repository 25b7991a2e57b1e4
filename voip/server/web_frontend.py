"""Opening a running server to browsers: certificate, page, join link.

`WebFrontend` is what ``voip-server`` adds for browsers, in start order:
`prepare` picks what browsers are served (the server's own certificate when
it is not self-signed, since browsers then verify it; otherwise the
short-lived web certificate of `web_cert`), `start` serves the page (when a
page address is configured) and keeps the web certificate renewed on a
timer thread, `join_link` says where to point a browser, `stop` undoes it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from voip.protocol.join_link import join_link
from voip.server.certs.bundle import CertificateBundle
from voip.server.certs.web_cert import CHECK_INTERVAL, WebCertificates, WebIdentity
from voip.server.web_page import WebPageServer, encode_hash, is_loopback

logger = logging.getLogger(__name__)


class WebIdentitySink(Protocol):
    def set_web(self, identity: WebIdentity | None, hashes: tuple[bytes, ...], page: str) -> None:
        ...


@dataclass(frozen=True)
class WebSettings:
    data_dir: Path
    hostnames: tuple[str, ...]
    #: Where browsers reach the QUIC port (host, port) as written in links.
    public_host: str
    public_port: int
    #: (host, port) of the page's HTTP(S) listener, or None for no page.
    page_address: tuple[str, int] | None = None


class WebFrontend:
    def __init__(self, settings: WebSettings, bundle: CertificateBundle) -> None:
        self.settings = settings
        self._bundle = bundle
        self.certificates: WebCertificates | None = None
        self.page: WebPageServer | None = None
        self._sink: WebIdentitySink | None = None
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None

    def prepare(self) -> WebIdentity | None:
        """The certificate browsers get, or None when they can verify the server's own."""
        if not self._bundle.is_self_signed:
            return None
        self.certificates = WebCertificates(self.settings.data_dir, self.settings.hostnames)
        return self.certificates.current.identity()

    def hashes(self) -> tuple[bytes, ...]:
        return self.certificates.hashes() if self.certificates is not None else ()

    def info(self) -> dict[str, Any]:
        """What ``/voip-web.json`` tells a page served from here."""
        s = self.settings
        host = f"[{s.public_host}]" if ":" in s.public_host else s.public_host
        hashes = [encode_hash(h) for h in self.hashes()]
        return {"server": f"{host}:{s.public_port}", "cert": hashes}

    def start(self, sink: WebIdentitySink) -> None:
        self._sink = sink
        if self.settings.page_address is not None:
            host, port = self.settings.page_address
            bundle = None if is_loopback(host) else self._bundle
            self.page = WebPageServer(host, port, info=self.info, bundle=bundle).start()
        self._tell_server()
        if self.certificates is not None:
            self._timer = threading.Thread(
                target=self._renew_loop, name="voip-web-cert", daemon=True
            )
            self._timer.start()

    def page_url(self) -> str:
        return self.page.url if self.page is not None else "https://YOUR-PAGE-HOST/"

    def _tell_server(self) -> None:
        """The certificate for browsers, and what Welcome tells clients for join links."""
        if self._sink is None:
            return
        identity = self.certificates.current.identity() if self.certificates else None
        page = self.page.url if self.page is not None else ""
        self._sink.set_web(identity, self.hashes(), page)

    def join_link(self, room: str = "") -> str:
        s = self.settings
        return join_link(
            self.page_url(), s.public_host, s.public_port, hashes=self.hashes(), room=room
        )

    def renew_if_due(self) -> bool:
        """Rotate the web certificate when due and serve the new one (the timer calls it)."""
        if self.certificates is None or not self.certificates.renew_if_due():
            return False
        self._tell_server()
        logger.info("new join link for browsers: %s", self.join_link())
        return True

    def _renew_loop(self) -> None:
        while not self._stop.wait(CHECK_INTERVAL.total_seconds()):
            try:
                self.renew_if_due()
            except Exception:
                logger.exception("renewing the WebTransport certificate failed; retrying later")

    def stop(self) -> None:
        self._stop.set()
        if self.page is not None:
            self.page.stop()
            self.page = None
