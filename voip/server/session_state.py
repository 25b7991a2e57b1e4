"""Authentication states of one client session, as a transition table.

Written the h11 ``_state.py`` way: the table is data, so it can be read at a
glance and tested directly, and the core cannot wander into a state nobody
planned for. Which messages a session may send in each state is also data
(`accepts_requests`), so every handler starts with the same guard.
"""

from __future__ import annotations

from enum import Enum

from voip.errors import ProtocolError


class SessionState(Enum):
    CONNECTED = "connected"  # QUIC handshake done, control stream not opened yet
    CHALLENGED = "challenged"  # challenge sent, waiting for ClientHello
    AUTHENTICATED = "authenticated"  # Welcome sent; a user in the shared state
    CLOSED = "closed"  # terminal


class SessionEvent(Enum):
    STREAM_OPENED = "stream_opened"
    HELLO_ACCEPTED = "hello_accepted"
    HELLO_REJECTED = "hello_rejected"
    VIOLATION = "violation"  # garbage on the stream
    REPLACED = "replaced"  # the same key connected again
    KICKED = "kicked"  # a moderator kicked or banned the user
    DISCONNECTED = "disconnected"  # the QUIC connection ended
    SHUTDOWN = "shutdown"


class InvalidTransition(ProtocolError):
    """The core tried a transition the table does not allow (a bug, not a peer error)."""


_S = SessionState
_E = SessionEvent

#: Every allowed transition. Anything missing is a bug in the caller.
TRANSITIONS: dict[SessionState, dict[SessionEvent, SessionState]] = {
    _S.CONNECTED: {
        _E.STREAM_OPENED: _S.CHALLENGED,
        _E.VIOLATION: _S.CLOSED,
        _E.DISCONNECTED: _S.CLOSED,
        _E.SHUTDOWN: _S.CLOSED,
    },
    _S.CHALLENGED: {
        _E.HELLO_ACCEPTED: _S.AUTHENTICATED,
        _E.HELLO_REJECTED: _S.CLOSED,
        _E.VIOLATION: _S.CLOSED,
        _E.DISCONNECTED: _S.CLOSED,
        _E.SHUTDOWN: _S.CLOSED,
    },
    _S.AUTHENTICATED: {
        _E.REPLACED: _S.CLOSED,
        _E.KICKED: _S.CLOSED,
        _E.VIOLATION: _S.CLOSED,
        _E.DISCONNECTED: _S.CLOSED,
        _E.SHUTDOWN: _S.CLOSED,
    },
    # Late events for a closed session (the QUIC close arrives after we decided
    # to close) are harmless and keep it closed.
    _S.CLOSED: {
        _E.VIOLATION: _S.CLOSED,
        _E.DISCONNECTED: _S.CLOSED,
        _E.SHUTDOWN: _S.CLOSED,
    },
}


def next_state(state: SessionState, event: SessionEvent) -> SessionState:
    """The state after `event`, or InvalidTransition if the table has no such edge."""
    try:
        return TRANSITIONS[state][event]
    except KeyError:
        raise InvalidTransition(
            f"session event {event.value} is not allowed in state {state.value}"
        ) from None


def accepts_requests(state: SessionState) -> bool:
    """Room/chat/resync requests are served only to authenticated sessions."""
    return state is SessionState.AUTHENTICATED


def has_control_stream(state: SessionState) -> bool:
    """Only a session whose client opened the control stream can be sent envelopes."""
    return state in (SessionState.CHALLENGED, SessionState.AUTHENTICATED)


def accepts_hello(state: SessionState) -> bool:
    return state is SessionState.CHALLENGED


def accepts_voice(state: SessionState) -> bool:
    return state is SessionState.AUTHENTICATED
