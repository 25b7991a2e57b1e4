"""The browser client: sources in ``src/``, the built page in ``static/``.

Not Python: the page is JavaScript (WebTransport, WebCodecs, WebCrypto),
built from ``src/`` by ``tools/build-web.sh`` with the npm packages locked in
``package-lock.json``. The server serves ``static/`` (voip.server.web_page);
the folder can be hosted by any static web server too. See docs/WEB.md.
"""
