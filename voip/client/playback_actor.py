"""The playback actor: owns the speaker stream and its `PlaybackEngine`.

Told the wanted playback setup (`PlaybackSettings`) by the audio actor, it
starts, stops or re-opens the stream. Each start makes a fresh engine (fresh
decoders and jitter buffers: user ids from a previous connection mean
nothing now) and attaches it to the `VoiceInbox`, the connection loop's
direct path into the jitter buffers; stopping detaches it first so nothing
queues up for a stream that is not running. Who is talking is checked on the
engine's thread after every frame and told to the audio actor only when it
changes.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pykka

from voip.audio.playback import PlaybackEngine
from voip.client.audio_io import AudioIO
from voip.client.engine_actor import EngineActor
from voip.errors import AudioError
from voip.protocol.voice import VoiceFrame

if TYPE_CHECKING:
    from voip.client.audio_actor import AudioActor

log = logging.getLogger(__name__)

RECENT_LIMIT = 500  # frames kept for `drain` (about 10 s of one talker)
LOOPBACK_USER = 0  # no server gives out user id 0; the loopback test plays as it


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
        self.received = 0  # frames with audio that arrived
        self.dropped = 0  # by `drop`, or with no playback running
        self.end_markers = 0  # end-of-transmission markers seen

    def attach(self, engine: PlaybackEngine | None) -> None:
        self._engine = engine

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
                frame.sender_id, frame.sequence, frame.opus, engine.clock(), frame.redundant_opus
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

    def deliver_local(self, packet: bytes, sequence: int, redundant: bytes = b"") -> None:
        """The loopback test's frames (played as user 0)."""
        engine = self._engine
        if engine is not None:
            engine.receive(LOOPBACK_USER, sequence, packet, engine.clock(), redundant)

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


@dataclass(frozen=True, slots=True)
class PlaybackSettings:
    running: bool = False
    device: str | None = None
    output_volume: float = 1.0


class PlaybackActor(EngineActor):
    _ROLE = "playback"

    def __init__(self, io: AudioIO, inbox: VoiceInbox, audio: pykka.ActorProxy[AudioActor]) -> None:
        super().__init__(io, audio)
        self._inbox = inbox
        self._settings = PlaybackSettings()
        self._engine: PlaybackEngine | None = None
        self._talking: frozenset[int] = frozenset()

    # --- from the audio actor -------------------------------------------------------

    def configure(self, settings: PlaybackSettings) -> None:
        old, self._settings = self._settings, settings
        engine = self._engine
        if engine is not None:
            engine.output_volume = settings.output_volume
        self._follow(engine, settings.running, settings.device != old.device)

    def forget_user(self, user_id: int) -> None:
        """The user left the server: drop their decoder and jitter buffer."""
        if self._engine is not None:
            self._engine.forget_user(user_id)

    # --- internals ---------------------------------------------------------------------

    def _start_engine(self) -> None:
        settings = self._settings
        try:
            sink = self._io.sink(settings.device)
        except AudioError as exc:
            self._tell("playback_failed", str(exc))
            return
        engine = PlaybackEngine(
            sink,
            output_volume=settings.output_volume,
            on_error=self._on_error,
        )
        if not self._start(engine):
            return
        engine.on_tick = self._on_tick
        self._engine = engine
        self._inbox.attach(engine)
        self._tell("playback_started")

    def _stop_engine(self) -> None:
        engine, self._engine = self._engine, None
        self._inbox.attach(None)
        if engine is None:
            return
        engine.on_tick = None
        engine.stop()
        if self._talking:
            self._talking = frozenset()
            self._tell("talking_changed", self._talking)

    # --- engine thread ---------------------------------------------------------------------

    def _on_tick(self, now: float) -> None:
        engine = self._engine
        if engine is None:
            return
        talking = engine.talking_users(now) - {LOOPBACK_USER}
        if talking != self._talking:
            self._talking = talking
            self._tell("talking_changed", talking)

    def _on_error(self, exc: AudioError) -> None:
        self._inbox.attach(None)
        self._tell("playback_failed", str(exc))
