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

#: Larger than any 20 ms Opus frame we send (510 kbit/s tops out at ~1275 B)
#: plus the protobuf fields, and below the QUIC datagram limit we advertise.
MAX_VOICE_DATAGRAM = 1200
#: Upper bound for the Opus payload inside a datagram.
MAX_OPUS_PAYLOAD = 1100

SEQUENCE_MODULUS = 1 << 32


@dataclass(frozen=True, slots=True)
class VoiceFrame:
    """A decoded voice datagram, as handed to the audio side."""

    sender_id: int
    room_id: int
    sequence: int
    opus: bytes
    end_of_transmission: bool = False
    capture_time_us: int = 0


def encode_voice(frame: VoiceFrame) -> bytes:
    """Serialize a voice frame for a QUIC datagram."""
    if len(frame.opus) > MAX_OPUS_PAYLOAD:
        raise ValueError(f"opus payload of {len(frame.opus)} bytes exceeds {MAX_OPUS_PAYLOAD}")
    return voip_pb2.VoiceDatagram(
        sender_id=frame.sender_id,
        room_id=frame.room_id,
        sequence=frame.sequence % SEQUENCE_MODULUS,
        opus=frame.opus,
        end_of_transmission=frame.end_of_transmission,
        capture_time_us=frame.capture_time_us,
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
    )


def stamp(message: voip_pb2.VoiceDatagram, sender_id: int, room_id: int) -> bytes:
    """Overwrite the sender and room the client claimed; serialize once."""
    message.sender_id = sender_id
    message.room_id = room_id
    return message.SerializeToString()
