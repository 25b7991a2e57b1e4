"""What the connection side reports about the connection itself, for the model to show.

The session (`voip.client.session`) reports facts; `ClientModel` turns them
into the `ConnectionState` a front end draws, so the transport never builds
the GUI's types. Frozen and slotted: they cross from the connection's loop
thread to the state owner.
"""

from __future__ import annotations

from dataclasses import dataclass

from voip.proto import voip_pb2


@dataclass(frozen=True, slots=True)
class ConnectStarted:
    server_addr: str


@dataclass(frozen=True, slots=True)
class TrustAsked:
    """The certificate is unknown; the user must accept or reject it."""

    server_addr: str
    fingerprint_text: str
    reason: str = ""  # why it does not verify


@dataclass(frozen=True, slots=True)
class SessionWelcomed:
    server_addr: str
    welcome: voip_pb2.Welcome
    certificate_note: str = ""  # said once: e.g. a verified certificate took over the pin


@dataclass(frozen=True, slots=True)
class SessionLost:
    """The connection failed or ended without the user asking; `reason` says why."""

    reason: str
    server_addr: str


@dataclass(frozen=True, slots=True)
class SessionClosed:
    """No connection and none wanted (Disconnect, or a rejected certificate)."""


ConnectionEvent = ConnectStarted | TrustAsked | SessionWelcomed | SessionLost | SessionClosed
