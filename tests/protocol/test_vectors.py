"""The test vectors of docs/PROTOCOL.md, checked byte for byte against the code.

The vectors are read from the document itself, so the document and the code
cannot drift apart; where possible the expected bytes are also rebuilt here
by hand from the wire rules, so a bug shared by the code and the generator of
the vectors (say, users sorted the wrong way) cannot pass.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import blake3
from nacl.signing import SigningKey, VerifyKey

from voip.proto import voip_pb2
from voip.protocol.framing import FrameDecoder, encode_envelope
from voip.protocol.handshake import make_hello, signed_payload
from voip.protocol.state import Room, StateModel, UserInfo, canonical_bytes, state_hash
from voip.protocol.voice import parse_voice_message, stamp

DOC = Path(__file__).resolve().parents[2] / "docs" / "PROTOCOL.md"


def vectors() -> dict[str, bytes]:
    """Every `name: hex` in the fenced blocks of the "Test vectors" section."""
    section = DOC.read_text().split("## Test vectors", 1)[1]
    found: dict[str, bytes] = {}
    for block in re.findall(r"```text\n(.*?)```", section, re.S):
        name = ""
        for line in block.splitlines():
            match = re.match(r"(\w+):\s*(.*)", line)
            if match:
                name = match.group(1)
                found[name] = b""
                line = match.group(2)
            found[name] += bytes.fromhex(line.strip())
    return found


def field(number: int, wire_type: int) -> bytes:
    return bytes([number << 3 | wire_type])


def length_delimited(number: int, body: bytes) -> bytes:
    assert len(body) < 128
    return field(number, 2) + bytes([len(body)]) + body


def varint_field(number: int, value: int) -> bytes:
    assert value < 128
    return field(number, 0) + bytes([value])


def test_state_hash_vector() -> None:
    v = vectors()
    room = lambda i, n, p: length_delimited(  # noqa: E731
        1,
        varint_field(1, i)
        + length_delimited(2, n.encode())
        + (varint_field(3, p) if p else b""),
    )
    user = lambda i, n, r: length_delimited(  # noqa: E731
        2, varint_field(1, i) + length_delimited(2, n.encode()) + varint_field(3, r)
    )
    by_hand = room(1, "Lobby", 0) + room(2, "Music", 1) + user(3, "Amélie", 1) + user(7, "bob", 2)
    assert v["canonical"] == by_hand
    assert blake3.blake3(by_hand).digest() == v["state_hash"]
    # The code, fed the same state in another order, gives the same bytes and hash.
    model = StateModel.build(
        [Room(2, "Music", 1), Room(1, "Lobby", 0)],
        [UserInfo(7, "bob", 2), UserInfo(3, "Amélie", 1)],
    )
    assert canonical_bytes(model) == v["canonical"]
    assert state_hash(model) == v["state_hash"]
    assert state_hash(model.to_proto()) == v["state_hash"]


def test_signed_hello_vector() -> None:
    v = vectors()
    assert v["seed"] == bytes(range(1, 33))
    assert v["nonce"] == bytes(range(32))
    assert v["fingerprint"] == hashlib.sha256(b"voip test certificate").digest()
    assert v["signed"] == b"voip/1 client-auth\x00" + v["nonce"] + v["fingerprint"]
    assert signed_payload(v["nonce"], v["fingerprint"]) == v["signed"]
    key = SigningKey(v["seed"])
    assert bytes(key.verify_key) == v["public_key"]
    VerifyKey(v["public_key"]).verify(v["signed"], v["signature"])
    hello = make_hello(
        challenge=voip_pb2.Challenge(nonce=v["nonce"], protocol_version=1),
        cert_fingerprint=v["fingerprint"],
        public_key=v["public_key"],
        sign=lambda data: bytes(key.sign(data).signature),
        display_name="x",
        password="",
    )
    assert hello.signature == v["signature"]  # Ed25519 signatures are deterministic


def test_framed_envelope_vector() -> None:
    frame = vectors()["frame"]
    by_hand = bytes([9]) + varint_field(2, 5) + bytes([0xC2, 0x01, 4]) + length_delimited(1, b"hi")
    assert frame == by_hand
    envelope = voip_pb2.Envelope(request_id=5, send_chat=voip_pb2.SendChat(text="hi"))
    assert encode_envelope(envelope) == frame
    (decoded,) = FrameDecoder().feed_envelopes(frame)
    assert decoded == envelope


def test_voice_relay_vector() -> None:
    v = vectors()
    client, relayed = v["client"], v["relayed"]
    message = parse_voice_message(client)
    assert message.sender_id == 99 and message.sequence == 1000
    assert message.opus == bytes.fromhex("f8fffe") and message.capture_time_us == 123456
    assert stamp(message, 3, 2) == relayed
    assert varint_field(1, 3) + varint_field(2, 2) == relayed[:4]
    assert bytes([0x48]) not in relayed[-2:]  # the unknown field 9 is not relayed
