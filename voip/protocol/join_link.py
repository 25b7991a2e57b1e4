"""The join link: what a browser opens to reach a server (docs/WEB.md, "The join link").

Everything the page needs is in the fragment (after ``#``), which browsers do
not send to the page's host: the QUIC address, the SHA-256 of the
certificates to pin (``serverCertificateHashes``; none for a server whose
certificate browsers trust) and optionally a room.
"""

from __future__ import annotations

import base64
import urllib.parse


def join_link(
    page: str,
    host: str,
    port: int,
    *,
    hashes: tuple[bytes, ...] = (),
    room: str = "",
) -> str:
    """The link a user opens: the page, and in its fragment where and how to connect.

    The fragment (after ``#``) never reaches a web server: the page reads it.
    ``hashes`` are SHA-256 digests for ``serverCertificateHashes`` (empty for a
    server whose certificate browsers trust).
    """
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    fields = [("server", authority)]
    fields += [("cert", base64.urlsafe_b64encode(h).decode().rstrip("=")) for h in hashes]
    if room:
        fields.append(("room", room))
    return page + "#" + urllib.parse.urlencode(fields)
