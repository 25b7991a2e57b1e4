"""The capture actor: owns the microphone stream and its `CaptureEngine`.

It is told the complete wanted capture setup (`CaptureSettings`, a frozen
value) by the audio actor and makes it so: starts or stops the stream,
switches device, and updates mode, threshold, volume and push-to-talk on the
running engine. Packets never pass through a mailbox: the engine's thread
encodes and hands each one to the current `VoiceRoute` (the connection's
thread-safe datagram sender, or the local loopback into playback). What the
user should see (really transmitting, the input level at most 10 times a
second, failures) goes back to the audio actor as tells.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from voip.audio.capture import CaptureEngine
from voip.audio.dsp import DspSettings
from voip.audio.echo import FarEnd
from voip.audio.engine import EngineState
from voip.audio.transmission import TransmissionMode
from voip.client.audio_io import AudioIO
from voip.client.engine_actor import EngineActor
from voip.client.listeners import EngineListener
from voip.client.voice_path import VoiceRoute
from voip.errors import AudioError

log = logging.getLogger(__name__)

LEVEL_EVERY_FRAMES = 5  # publish the input level every 100 ms at most
SILENT_LEVEL_DB = -120.0  # what the meter shows when nothing is captured


@dataclass(frozen=True, slots=True)
class CaptureSettings:
    """Everything the capture side needs to know; a new value replaces the old one."""

    running: bool = False
    device: str | None = None
    mode: TransmissionMode = TransmissionMode.PUSH_TO_TALK
    vad_threshold_db: float = -40.0
    input_volume: float = 1.0
    ptt: bool = False
    route: VoiceRoute | None = None
    dsp: DspSettings | None = None  # the capture chain (None: the microphone as it is)


class CaptureActor(EngineActor):
    _ROLE = "capture"

    def __init__(self, io: AudioIO, audio: EngineListener,
                 far_end: FarEnd | None = None) -> None:
        super().__init__(io, audio)
        self._far_end = far_end
        self._settings = CaptureSettings()
        # Read by the engine thread on every frame (plain attribute reads).
        self._route: VoiceRoute | None = None
        self._engine: CaptureEngine | None = None
        self._frames = 0
        self._sending = False
        self._last_level = SILENT_LEVEL_DB

    # --- from the audio actor -------------------------------------------------------

    def configure(self, settings: CaptureSettings) -> None:
        old, self._settings = self._settings, settings
        self._route = settings.route
        engine = self._engine
        if engine is not None:
            self._apply(engine, settings)
        self._follow(engine, settings.running, settings.device != old.device)
        self._settled(settings, self._engine)

    def loss_feedback(self, reporter_id: int, frames: int, lost: int) -> None:
        """A listener's loss report: the engine's policy may change its protection."""
        if self._engine is not None:
            self._engine.loss_feedback(reporter_id, frames, lost, time.monotonic())

    # --- internals ---------------------------------------------------------------------

    def _apply(self, engine: CaptureEngine, settings: CaptureSettings) -> None:
        engine.mode = settings.mode
        engine.vad_threshold_dbfs = settings.vad_threshold_db
        engine.input_volume = settings.input_volume
        if settings.ptt:
            engine.press_ptt()
        else:
            engine.release_ptt()
        if settings.dsp != engine.dsp:
            try:
                engine.set_dsp(settings.dsp)
            except AudioError as exc:  # a suppressor's library is missing: keep the last chain
                self._tell("processing_failed", str(exc))

    def _start_engine(self) -> None:
        settings = self._settings
        try:
            source = self._io.source(settings.device)
        except AudioError as exc:
            self._tell("capture_failed", str(exc))
            return
        engine = self._engine
        if engine is None:
            engine = CaptureEngine(
                source,
                send_voice=self._send,
                send_end=self._send_end,
                far_end=self._far_end,
                on_error=self._on_error,
                on_frame=self._on_frame,
            )
            self._engine = engine
        else:
            engine.source = source  # a fresh source; the sequence numbering continues
        self._apply(engine, settings)
        if not self._start(engine):
            return
        self._tell("capture_started")

    def _stop_engine(self) -> None:
        engine = self._engine
        if engine is None or engine.state is EngineState.STOPPED:
            return
        engine.stop()  # ends a spurt in progress (`_send_end`)
        self._sending = False
        self._frames = 0
        self._last_level = SILENT_LEVEL_DB
        self._tell("capture_status", False, SILENT_LEVEL_DB)

    # --- engine thread ---------------------------------------------------------------------

    def _send(self, packet: bytes, sequence: int, copies: tuple[bytes, ...]) -> None:
        route = self._route
        if route is not None:
            route.send(packet, sequence, copies)

    def _send_end(self, sequence: int) -> None:
        route = self._route
        if route is not None:
            route.end(sequence)

    def _on_frame(self) -> None:
        engine = self._engine
        if engine is None:
            return
        route = self._route
        sending = engine.is_transmitting and route is not None and route.to_server
        self._frames += 1
        level = round(engine.level.rms_dbfs, 1)
        level_due = self._frames % LEVEL_EVERY_FRAMES == 0 and level != self._last_level
        if sending != self._sending or level_due:
            self._sending = sending
            if level_due:
                self._last_level = level
            self._tell("capture_status", sending, self._last_level)

    def _on_error(self, exc: AudioError) -> None:
        self._sending = False
        self._tell("capture_failed", str(exc))
