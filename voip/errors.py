"""The project's exception hierarchy.

One small tree so callers can catch by layer (``ProtocolError``,
``AudioError``, ...) and every message tells the user what happened and what
to do about it.
"""

from __future__ import annotations


class VoipError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(VoipError):
    """A setting, flag or config file is invalid or contradictory."""


# --- protocol -------------------------------------------------------------


class ProtocolError(VoipError):
    """The peer sent bytes that do not follow docs/PROTOCOL.md."""


class FrameTooLarge(ProtocolError):
    """A stream frame announced a length above the agreed maximum."""

    def __init__(self, length: int, maximum: int) -> None:
        super().__init__(
            f"stream frame of {length} bytes exceeds the maximum of {maximum} bytes; "
            "the peer is broken or hostile, so the stream is closed"
        )
        self.length = length
        self.maximum = maximum


class TruncatedFrame(ProtocolError):
    """The stream ended in the middle of a frame."""


class MalformedMessage(ProtocolError):
    """Bytes that should hold a protobuf message could not be parsed or validated."""


class StateHashMismatch(ProtocolError):
    """The locally computed state hash differs from the server's: resync needed."""

    def __init__(self, expected: bytes, actual: bytes) -> None:
        super().__init__(
            f"state hash mismatch: server says {expected.hex()[:16]}…, local state gives "
            f"{actual.hex()[:16]}…; request a full resync"
        )
        self.expected = expected
        self.actual = actual


class InvalidUpdate(ProtocolError):
    """A state update refers to rooms or users that do not exist in the state."""


# --- identity and authentication ---------------------------------------------


class IdentityError(VoipError):
    """The client key file is missing, unreadable or corrupt."""


class AuthError(VoipError):
    """Authentication failed (wrong password, bad signature, malformed hello)."""


# --- certificates --------------------------------------------------------------


class CertificateError(VoipError):
    """A server certificate could not be created, loaded or trusted."""


class FingerprintMismatch(CertificateError):
    """A pinned server presented a different certificate than the one pinned."""

    def __init__(self, address: str, pinned: str, presented: str) -> None:
        super().__init__(
            f"the server at {address} presented certificate {presented}, but "
            f"{pinned} is pinned for it; this may be an attack. If the server's "
            "certificate was really replaced, remove its entry from known_servers.toml"
        )
        self.address = address
        self.pinned = pinned
        self.presented = presented


class AcmeError(CertificateError):
    """An ACME order failed; the message carries the CA's own error text."""


# --- storage ---------------------------------------------------------------------


class StorageError(VoipError):
    """The server database could not be opened, read or written."""


class SchemaTooNew(StorageError):
    """The database was written by a newer version of the server."""


# --- audio -------------------------------------------------------------------------


class AudioError(VoipError):
    """Audio capture, playback or coding failed."""


class AudioDeviceError(AudioError):
    """An audio device is missing, busy or vanished."""


class CodecError(AudioError):
    """libopus reported an error or is not available."""
