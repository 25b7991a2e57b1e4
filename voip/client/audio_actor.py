"""The audio side of the backend, as the rest of the client sees it.

THIS IS WHERE THE AUDIO ISSUE WIRES IN THE ENGINES. Until then it is a
minimal actor that keeps the audio settings (devices, volumes, mode,
push-to-talk), lists devices, persists the settings and publishes them in
`State.audio`, but captures and plays nothing.

The contract with the rest of the backend (keep it when replacing the body):

* Settings arrive as audio `Command`s through `handle(command)` (a tell).
* `set_voice_sender(sender)` (a tell) hands over the datagram path when a
  connection is up: `sender(data: bytes)` is thread-safe, never blocks, and
  sends one encoded `VoiceDatagram` (see `voip.protocol.voice.encode_voice`)
  as a QUIC datagram. It is `None` again when the connection closes.
* `set_session(user_id)` (a tell) says who we are on the server (None when
  disconnected), e.g. to skip our own id or reset decoders.
* Incoming voice does NOT pass through any mailbox: the connection's event
  loop thread calls `VoiceInbox.put(frame)` with each decoded
  `voip.protocol.voice.VoiceFrame`. The inbox is created by `BackendHandle`
  before the actors start and given to this actor's constructor; the
  playback side drains it (or the audio issue replaces `VoiceInbox` with
  something that pushes straight into the jitter buffers, keeping `put`).
* Every change to what the user should see is told to the state owner as a
  whole new `AudioState` (`StateActor.audio_changed`), including
  `is_transmitting`, `input_level_db` and `talking_users`.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pykka

from voip.client import commands as c
from voip.client.config_actor import ConfigActor
from voip.client.state import AudioDeviceView, AudioState, LocalErrorCode, TransmissionMode
from voip.client.state_actor import StateActor
from voip.protocol.voice import VoiceFrame, encode_voice

log = logging.getLogger(__name__)

VoiceSender = Callable[[bytes], None]

#: Frames kept when nobody drains the inbox (about 10 s of one speaker).
INBOX_LIMIT = 500


class VoiceInbox:
    """Incoming voice frames from the connection loop to the audio side.

    `put` runs in the connection's event loop thread and must never block:
    a bounded deque (appends and pops are atomic in CPython) drops the oldest
    frame when full instead of waiting.
    """

    def __init__(self, limit: int = INBOX_LIMIT) -> None:
        self._frames: deque[VoiceFrame] = deque(maxlen=limit)
        self._arrived = threading.Event()
        self.received = 0

    def put(self, frame: VoiceFrame) -> None:
        self._frames.append(frame)
        self.received += 1
        self._arrived.set()

    def drain(self) -> list[VoiceFrame]:
        self._arrived.clear()
        out: list[VoiceFrame] = []
        while True:
            try:
                out.append(self._frames.popleft())
            except IndexError:
                return out

    def wait(self, timeout: float) -> bool:
        """Block until a frame may be waiting (for a playback thread, or tests)."""
        return self._arrived.wait(timeout)


def list_devices() -> tuple[tuple[AudioDeviceView, ...], tuple[AudioDeviceView, ...], str | None]:
    """Input devices, output devices, and a sentence if PortAudio could not list them."""
    try:
        import sounddevice as sd

        devices: Any = sd.query_devices()
        hostapis: Any = sd.query_hostapis()
        default_in, default_out = sd.default.device
    except Exception as exc:  # no PortAudio library, no sound server...
        return (), (), f"cannot list audio devices ({exc}); is a sound server running?"
    inputs: list[AudioDeviceView] = []
    outputs: list[AudioDeviceView] = []
    for index, dev in enumerate(devices):
        api = hostapis[dev["hostapi"]]["name"] if dev["hostapi"] < len(hostapis) else ""
        if dev["max_input_channels"] > 0:
            inputs.append(
                AudioDeviceView(
                    dev["name"], index, api, dev["max_input_channels"], index == default_in
                )
            )
        if dev["max_output_channels"] > 0:
            outputs.append(
                AudioDeviceView(
                    dev["name"], index, api, dev["max_output_channels"], index == default_out
                )
            )
    return tuple(inputs), tuple(outputs), None


class AudioActor(pykka.ThreadingActor):
    def __init__(
        self,
        state: pykka.ActorProxy[StateActor],
        config: pykka.ActorProxy[ConfigActor],
        settings: AudioState,
        inbox: VoiceInbox,
    ) -> None:
        super().__init__()
        self._state_actor = state
        self._config = config
        self._audio = settings
        self._inbox = inbox
        self._sender: VoiceSender | None = None
        self._user_id: int | None = None
        self._ptt_pressed = False

    def on_start(self) -> None:
        self._refresh_devices()
        self._publish()

    def ready(self) -> bool:
        return True

    # --- from the connection actor --------------------------------------------------

    def set_voice_sender(self, sender: VoiceSender | None) -> None:
        self._sender = sender
        self._update_transmitting()
        self._publish()

    def set_session(self, user_id: int | None) -> None:
        self._user_id = user_id

    def send_voice_frame(self, frame: VoiceFrame) -> bool:
        """Send one already encoded frame now, if connected (bots and tests)."""
        if self._sender is None:
            return False
        self._sender(encode_voice(frame))
        return True

    # --- commands ------------------------------------------------------------------------

    def handle(self, command: c.AudioCommand) -> None:
        a = self._audio
        match command:
            case c.SetInputDevice(name=name):
                if self._unknown_device(name, a.input_devices, "input"):
                    return
                self._audio = replace(a, input_device=name, error=None)
                self._config.update.defer(input_device=name)
            case c.SetOutputDevice(name=name):
                if self._unknown_device(name, a.output_devices, "output"):
                    return
                self._audio = replace(a, output_device=name, error=None)
                self._config.update.defer(output_device=name)
            case c.SetInputVolume(volume=v):
                self._audio = replace(a, input_volume=float(v))
                self._config.update.defer(input_volume=float(v))
            case c.SetOutputVolume(volume=v):
                self._audio = replace(a, output_volume=float(v))
                self._config.update.defer(output_volume=float(v))
            case c.RefreshAudioDevices():
                self._refresh_devices()
            case c.SetTransmissionMode(mode=mode, vad_threshold_db=threshold):
                changes: dict[str, Any] = {"transmission_mode": mode}
                if threshold is not None:
                    changes["vad_threshold_db"] = float(threshold)
                self._audio = replace(a, **changes)
                self._config.update.defer(**changes)
            case c.StartTransmit():
                self._ptt_pressed = True
            case c.StopTransmit():
                self._ptt_pressed = False
            case c.SetPushToTalkKey(key=key):
                self._audio = replace(a, ptt_key=key)
                self._config.update.defer(ptt_key=key)
            case c.StartLoopbackTest():
                self._audio = replace(a, loopback_test=True)
            case c.StopLoopbackTest():
                self._audio = replace(a, loopback_test=False)
        self._update_transmitting()
        self._publish()

    # --- internals -------------------------------------------------------------------------

    def _unknown_device(
        self, name: str | None, devices: tuple[AudioDeviceView, ...], kind: str
    ) -> bool:
        if name is None or not devices or any(d.name == name for d in devices):
            return False
        self._state_actor.report_error.defer(
            LocalErrorCode.AUDIO.value,
            f"there is no {kind} device called {name!r}; pick one from the list "
            "(refresh it if you just plugged the device in)",
            "SetInputDevice" if kind == "input" else "SetOutputDevice",
        )
        return True

    def _refresh_devices(self) -> None:
        inputs, outputs, error = list_devices()
        self._audio = replace(
            self._audio, input_devices=inputs, output_devices=outputs, error=error
        )

    def _update_transmitting(self) -> None:
        # Stub rule: what the user asked for. The capture engine will set this from
        # what it really sends (VAD, device errors, no connection).
        mode = self._audio.transmission_mode
        wanted = mode is TransmissionMode.CONTINUOUS or (
            mode is TransmissionMode.PUSH_TO_TALK and self._ptt_pressed
        )
        self._audio = replace(self._audio, is_transmitting=wanted and self._sender is not None)

    def _publish(self) -> None:
        self._state_actor.audio_changed.defer(self._audio)
