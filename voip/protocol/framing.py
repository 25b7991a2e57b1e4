"""Length-prefixed framing of `Envelope` messages on the control stream.

Each frame is a protobuf varint holding the body length, then the body. QUIC
delivers stream data in arbitrary chunks, so the decoder is incremental: feed
it whatever arrived and it returns every complete message. A frame longer
than the agreed maximum is rejected as soon as its length is known, before
its body is buffered, so a hostile peer cannot make us hold megabytes.
"""

from __future__ import annotations

from google.protobuf.message import DecodeError

from voip.errors import FrameTooLarge, MalformedMessage, TruncatedFrame
from voip.proto import voip_pb2

#: Default limit for one control message. Chat text is capped far below it;
#: the largest legitimate message is a full ServerState of a big server.
DEFAULT_MAX_FRAME = 1 << 20

# A varint for lengths up to 2**35 fits in 5 bytes; more is never legitimate.
_MAX_VARINT_BYTES = 5


def encode_varint(value: int) -> bytes:
    """Encode a non-negative integer as a protobuf base-128 varint."""
    if value < 0:
        raise ValueError("varint value must be non-negative")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def encode_frame(body: bytes) -> bytes:
    """Prefix already-serialized bytes with their varint length."""
    return encode_varint(len(body)) + body


def encode_envelope(envelope: voip_pb2.Envelope) -> bytes:
    """Serialize an Envelope and frame it for the control stream."""
    return encode_frame(envelope.SerializeToString())


class FrameDecoder:
    """Incremental decoder of varint-length-prefixed frames.

    Not thread-safe; one per stream. After it raises, the stream is unusable
    (the framing is lost) and the caller must close it.
    """

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.max_frame = max_frame
        self._buffer = bytearray()

    @property
    def buffered(self) -> int:
        """Bytes held that do not yet form a complete frame."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return the bodies of all frames now complete."""
        self._buffer += data
        frames: list[bytes] = []
        pos = 0
        buf = self._buffer
        while True:
            header = _read_varint(buf, pos)
            if header is None:
                break
            length, body_start = header
            if length > self.max_frame:
                raise FrameTooLarge(length, self.max_frame)
            end = body_start + length
            if end > len(buf):
                break
            frames.append(bytes(buf[body_start:end]))
            pos = end
        if pos:
            del buf[:pos]
        return frames

    def feed_envelopes(self, data: bytes) -> list[voip_pb2.Envelope]:
        """Like `feed`, parsing each frame as an Envelope."""
        return [parse_envelope(body) for body in self.feed(data)]

    def close(self) -> None:
        """Declare end of stream; raise if it cut a frame in half."""
        if self._buffer:
            raise TruncatedFrame(
                f"the stream ended inside a frame ({len(self._buffer)} bytes of an "
                "incomplete message were left); the peer closed too early"
            )


def _read_varint(buf: bytearray, pos: int) -> tuple[int, int] | None:
    """Return (value, position after it), or None if more bytes are needed."""
    value = 0
    shift = 0
    for i in range(pos, min(len(buf), pos + _MAX_VARINT_BYTES)):
        byte = buf[i]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, i + 1
        shift += 7
    if len(buf) - pos >= _MAX_VARINT_BYTES:
        raise MalformedMessage(
            "frame length prefix is longer than 5 bytes; the stream is corrupt"
        )
    return None


def parse_envelope(body: bytes) -> voip_pb2.Envelope:
    """Parse one frame body, turning protobuf's error into ours."""
    envelope = voip_pb2.Envelope()
    try:
        envelope.ParseFromString(body)
    except DecodeError as exc:
        raise MalformedMessage(f"control message could not be decoded: {exc}") from exc
    return envelope
