"""Voice datagram encode/decode.

One QUIC DATAGRAM frame carries one `VoiceDatagram`. The server overwrites
`sender_id` and `room_id`; `stamp` does that on the already parsed message so
the relay serializes once per incoming datagram, not once per recipient.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import DecodeError

from voip.errors import MalformedMessage
from voip.proto import voip_pb2

#: A whole datagram must fit one QUIC packet: aioquic builds packets of at most
#: 1200 bytes, and the short header, DATAGRAM frame header and AEAD tag take
#: up to ~64 of them. A datagram that does not fit would stall the sender's
#: datagram queue, so the limit sits safely below 1136 bytes.
MAX_VOICE_DATAGRAM = 1100
#: Upper bound for the Opus payload inside a datagram, the current packet and
#: the redundant copy of the previous one together: 200 kbit/s each for 20 ms,
#: far above the 16-64 kbit/s voice uses, with room for the other fields
#: (at most ~45 bytes of tags, varints and lengths).
MAX_OPUS_PAYLOAD = 1000

#: Width of `VoiceDatagram.sequence`: every sender, engine and jitter buffer
#: counts in this space, wrapping at `SEQUENCE_MODULUS`.
SEQUENCE_BITS = 32
SEQUENCE_MODULUS = 1 << SEQUENCE_BITS
#: At most this many copies of frames older than the previous one per datagram.
MAX_OLDER_COPIES = 2


@dataclass(frozen=True, slots=True)
class VoiceFrame:
    """A decoded voice datagram, as handed to the audio side."""

    sender_id: int
    room_id: int
    sequence: int
    opus: bytes
    end_of_transmission: bool = False
    capture_time_us: int = 0
    #: The previous frame's full Opus packet (RED), or empty.
    redundant_opus: bytes = b""
    #: Copies of frames sequence - 2, sequence - 3 (empty where not sent).
    older_redundant_opus: tuple[bytes, ...] = ()

    def copies(self) -> tuple[bytes, ...]:
        """All redundant copies, newest first: frames sequence - 1, - 2, ..."""
        return (self.redundant_opus, *self.older_redundant_opus)


def encode_voice(frame: VoiceFrame) -> bytes:
    """Serialize a voice frame for a QUIC datagram."""
    if len(frame.older_redundant_opus) > MAX_OLDER_COPIES:
        raise ValueError(f"at most {MAX_OLDER_COPIES} older redundant copies per datagram")
    payload = len(frame.opus) + sum(len(c) for c in frame.copies())
    if payload > MAX_OPUS_PAYLOAD:
        raise ValueError(
            f"opus payload of {payload} bytes (packet and redundant copies) "
            f"exceeds {MAX_OPUS_PAYLOAD}"
        )
    return voip_pb2.VoiceDatagram(
        sender_id=frame.sender_id,
        room_id=frame.room_id,
        sequence=frame.sequence % SEQUENCE_MODULUS,
        opus=frame.opus,
        end_of_transmission=frame.end_of_transmission,
        capture_time_us=frame.capture_time_us,
        redundant_opus=frame.redundant_opus,
        older_redundant_opus=frame.older_redundant_opus,
    ).SerializeToString()


def parse_voice_message(data: bytes) -> voip_pb2.VoiceDatagram:
    """Parse and bound-check a datagram, raising MalformedMessage on garbage."""
    if len(data) > MAX_VOICE_DATAGRAM:
        raise MalformedMessage(
            f"voice datagram of {len(data)} bytes exceeds {MAX_VOICE_DATAGRAM} bytes"
        )
    message = voip_pb2.VoiceDatagram()
    try:
        message.ParseFromString(data)
    except DecodeError as exc:
        raise MalformedMessage(f"voice datagram could not be decoded: {exc}") from exc
    if not message.opus and not message.end_of_transmission:
        raise MalformedMessage("voice datagram carries no audio")
    if len(message.older_redundant_opus) > MAX_OLDER_COPIES:
        raise MalformedMessage(
            f"voice datagram carries {len(message.older_redundant_opus)} older copies; "
            f"at most {MAX_OLDER_COPIES} are allowed"
        )
    payload = len(message.opus) + len(message.redundant_opus)
    payload += sum(len(c) for c in message.older_redundant_opus)
    if payload > MAX_OPUS_PAYLOAD:
        raise MalformedMessage(
            f"voice datagram carries {payload} bytes of Opus (packet and redundant copies); "
            f"the limit is {MAX_OPUS_PAYLOAD}"
        )
    return message


def decode_voice(data: bytes) -> VoiceFrame:
    """Parse a datagram into a `VoiceFrame`."""
    m = parse_voice_message(data)
    return VoiceFrame(
        sender_id=m.sender_id,
        room_id=m.room_id,
        sequence=m.sequence,
        opus=m.opus,
        end_of_transmission=m.end_of_transmission,
        capture_time_us=m.capture_time_us,
        redundant_opus=m.redundant_opus,
        older_redundant_opus=tuple(m.older_redundant_opus),
    )


def stamp(message: voip_pb2.VoiceDatagram, sender_id: int, room_id: int) -> bytes:
    """Overwrite the sender and room the client claimed; serialize once.

    Only the fields of `VoiceDatagram` are kept: unknown fields, and known
    ones sent with the wrong wire type (which the parser keeps as unknown),
    are not relayed.
    """
    message.DiscardUnknownFields()
    message.sender_id = sender_id
    message.room_id = room_id
    return message.SerializeToString()
