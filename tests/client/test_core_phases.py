"""The client core's phase table, tested directly (as server/session_state.py's)."""

from __future__ import annotations

import pytest

from voip.client.core.phases import (
    EXPECTED,
    TRANSITIONS,
    InvalidTransition,
    Phase,
    PhaseEvent,
    accepts_requests,
    accepts_voice,
    in_handshake,
    next_phase,
)


def test_the_handshake_walks_tls_challenge_welcome_ready() -> None:
    phase = Phase.TLS
    for event, expected in [
        (PhaseEvent.TRUSTED, Phase.CHALLENGE),
        (PhaseEvent.HELLO_SENT, Phase.WELCOME),
        (PhaseEvent.WELCOMED, Phase.READY),
        (PhaseEvent.ENDED, Phase.CLOSED),
    ]:
        phase = next_phase(phase, event)
        assert phase is expected


@pytest.mark.parametrize("phase", list(Phase))
@pytest.mark.parametrize("event", [PhaseEvent.FAILED, PhaseEvent.STOPPED, PhaseEvent.ENDED])
def test_every_phase_can_end(phase: Phase, event: PhaseEvent) -> None:
    assert next_phase(phase, event) is Phase.CLOSED


@pytest.mark.parametrize(
    ("phase", "event"),
    [
        (Phase.TLS, PhaseEvent.WELCOMED),  # a welcome before we trusted the certificate
        (Phase.TLS, PhaseEvent.HELLO_SENT),
        (Phase.CHALLENGE, PhaseEvent.WELCOMED),  # welcomed without a hello
        (Phase.WELCOME, PhaseEvent.HELLO_SENT),  # a second hello
        (Phase.READY, PhaseEvent.TRUSTED),
        (Phase.CLOSED, PhaseEvent.TRUSTED),  # nothing reopens a closed connection
        (Phase.CLOSED, PhaseEvent.WELCOMED),
        (Phase.CHALLENGE, PhaseEvent.UNTRUSTED),
    ],
)
def test_missing_edges_are_refused(phase: Phase, event: PhaseEvent) -> None:
    assert event not in TRANSITIONS[phase]
    with pytest.raises(InvalidTransition):
        next_phase(phase, event)


def test_guards() -> None:
    assert [p for p in Phase if accepts_requests(p)] == [Phase.READY]
    assert [p for p in Phase if accepts_voice(p)] == [Phase.READY]
    assert [p for p in Phase if in_handshake(p)] == [Phase.TLS, Phase.CHALLENGE, Phase.WELCOME]
    # Each phase that waits for the server names the one payload it waits for.
    assert {p: kind for p, (kind, _) in EXPECTED.items()} == {
        Phase.CHALLENGE: "challenge",
        Phase.WELCOME: "welcome",
    }
