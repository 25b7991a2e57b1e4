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
from dataclasses import dataclass

from voip.audio.echo import FarEnd
from voip.audio.playback import PlaybackEngine
from voip.client.audio_io import AudioIO
from voip.client.engine_actor import EngineActor
from voip.client.listeners import EngineListener
from voip.client.voice_path import LOOPBACK_USER, VoiceInbox
from voip.errors import AudioError

log = logging.getLogger(__name__)



@dataclass(frozen=True, slots=True)
class PlaybackSettings:
    running: bool = False
    device: str | None = None
    output_volume: float = 1.0
    #: (user id, gain) for users not played at 1.0 (0.0: muted here), sorted.
    user_volumes: tuple[tuple[int, float], ...] = ()


class PlaybackActor(EngineActor):
    _ROLE = "playback"

    def __init__(self, io: AudioIO, inbox: VoiceInbox, audio: EngineListener,
                 far_end: FarEnd | None = None) -> None:
        super().__init__(io, audio)
        self._far_end = far_end
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
            self._apply_user_volumes(engine, old.user_volumes, settings.user_volumes)
        self._follow(engine, settings.running, settings.device != old.device)
        self._settled(settings, self._engine)

    @staticmethod
    def _apply_user_volumes(
        engine: PlaybackEngine,
        old: tuple[tuple[int, float], ...],
        new: tuple[tuple[int, float], ...],
    ) -> None:
        if old == new:
            return
        wanted = dict(new)
        for uid, _ in old:
            if uid not in wanted:
                engine.set_user_volume(uid, 1.0)
        for uid, gain in wanted.items():
            engine.set_user_volume(uid, gain)

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
        engine.far_end = self._far_end
        self._apply_user_volumes(engine, (), settings.user_volumes)
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
