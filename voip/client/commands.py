"""Commands a front end sends to the backend with `BackendHandle.send`.

Commands are frozen dataclasses: plain values that cross from the UI thread
into the actors. Sending never raises and never blocks; whatever goes wrong
(bad argument, no connection, the server refuses) appears as an
`ErrorNotice` in the next `State`, naming the command.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from voip.client.moderation import (
    MODERATION_COMMANDS,
    ModerationCommand,
    moderation_problem,
)
from voip.client.moderation import request_of as moderation_request_of
from voip.client.state import MAX_VOLUME, MIN_VOLUME, TransmissionMode
from voip.protocol.state import name_problem

# --- connection ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Connect:
    """Connect to ``host[:port]`` (IPv6 as ``[::1]:port``).

    `ca_file` adds a PEM CA bundle to the system trust store for this
    connection (tests, private CAs); a certificate that verifies against it
    needs no pinning.
    """

    address: str
    display_name: str
    password: str = ""
    ca_file: str | None = None


@dataclass(frozen=True, slots=True)
class Disconnect:
    pass


@dataclass(frozen=True, slots=True)
class AcceptCertificate:
    """Pin the certificate shown in `AwaitingTrust` and connect."""


@dataclass(frozen=True, slots=True)
class RejectCertificate:
    """Refuse the certificate shown in `AwaitingTrust`; go back to Disconnected."""


@dataclass(frozen=True, slots=True)
class RequestResync:
    """Ask the server for a full state snapshot (normally automatic)."""


# --- rooms and chat ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JoinRoom:
    room_id: int


@dataclass(frozen=True, slots=True)
class CreateRoom:
    parent_id: int
    name: str


@dataclass(frozen=True, slots=True)
class DeleteRoom:
    room_id: int


@dataclass(frozen=True, slots=True)
class RenameRoom:
    room_id: int
    name: str


@dataclass(frozen=True, slots=True)
class SendChat:
    """Send a line to everyone in my current room."""

    text: str


@dataclass(frozen=True, slots=True)
class SetDisplayName:
    name: str


# --- audio -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SetInputDevice:
    name: str | None  # None: the system default


@dataclass(frozen=True, slots=True)
class SetOutputDevice:
    name: str | None


@dataclass(frozen=True, slots=True)
class SetInputVolume:
    volume: float  # 0..2, 1 = unchanged


@dataclass(frozen=True, slots=True)
class SetOutputVolume:
    volume: float


#: Noise suppressors `SetAudioProcessing` accepts (docs/AUDIO.md, "Voice processing").
NOISE_SUPPRESSORS = ("rnnoise", "speex", "deepfilter", "off")


@dataclass(frozen=True, slots=True)
class SetAudioProcessing:
    """The capture chain; a field left None keeps its current value."""

    noise_suppression: str | None = None  # one of NOISE_SUPPRESSORS
    gain_control: bool | None = None
    echo_cancellation: bool | None = None  # for speakers; headsets do not need it


@dataclass(frozen=True, slots=True)
class RefreshAudioDevices:
    pass


@dataclass(frozen=True, slots=True)
class SetTransmissionMode:
    mode: TransmissionMode
    vad_threshold_db: float | None = None  # only changes the threshold when given


@dataclass(frozen=True, slots=True)
class StartTransmit:
    """Push-to-talk pressed."""


@dataclass(frozen=True, slots=True)
class StopTransmit:
    """Push-to-talk released."""


@dataclass(frozen=True, slots=True)
class SetPushToTalkKey:
    key: str


@dataclass(frozen=True, slots=True)
class StartLoopbackTest:
    """Play the microphone back locally (works without a connection)."""


@dataclass(frozen=True, slots=True)
class StopLoopbackTest:
    pass


@dataclass(frozen=True, slots=True)
class SetSelfMute:
    """Mute and/or deafen yourself (deafen implies mute and stops playback).

    Takes effect locally at once, connected or not, and is sent to the server
    while connected so everyone sees it; a front end sends it again after
    reconnecting (the server starts every session unmuted).
    """

    self_mute: bool
    self_deaf: bool = False


@dataclass(frozen=True, slots=True)
class SetUserVolume:
    """How loud another user is played here: 0..2 (1 = as sent), or muted locally."""

    user_id: int
    volume: float = 1.0
    muted: bool = False


# --- UI bookkeeping ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DismissError:
    error_id: int


ConnectionCommand = Connect | Disconnect | AcceptCertificate | RejectCertificate | RequestResync
# --- file sharing (docs/SHARING.md) ------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShareFile:
    """Offer the file at `path` in my current room (hashed first; it must stay there)."""

    path: str


@dataclass(frozen=True, slots=True)
class DownloadFile:
    """Fetch a file shared in my room (by its v2 info-hash) into the downloads folder."""

    info_hash: bytes


@dataclass(frozen=True, slots=True)
class OfferTorrent:
    """The share_file request (sent by the sharing actor)."""

    torrent: bytes


@dataclass(frozen=True, slots=True)
class AnnounceFile:
    """The announce request (sent by the sharing actor); answered by a PeerList."""

    info_hash: bytes
    port: int = 0
    complete: bool = False
    stopped: bool = False


SharingCommand = ShareFile | DownloadFile
ServerCommand = (
    JoinRoom
    | CreateRoom
    | DeleteRoom
    | RenameRoom
    | SendChat
    | SetDisplayName
    | ModerationCommand
    | OfferTorrent
    | AnnounceFile
)
AudioCommand = (
    SetInputDevice
    | SetOutputDevice
    | SetInputVolume
    | SetOutputVolume
    | SetAudioProcessing
    | RefreshAudioDevices
    | SetTransmissionMode
    | StartTransmit
    | StopTransmit
    | SetPushToTalkKey
    | StartLoopbackTest
    | StopLoopbackTest
    | SetSelfMute
    | SetUserVolume
)
Command = ConnectionCommand | ServerCommand | AudioCommand | SharingCommand | DismissError

#: Commands that are server requests: command -> its row in
#: voip.protocol.requests. A command's fields are named as its message's.
REQUEST_KINDS: dict[type, str] = {
    JoinRoom: "join_room",
    CreateRoom: "create_room",
    DeleteRoom: "delete_room",
    RenameRoom: "rename_room",
    SendChat: "send_chat",
    SetDisplayName: "set_display_name",
    RequestResync: "resync_request",
    SetSelfMute: "set_self_mute",
    OfferTorrent: "share_file",
    AnnounceFile: "announce",
}

#: Commands that need a live connection (answered by the server).
NEEDS_CONNECTION = (
    *(k for k in REQUEST_KINDS if k is not SetSelfMute),
    *MODERATION_COMMANDS,
)


def request_of(command: object) -> tuple[str, dict[str, object]]:
    """The request kind a command sends and its message's fields (KeyError if none)."""
    if isinstance(command, MODERATION_COMMANDS):
        return moderation_request_of(command)
    kind = REQUEST_KINDS[type(command)]
    return kind, {f.name: getattr(command, f.name) for f in fields(command)}  # type: ignore[arg-type]


def command_name(command: object) -> str:
    return type(command).__name__


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _volume_problem(value: object) -> str | None:
    if not isinstance(value, int | float) or isinstance(value, bool) or math.isnan(value):
        return "the volume must be a number"
    if not MIN_VOLUME <= value <= MAX_VOLUME:
        return f"the volume must be between {MIN_VOLUME:g} and {MAX_VOLUME:g}"
    return None


def problem(command: object) -> str | None:
    """Why a command cannot be sent as given (a sentence), or None if it is well formed.

    Only checks what the client can know alone; the server has the last word
    (room existence, permissions, chat length).
    """
    if isinstance(command, MODERATION_COMMANDS):
        return moderation_problem(command)
    match command:
        case Connect(address=address, display_name=display_name):
            if not isinstance(address, str) or not address.strip():
                return "no server address given; enter one like voip.example.org:64738"
            if not isinstance(display_name, str):
                return "the display name must be text"
            reason = name_problem(display_name)
            return f"display name refused: {reason}; choose another" if reason else None
        case JoinRoom(room_id=rid) | DeleteRoom(room_id=rid):
            return None if _is_id(rid) else f"{rid!r} is not a room id"
        case CreateRoom(parent_id=pid, name=name):
            if not _is_id(pid):
                return f"{pid!r} is not a room id"
            reason = name_problem(name) if isinstance(name, str) else "the name is not text"
            return f"room name refused: {reason}; choose another" if reason else None
        case RenameRoom(room_id=rid, name=name):
            if not _is_id(rid):
                return f"{rid!r} is not a room id"
            reason = name_problem(name) if isinstance(name, str) else "the name is not text"
            return f"room name refused: {reason}; choose another" if reason else None
        case SendChat(text=text):
            if not isinstance(text, str) or not text.strip():
                return "the chat message is empty; type something first"
            return None
        case SetDisplayName(name=name):
            reason = name_problem(name) if isinstance(name, str) else "the name is not text"
            return f"display name refused: {reason}; choose another" if reason else None
        case ShareFile(path=path):
            if not isinstance(path, str) or not path.strip():
                return "no file given; pick a file to share"
            return None
        case DownloadFile(info_hash=info_hash):
            if not isinstance(info_hash, bytes) or len(info_hash) != 32:
                return "that is not the 32-byte v2 info-hash of a shared file"
            return None
        case SetInputVolume(volume=v) | SetOutputVolume(volume=v):
            return _volume_problem(v)
        case SetUserVolume(user_id=uid, volume=v):
            return f"{uid!r} is not a user id" if not _is_id(uid) else _volume_problem(v)
        case SetTransmissionMode(mode=mode, vad_threshold_db=threshold):
            if not isinstance(mode, TransmissionMode):
                return f"{mode!r} is not a transmission mode"
            if threshold is not None and not (-120.0 <= float(threshold) <= 0.0):
                return "the voice activation threshold must be between -120 and 0 dB"
            return None
        case SetAudioProcessing(noise_suppression=ns, gain_control=g, echo_cancellation=e):
            if ns is not None and ns not in NOISE_SUPPRESSORS:
                return (f"{ns!r} is not a noise suppressor; choose one of "
                        f"{', '.join(NOISE_SUPPRESSORS)}")
            if any(v is not None and not isinstance(v, bool) for v in (g, e)):
                return "gain control and echo cancellation are on or off (True or False)"
            return None
        case SetPushToTalkKey(key=key):
            if not isinstance(key, str) or not key.strip():
                return "the push-to-talk key is empty; press a key to bind"
            return None
        case SetInputDevice(name=name) | SetOutputDevice(name=name):
            if name is not None and not isinstance(name, str):
                return "the device name must be text or None for the default"
            return None
    return None
