"""Proof of possession in the handshake."""

from __future__ import annotations

import hashlib

import pytest
from nacl.signing import SigningKey

from voip.proto import voip_pb2 as pb
from voip.protocol.handshake import (
    AUTH_CONTEXT,
    HandshakeFailure,
    make_hello,
    new_challenge,
    signed_payload,
    verify_hello,
)

FP = hashlib.sha256(b"certificate der").digest()
OTHER_FP = hashlib.sha256(b"another certificate").digest()


def hello(key: SigningKey, challenge: pb.Challenge, fp: bytes = FP, password: str = "pw",
          name: str = "ann") -> pb.ClientHello:
    return make_hello(challenge=challenge, cert_fingerprint=fp, public_key=bytes(key.verify_key),
                      sign=lambda d: key.sign(d).signature, display_name=name, password=password)


def test_signed_bytes_layout() -> None:
    nonce = bytes(range(32))
    assert signed_payload(nonce, FP) == b"voip/1 client-auth\x00" + nonce + FP
    assert AUTH_CONTEXT.endswith(b"\x00")


def test_valid_hello_verifies() -> None:
    key = SigningKey.generate()
    ch = new_challenge("srv")
    got = verify_hello(hello(key, ch), nonce=ch.nonce, cert_fingerprint=FP, server_password="pw")
    assert got.public_key == bytes(key.verify_key)
    assert got.display_name == "ann"


def test_challenges_are_fresh() -> None:
    assert new_challenge("a").nonce != new_challenge("a").nonce


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda h, ch: setattr(h, "password", "nope"), pb.WRONG_PASSWORD),
        (lambda h, ch: setattr(h, "protocol_version", 2), pb.PROTOCOL_VERSION),
        (lambda h, ch: setattr(h, "public_key", b"short"), pb.MALFORMED_MESSAGE),
        (lambda h, ch: setattr(h, "display_name", ""), pb.INVALID_NAME),
        (lambda h, ch: setattr(h, "public_key", bytes(SigningKey.generate().verify_key)),
         pb.BAD_SIGNATURE),
        (lambda h, ch: setattr(h, "signature", bytes(64)), pb.BAD_SIGNATURE),
    ],
    ids=["password", "version", "malformed-key", "empty-name", "other-key", "zero-signature"],
)
def test_failures_have_codes(mutate, code) -> None:  # type: ignore[no-untyped-def]
    ch = new_challenge("srv")
    h = hello(SigningKey.generate(), ch)
    mutate(h, ch)
    with pytest.raises(HandshakeFailure) as info:
        verify_hello(h, nonce=ch.nonce, cert_fingerprint=FP, server_password="pw")
    assert info.value.code == code
    assert str(info.value)


def test_signature_bound_to_certificate() -> None:
    """A hello relayed by a man in the middle (other certificate) fails."""
    ch = new_challenge("srv")
    h = hello(SigningKey.generate(), ch, fp=OTHER_FP)
    with pytest.raises(HandshakeFailure) as info:
        verify_hello(h, nonce=ch.nonce, cert_fingerprint=FP, server_password="pw")
    assert info.value.code == pb.BAD_SIGNATURE


def test_signature_bound_to_challenge() -> None:
    old = new_challenge("srv")
    h = hello(SigningKey.generate(), old)
    with pytest.raises(HandshakeFailure):
        verify_hello(h, nonce=new_challenge("srv").nonce, cert_fingerprint=FP,
                     server_password="pw")
