"""Adaptive protection end to end: a lossy listener makes the talker send more copies.

Two real client backends with array audio, a real server process on
loopback. The listener loses 15 % of the talker's datagrams (a seeded
`SeededLoss` on its inbox, the network's part), counts what it missed and
reports it over the control stream; the server forwards it to the talker,
whose capture engine raises its protection: its datagrams start carrying
copies of the two previous frames. A clean listener's reports lower it again
only after the calm period, which this test does not wait for.
"""

from __future__ import annotations

from typing import Any

from voip.audio.signals import speech_like
from voip.client import commands as c
from voip.client.audio_io import ArrayIO
from voip.client.state import TransmissionMode
from voip.client.voice_path import SeededLoss


def test_a_lossy_listener_gets_two_copies_per_datagram(make_client: Any, server: Any,
                                                       h: Any) -> None:
    talker = make_client("talker", ArrayIO(speech_like(3.0, seed=2), loop=True))
    listener = make_client("listener", ArrayIO(speech_like(1.0, seed=4), loop=True))
    talker_id = h.connect(talker, server, "talker").my_user_id
    h.connect(listener, server, "listener")
    talker.wait_for(lambda s: len(s.users) == 2, h.WAIT)
    listener.wait_for(lambda s: len(s.users) == 2, h.WAIT)

    inbox = listener.voice_inbox
    talker.send(c.SetTransmissionMode(TransmissionMode.CONTINUOUS))
    listener.wait_for(lambda s: talker_id in s.audio.talking_users, h.WAIT)
    # Clean at first: one copy (the previous frame) per datagram.
    assert h.poll(lambda: inbox.received >= 60)
    early = [f for f in inbox.drain() if f.opus]
    assert early and all(len(f.older_redundant_opus) == 0 for f in early[10:])

    inbox.drop = SeededLoss(0.15, seed=7)
    # The listener reports every ~2 s; the talker then sends two copies.
    protected: list[Any] = []

    def copies_arrive() -> bool:
        frames = [f for f in inbox.drain() if f.opus]
        if protected or any(f.older_redundant_opus for f in frames):
            protected.extend(frames)
        return len(protected) >= 100

    assert h.poll(copies_arrive, timeout=30.0), "the talker never raised its protection"
    with_two = [f for f in protected[-50:] if f.older_redundant_opus and f.redundant_opus]
    assert len(with_two) >= 45  # all but the odd spurt start
    for f in with_two:
        assert len(f.older_redundant_opus) == 1  # sequence - 2: the lossy level's second copy
