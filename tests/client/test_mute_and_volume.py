"""Self-mute and deafen through a real server, and per-user volume in the real mixer."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from voip.audio.signals import speech_like
from voip.client import BackendHandle
from voip.client import commands as c
from voip.client.audio_io import ArrayIO
from voip.client.state import State, TransmissionMode

from .conftest import connect_trusting

WAIT = 20.0
Backends = Callable[..., BackendHandle]


def _user(state: State, name: str) -> Any:
    return next(u for u in state.users if u.name == name)


def test_deafen_is_seen_by_others_and_stops_playback(
    make_backend: Backends, server: Any, tmp_path: Path
) -> None:
    io = ArrayIO(record=True)
    alice = make_backend(tmp_path / "alice", audio_io=io)
    bob = make_backend(tmp_path / "bob", audio_io=ArrayIO())
    connect_trusting(alice, server, "alice")
    connect_trusting(bob, server, "bob")
    alice.send(c.SetSelfMute(self_mute=False, self_deaf=True))
    seen = bob.wait_for(lambda s: _user(s, "alice").self_deaf, WAIT)
    assert _user(seen, "alice").self_mute  # deafen implies mute, in the shared state
    state = alice.wait_for(
        lambda s: s.audio.self_deaf and s.me is not None and s.me.self_deaf, WAIT
    )
    assert state.audio.self_mute
    # Playback stopped: the recording (the speaker) no longer grows.
    time.sleep(0.5)
    before = io.recording().size
    time.sleep(0.6)
    assert io.recording().size == before, "a deafened client still plays audio"
    alice.send(c.SetSelfMute(self_mute=False, self_deaf=False))
    bob.wait_for(lambda s: not _user(s, "alice").self_mute, WAIT)
    deadline = time.monotonic() + WAIT
    while io.recording().size <= before:
        assert time.monotonic() < deadline, "playback did not come back after undeafening"
        time.sleep(0.05)


def test_self_mute_offline_applies_locally_without_an_error(make_backend: Backends) -> None:
    backend = make_backend(audio_io=ArrayIO())
    backend.send(c.SetSelfMute(self_mute=True))
    state = backend.wait_for(lambda s: s.audio.self_mute, WAIT)
    assert not state.errors


def _level(recording: np.ndarray, seconds: float) -> float:
    tail = recording[-int(seconds * 48000) :]
    return float(np.sqrt(np.mean(np.square(tail, dtype=np.float64)))) if tail.size else 0.0


def test_per_user_volume_changes_what_the_listener_hears_from_that_talker(
    make_backend: Backends, server: Any, tmp_path: Path
) -> None:
    heard = ArrayIO(record=True)
    listener = make_backend(tmp_path / "listener", audio_io=heard)
    voice = ArrayIO(speech_like(4.0, seed=3), loop=True)
    talker = make_backend(tmp_path / "talker", audio_io=voice)
    connect_trusting(listener, server, "listener")
    connect_trusting(talker, server, "talker")
    talker.send(c.SetTransmissionMode(TransmissionMode.CONTINUOUS))
    state = listener.wait_for(lambda s: bool(s.audio.talking_users), WAIT)
    talker_id = _user(state, "talker").id
    time.sleep(2.0)
    full = _level(heard.recording(), 1.5)
    assert full > 0.005, f"nothing heard from the talker ({full})"
    listener.send(c.SetUserVolume(talker_id, volume=0.25))
    time.sleep(1.8)
    quarter = _level(heard.recording(), 1.5)
    listener.send(c.SetUserVolume(talker_id, volume=1.0, muted=True))
    time.sleep(1.8)
    muted = _level(heard.recording(), 1.5)
    print(f"levels: full {full:.4f}, 25 % {quarter:.4f}, muted {muted:.6f}")
    assert 0.12 < quarter / full < 0.45, (full, quarter)
    assert muted < full * 0.01, (full, muted)
