"""Voice datagram helpers."""

from __future__ import annotations

import pytest

from voip.errors import MalformedMessage
from voip.protocol.voice import (
    MAX_OPUS_PAYLOAD,
    MAX_VOICE_DATAGRAM,
    VoiceFrame,
    decode_voice,
    encode_voice,
    parse_voice_message,
    stamp,
)


def test_roundtrip() -> None:
    frame = VoiceFrame(sender_id=5, room_id=2, sequence=2**32 - 1, opus=b"\x01\x02\x03",
                       end_of_transmission=True, capture_time_us=123456789)
    assert decode_voice(encode_voice(frame)) == frame


def test_sequence_wraps() -> None:
    frame = VoiceFrame(sender_id=1, room_id=1, sequence=2**32 + 5, opus=b"x")
    assert decode_voice(encode_voice(frame)).sequence == 5


def test_stamp_overwrites_forged_fields() -> None:
    forged = encode_voice(VoiceFrame(sender_id=999, room_id=777, sequence=3, opus=b"abc"))
    message = parse_voice_message(forged)
    relayed = decode_voice(stamp(message, sender_id=4, room_id=1))
    assert (relayed.sender_id, relayed.room_id, relayed.sequence, relayed.opus) == (4, 1, 3, b"abc")


@pytest.mark.parametrize(
    "data",
    [b"\xff\xff\xff", b"", b"\x08\x01", b"\x00" * (MAX_VOICE_DATAGRAM + 1)],
    ids=["garbage", "empty", "no-audio", "oversized"],
)
def test_bad_datagrams_rejected(data: bytes) -> None:
    with pytest.raises(MalformedMessage):
        parse_voice_message(data)


def test_oversized_payload_refused_on_encode() -> None:
    with pytest.raises(ValueError):
        encode_voice(VoiceFrame(sender_id=0, room_id=0, sequence=0, opus=b"x" * 5000))


def test_redundant_copy_roundtrips_and_survives_stamping() -> None:
    frame = VoiceFrame(sender_id=0, room_id=0, sequence=8, opus=b"now", redundant_opus=b"before")
    assert decode_voice(encode_voice(frame)).redundant_opus == b"before"
    relayed = decode_voice(stamp(parse_voice_message(encode_voice(frame)), 4, 1))
    assert (relayed.sender_id, relayed.redundant_opus) == (4, b"before")


def test_largest_packet_pair_fits_the_datagram_cap() -> None:
    half = MAX_OPUS_PAYLOAD // 2
    frame = VoiceFrame(
        sender_id=2**32 - 1, room_id=2**32 - 1, sequence=2**32 - 1, opus=b"x" * half,
        redundant_opus=b"y" * (MAX_OPUS_PAYLOAD - half), end_of_transmission=True,
        capture_time_us=2**64 - 1,
    )
    data = encode_voice(frame)
    assert len(data) <= MAX_VOICE_DATAGRAM
    assert decode_voice(data) == frame
    with pytest.raises(ValueError):
        encode_voice(VoiceFrame(0, 0, 0, opus=b"x" * half, redundant_opus=b"y" * (half + 1)))


def test_older_copies_roundtrip_and_are_bounded() -> None:
    frame = VoiceFrame(0, 0, 9, opus=b"now", redundant_opus=b"n-1",
                       older_redundant_opus=(b"n-2", b""))
    decoded = decode_voice(stamp(parse_voice_message(encode_voice(frame)), 3, 1))
    assert decoded.older_redundant_opus == (b"n-2", b"")
    assert decoded.copies() == (b"n-1", b"n-2", b"")
    third = MAX_OPUS_PAYLOAD // 3
    full = VoiceFrame(2**32 - 1, 2**32 - 1, 2**32 - 1, opus=b"x" * third,
                      redundant_opus=b"y" * third,
                      older_redundant_opus=(b"z" * (MAX_OPUS_PAYLOAD - 2 * third - 2), b"w" * 2),
                      capture_time_us=2**64 - 1)
    assert len(encode_voice(full)) <= MAX_VOICE_DATAGRAM
    with pytest.raises(ValueError, match="exceeds"):
        encode_voice(VoiceFrame(0, 0, 0, opus=b"x" * third, redundant_opus=b"y" * third,
                                older_redundant_opus=(b"z" * (third + 10),)))
    with pytest.raises(ValueError, match="at most 2"):
        encode_voice(VoiceFrame(0, 0, 0, opus=b"x", older_redundant_opus=(b"a", b"b", b"c")))
    from voip.proto import voip_pb2

    hostile = voip_pb2.VoiceDatagram(sequence=1, opus=b"x", older_redundant_opus=[b"a"] * 3)
    with pytest.raises(MalformedMessage, match="at most 2"):
        parse_voice_message(hostile.SerializeToString())
