"""The certificate fingerprint: what the client pins and signs, and the server logs.

SHA-256 over the leaf certificate's DER encoding, the same bytes on both
ends: the server binds a client's hello to the fingerprint of the
certificate that connection was served with; the client signs the one it
saw and pins it on first use. The text form is what users compare.
"""

from __future__ import annotations

import hashlib

FINGERPRINT_SIZE = 32


def certificate_fingerprint(der: bytes) -> bytes:
    """SHA-256 of a certificate's DER encoding (32 bytes)."""
    return hashlib.sha256(der).digest()


def format_fingerprint(fp: bytes) -> str:
    """``SHA256:AB:CD:...``, the form the server logs at start and users compare."""
    return "SHA256:" + ":".join(f"{b:02X}" for b in fp)
