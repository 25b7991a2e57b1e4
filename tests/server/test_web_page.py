"""The page listener: HTTPS with the server's certificate, plain HTTP only on loopback."""

from __future__ import annotations

import json
import ssl
import tempfile
import urllib.request
from pathlib import Path

import pytest

from voip.errors import ConfigError
from voip.server.certs.self_signed import load_or_create_self_signed
from voip.server.web_page import INFO_PATH, WebPageServer


def test_https_serves_the_page_and_where_to_connect(tmp_path: Path) -> None:
    bundle = load_or_create_self_signed(tmp_path, ("localhost",))
    info = {"server": "localhost:7731", "cert": ["abc"]}
    page = WebPageServer("127.0.0.2", 0, info=lambda: info, bundle=bundle).start()
    try:
        assert page.url.startswith("https://127.0.0.2:")
        with tempfile.NamedTemporaryFile(suffix=".pem") as ca:
            ca.write(bundle.cert_chain_pem)
            ca.flush()
            context = ssl.create_default_context(cafile=ca.name)
            context.check_hostname = False  # the test certificate names localhost
            with urllib.request.urlopen(page.url, context=context, timeout=10) as r:
                body = r.read().decode()
                assert "Join a voice room" in body
                assert "default-src 'self'" in r.headers["Content-Security-Policy"]
            url = page.url.rstrip("/") + INFO_PATH
            with urllib.request.urlopen(url, context=context, timeout=10) as r:
                assert json.loads(r.read()) == info
                assert r.headers["Cache-Control"] == "no-store"
    finally:
        page.stop()


def test_plain_http_is_for_loopback_only() -> None:
    with pytest.raises(ConfigError, match="needs HTTPS"):
        WebPageServer("0.0.0.0", 0, info=dict, bundle=None)
    page = WebPageServer("127.0.0.1", 0, info=dict, bundle=None).start()
    try:
        assert page.url.startswith("http://localhost:")
        with urllib.request.urlopen(page.url + "worklet.js", timeout=10) as r:
            assert "registerProcessor" in r.read().decode()
    finally:
        page.stop()


def test_an_unbuilt_page_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not built"):
        WebPageServer("127.0.0.1", 0, info=dict, bundle=None, directory=tmp_path)
