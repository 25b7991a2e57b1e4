"""The client's connection phases, as a transition table (mirrors ``server/session_state.py``).

Written the h11 ``_state.py`` way: the table is data, read at a glance and
tested directly, and the core cannot wander into a phase nobody planned
for. What each phase accepts from the server is data too (`EXPECTED`,
`accepts_requests`, `accepts_voice`), so every handler starts with the same
guard.
"""

from __future__ import annotations

from enum import Enum

from voip.errors import ProtocolError


class Phase(Enum):
    TLS = "tls"  # QUIC + TLS handshake, then the certificate decision
    CHALLENGE = "challenge"  # control stream opened, waiting for the challenge
    WELCOME = "welcome"  # hello sent, waiting for welcome
    READY = "ready"  # welcomed: requests, state, voice
    CLOSED = "closed"  # terminal


class PhaseEvent(Enum):
    TRUSTED = "trusted"  # the certificate is verified or pinned
    UNTRUSTED = "untrusted"  # unknown certificate: the user must decide first
    HELLO_SENT = "hello_sent"
    WELCOMED = "welcomed"
    FAILED = "failed"  # refused, broken server, deadline, pin mismatch
    STOPPED = "stopped"  # the user (or shutdown) ended it
    ENDED = "ended"  # the QUIC connection is gone


class InvalidTransition(ProtocolError):
    """The core tried a transition the table does not allow (a bug, not a server error)."""


_P = Phase
_E = PhaseEvent
_ENDINGS = {_E.FAILED: _P.CLOSED, _E.STOPPED: _P.CLOSED, _E.ENDED: _P.CLOSED}

#: Every allowed transition. Anything missing is a bug in the caller.
TRANSITIONS: dict[Phase, dict[PhaseEvent, Phase]] = {
    _P.TLS: {_E.TRUSTED: _P.CHALLENGE, _E.UNTRUSTED: _P.CLOSED, **_ENDINGS},
    _P.CHALLENGE: {_E.HELLO_SENT: _P.WELCOME, **_ENDINGS},
    _P.WELCOME: {_E.WELCOMED: _P.READY, **_ENDINGS},
    _P.READY: dict(_ENDINGS),
    # Late news for a closed connection (its QUIC close after our decision)
    # keeps it closed.
    _P.CLOSED: dict(_ENDINGS),
}

#: In a handshake phase, the one payload the server may send next, and how
#: to say that it sent something else.
EXPECTED: dict[Phase, tuple[str, str]] = {
    _P.CHALLENGE: ("challenge", "before its challenge"),
    _P.WELCOME: ("welcome", "instead of welcome"),
}


def next_phase(phase: Phase, event: PhaseEvent) -> Phase:
    """The phase after `event`, or InvalidTransition if the table has no such edge."""
    try:
        return TRANSITIONS[phase][event]
    except KeyError:
        raise InvalidTransition(
            f"connection event {event.value} is not allowed in phase {phase.value}"
        ) from None


def in_handshake(phase: Phase) -> bool:
    """Still before the welcome: the hello deadline runs."""
    return phase in (Phase.TLS, Phase.CHALLENGE, Phase.WELCOME)


def accepts_requests(phase: Phase) -> bool:
    return phase is Phase.READY


def accepts_voice(phase: Phase) -> bool:
    return phase is Phase.READY
