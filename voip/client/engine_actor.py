"""What the capture and playback actors share: owning one audio engine.

Each is told its wanted setup by the audio actor and tells it back what
happened. Telling must stay quiet once the audio actor is stopping
(shutdown), and starting an engine must turn every failure, expected or
not, into a ``*_failed`` tell with a sentence: an exception escaping a
Pykka actor would kill it and leave the user with no answer.
"""

from __future__ import annotations

import logging
from typing import Any

import pykka

from voip.audio.engine import AudioEngine, EngineState
from voip.client.audio_io import AudioIO
from voip.client.listeners import EngineListener
from voip.errors import AudioError

log = logging.getLogger(__name__)


class EngineActor(pykka.ThreadingActor):
    """An actor that owns one audio engine; ``_ROLE`` names it ("capture", "playback")."""

    _ROLE: str

    def __init__(self, io: AudioIO, audio: EngineListener) -> None:
        super().__init__()
        self._io = io
        self._audio = audio

    def ready(self) -> bool:
        return True

    def _tell(self, method: str, *args: Any) -> None:
        """Tell the audio actor (`EngineListener`: quiet when it is already stopping)."""
        getattr(self._audio, method)(*args)

    def _settled(self, settings: object, engine: AudioEngine | None) -> None:
        """Tell the audio actor which settings are now applied and whether a stream is open."""
        running = engine is not None and engine.state is not EngineState.STOPPED
        self._audio.engine_settled(self._ROLE, settings, running)

    def on_stop(self) -> None:
        self._stop_engine()

    def _start_engine(self) -> None:
        raise NotImplementedError

    def _stop_engine(self) -> None:
        raise NotImplementedError

    def _follow(self, engine: AudioEngine | None, running: bool, device_changed: bool) -> None:
        """Make the stream what the settings want: stopped, left running, or (re)opened."""
        if not running:
            self._stop_engine()
            return
        if engine is not None and engine.state is EngineState.RUNNING:
            if not device_changed:
                return
            self._stop_engine()  # switching devices: reopen below
        self._start_engine()

    def _start(self, engine: AudioEngine) -> bool:
        """Start ``engine``; on failure tell ``<role>_failed`` and return False."""
        role = self._ROLE
        try:
            engine.start()
        except AudioError as exc:
            log.warning("cannot start %s: %s", role, exc)
            self._tell(f"{role}_failed", str(exc))
            return False
        except Exception as exc:  # an unexpected PortAudio failure must not kill the actor
            log.exception("%s start failed", role)
            self._tell(f"{role}_failed", f"cannot start audio {role}: {exc}")
            return False
        return True
