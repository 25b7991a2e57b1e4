"""The authentication handshake: challenge, hello, proof of possession.

The client proves it holds the private key for the public key it names by
signing the server's fresh nonce together with the SHA-256 fingerprint of the
certificate it saw in the TLS handshake. Binding the fingerprint means a
man in the middle with another certificate cannot replay the signature to
the real server.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from voip.errors import AuthError
from voip.proto import voip_pb2
from voip.protocol.fingerprint import FINGERPRINT_SIZE
from voip.protocol.names import name_problem, normalize_name

ALPN = "voip/1"
PROTOCOL_VERSION = 1
NONCE_SIZE = 32
AUTH_CONTEXT = b"voip/1 client-auth\x00"
PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64
#: Prefix of the binding a browser signs when it verified a CA-issued
#: certificate it cannot read (docs/WEB.md): SHA-256 of this and the host name
#: takes the place of the certificate fingerprint.
WEB_ORIGIN_CONTEXT = b"voip/1 web-origin\x00"

#: What a hello signature is checked against: a certificate fingerprint, or
#: several bindings of which one must verify (a browser session).
HelloBinding = bytes | tuple[bytes, ...]


class HandshakeFailure(AuthError):
    """Authentication refused, with the wire error code to send back."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def new_challenge(server_name: str, nonce: bytes | None = None) -> voip_pb2.Challenge:
    return voip_pb2.Challenge(
        nonce=nonce if nonce is not None else os.urandom(NONCE_SIZE),
        protocol_version=PROTOCOL_VERSION,
        server_name=server_name,
    )


def signed_payload(nonce: bytes, cert_fingerprint: bytes) -> bytes:
    """The exact bytes the client signs (see docs/PROTOCOL.md)."""
    if len(nonce) != NONCE_SIZE:
        raise ValueError(f"challenge nonce must be {NONCE_SIZE} bytes")
    if len(cert_fingerprint) != FINGERPRINT_SIZE:
        raise ValueError(f"certificate fingerprint must be {FINGERPRINT_SIZE} bytes")
    return AUTH_CONTEXT + nonce + cert_fingerprint


def web_origin_binding(host: str) -> bytes:
    """What a browser signs instead of a certificate fingerprint it cannot see.

    ``host`` is the host name (or IP address) the browser connected to, lower
    case, without port; the browser checked the certificate is valid for it.
    """
    return hashlib.sha256(WEB_ORIGIN_CONTEXT + host.lower().encode()).digest()


def make_hello(
    *,
    challenge: voip_pb2.Challenge,
    cert_fingerprint: bytes,
    public_key: bytes,
    sign: Callable[[bytes], bytes],
    display_name: str,
    password: str,
) -> voip_pb2.ClientHello:
    """Answer a challenge. `sign` returns the detached Ed25519 signature."""
    return voip_pb2.ClientHello(
        protocol_version=PROTOCOL_VERSION,
        display_name=display_name,
        public_key=public_key,
        password=password,
        signature=sign(signed_payload(challenge.nonce, cert_fingerprint)),
    )


@dataclass(frozen=True, slots=True)
class VerifiedHello:
    public_key: bytes
    display_name: str


def verify_hello(
    hello: voip_pb2.ClientHello,
    *,
    nonce: bytes,
    cert_fingerprint: HelloBinding,
    server_password: str,
) -> VerifiedHello:
    """Check version, password and signature; raise HandshakeFailure if any fails.

    ``cert_fingerprint`` may be several bindings (a browser session: the
    certificate's fingerprint or its web origin binding); the signature must
    verify over one of them.

    The password is compared in constant time. Checks run in the order a user
    can act on: version, then malformed fields, then password, then key proof.
    """
    codes = voip_pb2
    if hello.protocol_version != PROTOCOL_VERSION:
        raise HandshakeFailure(
            codes.PROTOCOL_VERSION,
            f"this server speaks protocol version {PROTOCOL_VERSION}, the client "
            f"sent {hello.protocol_version}; update the client",
        )
    if len(hello.public_key) != PUBLIC_KEY_SIZE or len(hello.signature) != SIGNATURE_SIZE:
        raise HandshakeFailure(
            codes.MALFORMED_MESSAGE,
            "the hello's public key or signature has the wrong length",
        )
    problem = name_problem(hello.display_name)
    if problem:
        raise HandshakeFailure(codes.INVALID_NAME, f"display name refused: {problem}")
    if not hmac.compare_digest(hello.password.encode(), server_password.encode()):
        raise HandshakeFailure(
            codes.WRONG_PASSWORD, "wrong server password; ask the server's owner for it"
        )
    bindings = (cert_fingerprint,) if isinstance(cert_fingerprint, bytes) else cert_fingerprint
    for binding in bindings:
        try:
            VerifyKey(hello.public_key).verify(signed_payload(nonce, binding), hello.signature)
        except (BadSignatureError, ValueError):
            continue
        name = normalize_name(hello.display_name)
        return VerifiedHello(public_key=bytes(hello.public_key), display_name=name)
    raise HandshakeFailure(
            codes.BAD_SIGNATURE,
            "the key signature does not verify for this server; the connection may "
            "be intercepted, or the client is broken",
    )
