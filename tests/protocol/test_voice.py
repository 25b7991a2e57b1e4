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
