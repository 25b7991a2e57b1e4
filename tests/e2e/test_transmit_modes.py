"""Transmission modes end to end: two clients with array audio through a real server.

"Sends nothing" needs evidence that time passed while the sender was
capturing; instead of sleeping, the receiving client transmits continuously
too, and the test waits until the sender has *received* a second of its
voice (50 frames) while the receiver got nothing from the sender.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from voip.audio.codec import FRAME_SAMPLES, SAMPLE_RATE
from voip.audio.signals import speech_like
from voip.client import BackendHandle
from voip.client import commands as c
from voip.client.audio_io import ArrayIO
from voip.client.state import TransmissionMode

EVIDENCE_FRAMES = 50  # one second of the other side's voice


def pair(
    make_client: Callable[..., BackendHandle], server: Any, h: Any, sender_io: ArrayIO
) -> tuple[BackendHandle, BackendHandle, int, int]:
    """(sender, receiver, sender id, receiver id), both in the root room; the
    receiver talks continuously so the sender's inbox measures elapsed time."""
    sender = make_client("sender", sender_io)
    receiver = make_client("receiver", ArrayIO(speech_like(2.0, seed=5), loop=True))
    sender_id = h.connect(sender, server, "sender").my_user_id
    receiver_id = h.connect(receiver, server, "receiver").my_user_id
    sender.wait_for(lambda s: len(s.users) == 2, h.WAIT)
    receiver.wait_for(lambda s: len(s.users) == 2, h.WAIT)
    receiver.send(c.SetTransmissionMode(TransmissionMode.CONTINUOUS))
    sender.wait_for(lambda s: receiver_id in s.audio.talking_users, h.WAIT)
    return sender, receiver, sender_id, receiver_id


def hear_nothing_for_a_while(sender: BackendHandle, receiver: BackendHandle, h: Any) -> None:
    """While the sender hears a second of the receiver, the receiver gets nothing."""
    before = receiver.voice_inbox.received
    base = sender.voice_inbox.received
    assert h.poll(lambda: sender.voice_inbox.received >= base + EVIDENCE_FRAMES)
    assert receiver.voice_inbox.received == before
    assert not sender.state().audio.is_transmitting


def test_push_to_talk_sends_only_while_pressed(make_client: Any, server: Any, h: Any) -> None:
    sender, receiver, sender_id, _ = pair(
        make_client, server, h, ArrayIO(speech_like(2.0), loop=True)
    )
    sender.send(c.SetTransmissionMode(TransmissionMode.PUSH_TO_TALK))
    # Capture runs (the meter moves) but nothing is sent until the key is down.
    sender.wait_for(lambda s: s.audio.input_level_db > -40.0, h.WAIT)
    hear_nothing_for_a_while(sender, receiver, h)
    assert receiver.voice_inbox.received == 0

    sender.send(c.StartTransmit())
    sender.wait_for(lambda s: s.audio.is_transmitting, h.WAIT)
    state = receiver.wait_for(lambda s: sender_id in s.audio.talking_users, h.WAIT)
    assert state.user(sender_id) is not None and state.user(sender_id).talking  # type: ignore[union-attr]

    sender.send(c.StopTransmit())
    sender.wait_for(lambda s: not s.audio.is_transmitting, h.WAIT)
    receiver.wait_for(lambda s: sender_id not in s.audio.talking_users, h.WAIT)
    # The spurt ended with an end-of-transmission marker.
    assert h.poll(lambda: receiver.voice_inbox.end_markers >= 1)
    hear_nothing_for_a_while(sender, receiver, h)


def test_muted_sends_nothing_and_closes_the_microphone(
    make_client: Any, server: Any, h: Any
) -> None:
    sender, receiver, sender_id, _ = pair(
        make_client, server, h, ArrayIO(speech_like(2.0), loop=True)
    )
    sender.send(c.SetTransmissionMode(TransmissionMode.CONTINUOUS))
    receiver.wait_for(lambda s: sender_id in s.audio.talking_users, h.WAIT)

    sender.send(c.SetTransmissionMode(TransmissionMode.MUTED))
    state = sender.wait_for(lambda s: not s.audio.is_transmitting, h.WAIT)
    receiver.wait_for(lambda s: sender_id not in s.audio.talking_users, h.WAIT)
    # Muted does not keep the microphone open: the meter drops to its floor.
    sender.wait_for(lambda s: s.audio.input_level_db <= -100.0, h.WAIT)
    assert state.audio.transmission_mode is TransmissionMode.MUTED
    hear_nothing_for_a_while(sender, receiver, h)


def test_voice_activation_follows_speech_with_hangover(
    make_client: Any, server: Any, h: Any
) -> None:
    # 1 s silence, 1.5 s speech, 3 s silence: longer than the 0.3 s hangover.
    silence = np.zeros(SAMPLE_RATE, dtype=np.float32)
    speech = speech_like(1.5, seed=3)
    io = ArrayIO(np.concatenate([silence, speech, silence, silence, silence]))
    sender, receiver, sender_id, _ = pair(make_client, server, h, io)
    sender.send(c.SetTransmissionMode(TransmissionMode.VOICE_ACTIVATED, -40.0))

    sender.wait_for(lambda s: s.audio.is_transmitting, h.WAIT)
    receiver.wait_for(lambda s: sender_id in s.audio.talking_users, h.WAIT)
    sender.wait_for(lambda s: not s.audio.is_transmitting, h.WAIT)
    # It stopped because the speech did, not because the samples ran out.
    assert not io.finished
    receiver.wait_for(lambda s: sender_id not in s.audio.talking_users, h.WAIT)

    # Frames sent: the speech plus at most the hangover (0.3 s = 15 frames)
    # and the frame straddling each edge; never the silences around it.
    speech_frames = speech.size // FRAME_SAMPLES
    received = receiver.voice_inbox.received
    assert 0 < received <= speech_frames + 15 + 2
    hear_nothing_for_a_while(sender, receiver, h)
    assert receiver.voice_inbox.received == received


@pytest.mark.parametrize("threshold", [-10.0])
def test_voice_activation_threshold_above_the_voice_sends_nothing(
    make_client: Any, server: Any, h: Any, threshold: float
) -> None:
    # speech_like peaks at 0.4 (RMS around -14 dBFS): a -10 dB threshold never opens.
    sender, receiver, _, _ = pair(make_client, server, h, ArrayIO(speech_like(2.0), loop=True))
    sender.send(c.SetTransmissionMode(TransmissionMode.VOICE_ACTIVATED, threshold))
    state = sender.wait_for(lambda s: s.audio.input_level_db > -40.0, h.WAIT)
    assert state.audio.vad_threshold_db == threshold
    hear_nothing_for_a_while(sender, receiver, h)
    assert receiver.voice_inbox.received == 0
