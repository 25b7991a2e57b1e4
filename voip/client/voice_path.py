"""The voice hot path between the network and the audio engines, outside any actor.

Everything here runs on the threads voice runs on, never in an actor's
mailbox: `ServerRoute` and `LoopbackRoute` on the capture engine's thread
(each encoded frame), `VoiceInbox.put` on the connection's event loop
thread (each arriving datagram, straight into the playback engine's jitter
buffers). The audio actor only chooses which route and which engine are
current; the voice itself never waits behind control work (docs/ARCHITECTURE.md,
"voice path").
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from voip.audio.playback import PlaybackEngine
from voip.audio.protection import LossMeter
from voip.protocol.voice import VoiceFrame, encode_voice

RECENT_LIMIT = 500  # frames kept for `drain` (about 10 s of one talker)
LOOPBACK_USER = 0  # no server gives out user id 0; the loopback test plays as it


class VoiceRoute(Protocol):
    """Where the capture thread puts encoded frames; must never block."""

    @property
    def to_server(self) -> bool:
        """True when frames leave the machine (that is what `is_transmitting` reports)."""
        ...

    def send(self, packet: bytes, sequence: int, copies: tuple[bytes, ...] = ()) -> None:
        """One frame; `copies`: the previous frames' packets, newest first (RFC 2198-style)."""
        ...

    def end(self, sequence: int) -> None:
        """The talk spurt whose last frame sent was `sequence` is over."""
        ...


@dataclass(frozen=True, slots=True)
class ServerRoute:
    """Voice datagrams through the connection's thread-safe sender."""

    send_voice: Callable[[bytes], None]

    @property
    def to_server(self) -> bool:
        return True

    def send(self, packet: bytes, sequence: int, copies: tuple[bytes, ...] = ()) -> None:
        self.send_voice(
            encode_voice(
                VoiceFrame(
                    0,
                    0,
                    sequence,
                    packet,
                    capture_time_us=time.monotonic_ns() // 1000,
                    redundant_opus=copies[0] if copies else b"",
                    older_redundant_opus=copies[1:],
                )
            )
        )

    def end(self, sequence: int) -> None:
        # Receivers stop playing at once on the marker instead of concealing
        # the missing frames as late ones (a PLC fade and a deeper buffer).
        self.send_voice(
            encode_voice(
                VoiceFrame(
                    0,
                    0,
                    sequence,
                    b"",
                    end_of_transmission=True,
                    capture_time_us=time.monotonic_ns() // 1000,
                )
            )
        )


@dataclass(frozen=True, slots=True)
class LoopbackRoute:
    """The loopback test: frames go straight to local playback, nothing is sent."""

    deliver: Callable[[bytes, int, tuple[bytes, ...]], None]
    finish: Callable[[int], None] | None = None

    @property
    def to_server(self) -> bool:
        return False

    def send(self, packet: bytes, sequence: int, copies: tuple[bytes, ...] = ()) -> None:
        self.deliver(packet, sequence, copies)

    def end(self, sequence: int) -> None:
        if self.finish is not None:
            self.finish(sequence)


class VoiceInbox:
    """Incoming voice, from the connection's event loop straight into playback.

    `put` runs in the connection loop thread for every voice datagram: it
    never blocks and never waits on an actor. It hands the frame to the
    running `PlaybackEngine` (whose `receive` is a queue put); while no
    engine runs (not connected, device failed) frames are counted and
    dropped. `drop` is a test hook: a predicate deciding, per arriving frame,
    to lose it (e.g. a seeded 10% loss, see `SeededLoss`).
    """

    def __init__(self, recent_limit: int = RECENT_LIMIT) -> None:
        self._engine: PlaybackEngine | None = None
        # A tap for tests and diagnostics: the latest frames, whether or not
        # anything plays them (a bounded deque: O(1), never blocks).
        self._recent: deque[VoiceFrame] = deque(maxlen=recent_limit)
        self._arrived = threading.Event()
        self.drop: Callable[[VoiceFrame], bool] | None = None
        #: Each talker's played and missing frames, counted by the attached
        #: engine and reported to the server by the connection (loss reports).
        self.loss_meter = LossMeter()
        self.received = 0  # frames with audio that arrived
        self.dropped = 0  # by `drop`, or with no playback running
        self.end_markers = 0  # end-of-transmission markers seen

    def attach(self, engine: PlaybackEngine | None) -> None:
        if engine is not None:
            engine.loss_meter = self.loss_meter
        self._engine = engine

    @property
    def engine(self) -> PlaybackEngine | None:
        """The playback engine being fed (for diagnostics and benchmarks)."""
        return self._engine

    def put(self, frame: VoiceFrame) -> None:
        self._recent.append(frame)
        self._arrived.set()
        engine = self._engine
        if frame.opus:
            self.received += 1
            drop = self.drop
            if engine is None or (drop is not None and drop(frame)):
                self.dropped += 1
                return
            engine.receive(
                frame.sender_id, frame.sequence, frame.opus, engine.clock(), frame.redundant_opus,
                frame.older_redundant_opus,
            )
        if frame.end_of_transmission:
            # The talker's spurt ended with this frame (or, for an empty
            # marker, with this sequence number, already sent).
            self.end_markers += 1
            if engine is not None:
                engine.end_of_transmission(frame.sender_id, frame.sequence, engine.clock())

    def drain(self) -> list[VoiceFrame]:
        """The frames that arrived since the last drain (at most `recent_limit`)."""
        self._arrived.clear()
        out: list[VoiceFrame] = []
        while True:
            try:
                out.append(self._recent.popleft())
            except IndexError:
                return out

    def wait(self, timeout: float) -> bool:
        """Block until a frame may have arrived since the last drain."""
        return self._arrived.wait(timeout)

    def deliver_local(self, packet: bytes, sequence: int, copies: tuple[bytes, ...] = ()) -> None:
        """The loopback test's frames (played as user 0)."""
        engine = self._engine
        if engine is not None:
            engine.receive(LOOPBACK_USER, sequence, packet, engine.clock(),
                           copies[0] if copies else b"", copies[1:])

    def end_local(self, sequence: int) -> None:
        """The loopback test's spurt ended with frame `sequence`."""
        engine = self._engine
        if engine is not None:
            engine.end_of_transmission(LOOPBACK_USER, sequence, engine.clock())


class SeededLoss:
    """Loses a fixed fraction of arriving voice frames, reproducibly (a `VoiceInbox.drop`).

    Each arriving frame draws from a `random.Random(seed)`: the same seed and
    the same arrival order lose the same frames, so a test's loss pattern can
    be replayed. Used by the end-to-end tests and `voip-bot --simulate-loss`.
    """

    def __init__(self, rate: float, seed: int = 1) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError("the loss rate is a fraction between 0 and 1")
        self.rate = rate
        self._rng = random.Random(seed)
        self.seen = 0
        self.lost = 0

    def __call__(self, frame: VoiceFrame) -> bool:
        self.seen += 1
        lose = self._rng.random() < self.rate
        self.lost += lose
        return lose
