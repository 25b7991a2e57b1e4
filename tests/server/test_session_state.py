"""The auth-state transition table, tested directly (h11 style)."""

from __future__ import annotations

import pytest

from voip.server.session_state import (
    TRANSITIONS,
    InvalidTransition,
    SessionEvent,
    SessionState,
    accepts_hello,
    accepts_requests,
    accepts_voice,
    next_state,
)

S, E = SessionState, SessionEvent


def test_happy_path() -> None:
    state = S.CONNECTED
    state = next_state(state, E.STREAM_OPENED)
    assert state is S.CHALLENGED
    state = next_state(state, E.HELLO_ACCEPTED)
    assert state is S.AUTHENTICATED
    assert next_state(state, E.DISCONNECTED) is S.CLOSED


@pytest.mark.parametrize("state", list(S))
def test_every_state_can_be_disconnected_and_shut_down(state: SessionState) -> None:
    assert next_state(state, E.DISCONNECTED) is S.CLOSED
    assert next_state(state, E.SHUTDOWN) is S.CLOSED
    assert next_state(state, E.VIOLATION) is S.CLOSED


def test_closed_is_terminal() -> None:
    assert set(TRANSITIONS[S.CLOSED].values()) == {S.CLOSED}


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (S.CONNECTED, E.HELLO_ACCEPTED),
        (S.CHALLENGED, E.STREAM_OPENED),
        (S.AUTHENTICATED, E.HELLO_ACCEPTED),
        (S.AUTHENTICATED, E.STREAM_OPENED),
        (S.CHALLENGED, E.REPLACED),
        (S.CLOSED, E.HELLO_ACCEPTED),
    ],
)
def test_missing_edges_raise(state: SessionState, event: SessionEvent) -> None:
    with pytest.raises(InvalidTransition, match=event.value):
        next_state(state, event)


def test_guards() -> None:
    assert [s for s in S if accepts_requests(s)] == [S.AUTHENTICATED]
    assert [s for s in S if accepts_voice(s)] == [S.AUTHENTICATED]
    assert [s for s in S if accepts_hello(s)] == [S.CHALLENGED]
