"""Framing of Envelopes on the control stream."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voip.errors import FrameTooLarge, MalformedMessage, TruncatedFrame
from voip.proto import voip_pb2
from voip.protocol.framing import (
    FrameDecoder,
    encode_envelope,
    encode_frame,
    encode_varint,
    parse_envelope,
)


def _sample_envelopes() -> list[voip_pb2.Envelope]:
    return [
        voip_pb2.Envelope(),
        voip_pb2.Envelope(request_id=7, send_chat=voip_pb2.SendChat(text="hello")),
        voip_pb2.Envelope(
            state_hash=b"\x01" * 32,
            state_update=voip_pb2.StateUpdate(
                user_moved=voip_pb2.UserMoved(user_id=3, room_id=9)
            ),
        ),
        voip_pb2.Envelope(send_chat=voip_pb2.SendChat(text="x" * 300)),  # 2-byte varint
        voip_pb2.Envelope(error=voip_pb2.Error(code=voip_pb2.UNKNOWN_ROOM, message="no")),
    ]


def test_varint_known_values() -> None:
    assert encode_varint(0) == b"\x00"
    assert encode_varint(127) == b"\x7f"
    assert encode_varint(128) == b"\x80\x01"
    assert encode_varint(300) == b"\xac\x02"
    with pytest.raises(ValueError):
        encode_varint(-1)


def test_random_chunking_yields_same_messages() -> None:
    messages = _sample_envelopes() * 5
    stream = b"".join(encode_envelope(m) for m in messages)
    rng = random.Random(1234)
    for _ in range(50):
        decoder = FrameDecoder()
        got: list[voip_pb2.Envelope] = []
        pos = 0
        while pos < len(stream):
            step = rng.randint(1, 40)
            got.extend(decoder.feed_envelopes(stream[pos : pos + step]))
            pos += step
        decoder.close()
        assert got == messages


def test_byte_by_byte() -> None:
    messages = _sample_envelopes()
    stream = b"".join(encode_envelope(m) for m in messages)
    decoder = FrameDecoder()
    got = []
    for i in range(len(stream)):
        got.extend(decoder.feed_envelopes(stream[i : i + 1]))
    assert got == messages
    assert decoder.buffered == 0


def test_oversized_frame_rejected_before_body_arrives() -> None:
    decoder = FrameDecoder(max_frame=100)
    header = encode_varint(101)
    with pytest.raises(FrameTooLarge) as info:
        decoder.feed(header)  # only the length prefix: rejected already
    assert info.value.length == 101
    assert "maximum of 100" in str(info.value)


def test_frame_at_limit_accepted() -> None:
    decoder = FrameDecoder(max_frame=100)
    assert decoder.feed(encode_frame(b"a" * 100)) == [b"a" * 100]


def test_truncated_input_detected_on_close() -> None:
    data = encode_envelope(_sample_envelopes()[1])
    decoder = FrameDecoder()
    assert decoder.feed(data[:-2]) == []
    with pytest.raises(TruncatedFrame):
        decoder.close()


def test_truncated_length_prefix_detected_on_close() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(b"\x80") == []  # varint continues
    with pytest.raises(TruncatedFrame):
        decoder.close()


def test_overlong_varint_is_malformed() -> None:
    decoder = FrameDecoder()
    with pytest.raises(MalformedMessage):
        decoder.feed(b"\xff" * 6)


def test_garbage_body_is_malformed() -> None:
    with pytest.raises(MalformedMessage):
        parse_envelope(b"\xff\xff\xff\xff")


def test_empty_frame_is_empty_envelope() -> None:
    # The client opens the control stream with one empty frame.
    assert FrameDecoder().feed_envelopes(b"\x00") == [voip_pb2.Envelope()]


@given(
    bodies=st.lists(st.binary(max_size=600), max_size=20),
    cuts=st.lists(st.integers(min_value=0, max_value=20_000), max_size=30),
)
def test_property_any_chunking_roundtrips(bodies: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(encode_frame(b) for b in bodies)
    points = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})
    decoder = FrameDecoder()
    got: list[bytes] = []
    for a, b in itertools.pairwise(points):
        got.extend(decoder.feed(stream[a:b]))
    decoder.close()
    assert got == bodies


@given(bodies=st.lists(st.binary(min_size=1, max_size=300), min_size=1, max_size=10))
def test_property_truncation_never_yields_partial_frames(bodies: list[bytes]) -> None:
    stream = b"".join(encode_frame(b) for b in bodies)
    cut = len(stream) - 1
    decoder = FrameDecoder()
    got = decoder.feed(stream[:cut])
    assert got == bodies[:-1]
    with pytest.raises(TruncatedFrame):
        decoder.close()
