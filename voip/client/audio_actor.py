"""The audio side of the backend: settings, what runs when, and what the user sees.

The audio actor owns no stream itself. It keeps the audio settings (devices,
volumes, transmission mode, push-to-talk), persists them through the config
actor, decides from them and from the connection what must run, and tells
its two children the complete wanted setup:

* `CaptureActor` (capture_actor.py) owns the microphone and `CaptureEngine`;
* `PlaybackActor` (playback_actor.py) owns the speaker and `PlaybackEngine`.

What runs when: playback while connected (and not deafened) or loopback
testing; capture while loopback testing, or while connected in any mode but
Muted and not self-muted (a muted client does not keep the microphone open).
During the loopback test captured voice goes to local playback instead of
the server. Per-user gains (`SetUserVolume`) go to the playback mixer.

The contract with the rest of the backend:

* Settings arrive as audio `Command`s through `handle(command)` (a tell).
* `set_voice_sender(sender)` (a tell) hands over the datagram path when a
  connection is up: `sender(data: bytes)` is thread-safe, never blocks, and
  sends one encoded `VoiceDatagram`. It is `None` again when the connection
  closes. The capture thread calls it directly, never through a mailbox.
* `set_session(user_id)` says who we are on the server (None when
  disconnected); `user_left(user_id)` (from the server's `UserLeft`) drops
  that user's decoder and jitter buffer.
* Incoming voice does NOT pass through any mailbox: the connection's event
  loop thread calls `VoiceInbox.put(frame)`, which feeds the running
  playback engine's jitter buffers directly.
* Every change to what the user should see is told to the state owner as a
  whole new `AudioState` (`StateActor.audio_changed`): `is_transmitting`
  (frames really leaving for the server), `input_level_db` (at most 10
  updates a second), `talking_users` (on change only), `error` (a sentence;
  a device that fails or vanishes stops its stream, never the client).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pykka

from voip.audio.denoise import SuppressorKind
from voip.audio.dsp import DspSettings
from voip.audio.echo import FarEnd
from voip.client import commands as c
from voip.client.audio_io import AudioIO, SoundCardIO
from voip.client.capture_actor import CaptureActor, CaptureSettings
from voip.client.listeners import ConfigListener, EngineListener, StateListener, tells
from voip.client.playback_actor import PlaybackActor, PlaybackSettings
from voip.client.state import AudioDeviceView, AudioState, LocalErrorCode, TransmissionMode
from voip.client.voice_path import LoopbackRoute, ServerRoute, VoiceInbox, VoiceRoute
from voip.errors import AudioError
from voip.protocol.voice import VoiceFrame, encode_voice

__all__ = ["AudioActor", "VoiceSender"]

log = logging.getLogger(__name__)

VoiceSender = Callable[[bytes], None]

_CHILD_TIMEOUT = 10.0
# Order in which problems are shown when several are pending.
_ERROR_ORDER = ("setting", "capture", "processing", "playback", "devices")


class AudioActor(pykka.ThreadingActor):
    def __init__(
        self,
        state: StateListener,
        config: ConfigListener,
        settings: AudioState,
        inbox: VoiceInbox,
        io: AudioIO | None = None,
    ) -> None:
        super().__init__()
        self._state_actor = state
        self._config = config
        self._audio = settings
        self._published: AudioState | None = None
        self._inbox = inbox
        self._io: AudioIO = io if io is not None else SoundCardIO()
        self._sender: VoiceSender | None = None
        self._user_id: int | None = None
        self._ptt_pressed = False
        self._user_volumes: tuple[tuple[int, float], ...] = ()
        #: Saved devices found missing (and said so once): the default is used instead.
        self._missing: set[tuple[str, str]] = set()
        self._errors: dict[str, str] = {}
        self._children: list[pykka.ActorRef[Any]] = []
        self._capture: pykka.ActorProxy[CaptureActor] | None = None
        self._playback: pykka.ActorProxy[PlaybackActor] | None = None
        self._capture_settings = CaptureSettings()
        self._playback_settings = PlaybackSettings()
        # What each child last said it applied, and whether its stream is open.
        self._settled: dict[str, tuple[object, bool]] = {}
        self._rescan_when_idle = False
        # What the speaker played, for the echo canceller (playback -> capture thread).
        self._far_end = FarEnd()

    def on_start(self) -> None:
        me: EngineListener = tells(self.actor_ref.proxy())
        capture_ref = CaptureActor.start(self._io, me, self._far_end)
        self._children.append(capture_ref)
        playback_ref = PlaybackActor.start(self._io, self._inbox, me, self._far_end)
        self._children.append(playback_ref)
        self._capture = capture_ref.proxy()
        self._playback = playback_ref.proxy()
        self._refresh_devices(rescan=False)
        self._reconfigure()
        self._publish()

    def on_stop(self) -> None:
        self._inbox.attach(None)
        for ref in reversed(self._children):
            try:
                ref.stop(block=True, timeout=_CHILD_TIMEOUT)
            except (pykka.Timeout, pykka.ActorDeadError):
                log.warning("audio actor %s did not stop cleanly", ref)

    def on_failure(self, *args: Any) -> None:
        self.on_stop()

    def ready(self) -> bool:
        return True

    # --- from the connection actor --------------------------------------------------

    def set_voice_sender(self, sender: VoiceSender | None) -> None:
        self._sender = sender
        self._reconfigure()
        self._publish()

    def set_session(self, user_id: int | None) -> None:
        self._user_id = user_id

    def send_voice_frame(self, frame: VoiceFrame) -> bool:
        """Send one already encoded frame now, if connected (bots and tests)."""
        if self._sender is None:
            return False
        self._sender(encode_voice(frame))
        return True

    def user_left(self, user_id: int) -> None:
        if self._playback is not None:
            self._playback.forget_user.defer(user_id)

    def loss_feedback(self, reporter_id: int, frames: int, lost: int) -> None:
        """A listener's loss report about our voice: the capture side adapts to it."""
        if self._capture is not None:
            self._capture.loss_feedback.defer(reporter_id, frames, lost)

    # --- from the capture and playback actors ------------------------------------------

    def capture_status(self, transmitting: bool, level_db: float) -> None:
        self._audio = replace(self._audio, is_transmitting=transmitting, input_level_db=level_db)
        self._publish()

    def capture_started(self) -> None:
        self._errors.pop("capture", None)
        self._update_error()
        self._publish()

    def capture_failed(self, message: str) -> None:
        log.warning("audio capture: %s", message)
        self._errors["capture"] = message
        self._audio = replace(self._audio, is_transmitting=False, input_level_db=-120.0)
        self._update_error()
        self._publish()

    def playback_started(self) -> None:
        self._errors.pop("playback", None)
        self._update_error()
        self._publish()

    def playback_failed(self, message: str) -> None:
        log.warning("audio playback: %s", message)
        self._errors["playback"] = message
        self._audio = replace(self._audio, talking_users=frozenset())
        self._update_error()
        self._publish()

    def talking_changed(self, talking: frozenset[int]) -> None:
        self._audio = replace(self._audio, talking_users=talking)
        self._publish()

    def engine_settled(self, role: str, settings: object, running: bool) -> None:
        self._settled[role] = (settings, running)
        if self._rescan_when_idle and self._idle():
            self._rescan_when_idle = False
            self._refresh_devices(rescan=True)
            self._publish()

    # --- commands ------------------------------------------------------------------------

    def handle(self, command: c.AudioCommand) -> None:
        a = self._audio
        match command:
            case c.SetInputDevice(name=name):
                if self._unknown_device(name, a.input_devices, "input"):
                    return
                self._audio = replace(a, input_device=name)
                self._errors.pop("capture", None)
                self._config.update(input_device=name)
            case c.SetOutputDevice(name=name):
                if self._unknown_device(name, a.output_devices, "output"):
                    return
                self._audio = replace(a, output_device=name)
                self._errors.pop("playback", None)
                self._config.update(output_device=name)
            case c.SetInputVolume(volume=v):
                self._audio = replace(a, input_volume=float(v))
                self._config.update(input_volume=float(v))
            case c.SetOutputVolume(volume=v):
                self._audio = replace(a, output_volume=float(v))
                self._config.update(output_volume=float(v))
            case c.SetAudioProcessing(noise_suppression=ns, gain_control=g, echo_cancellation=e):
                given: dict[str, Any] = {
                    "noise_suppression": ns, "gain_control": g, "echo_cancellation": e
                }
                chain = {k: v for k, v in given.items() if v is not None}
                self._audio = replace(a, **chain)
                self._errors.pop("processing", None)
                self._config.update(**chain)
            case c.RefreshAudioDevices():
                idle = self._idle()
                # Streams still closing: list what is known now, rescan once they are.
                self._rescan_when_idle = not idle and self._wants_idle()
                self._refresh_devices(rescan=idle)
            case c.SetTransmissionMode(mode=mode, vad_threshold_db=threshold):
                changes: dict[str, Any] = {"transmission_mode": mode}
                if threshold is not None:
                    changes["vad_threshold_db"] = float(threshold)
                self._audio = replace(a, **changes)
                self._config.update(**changes)
            case c.StartTransmit():
                self._ptt_pressed = True
            case c.StopTransmit():
                self._ptt_pressed = False
            case c.SetPushToTalkKey(key=key):
                self._audio = replace(a, ptt_key=key)
                self._config.update(ptt_key=key)
            case c.SetSelfMute(self_mute=mute, self_deaf=deaf):
                self._audio = replace(a, self_mute=mute or deaf, self_deaf=deaf)
            case c.SetUserVolume(user_id=uid, volume=volume, muted=muted):
                volumes = dict(self._user_volumes)
                gain = 0.0 if muted else float(volume)
                if gain == 1.0:
                    volumes.pop(uid, None)
                else:
                    volumes[uid] = gain
                self._user_volumes = tuple(sorted(volumes.items()))
            case c.StartLoopbackTest():
                self._audio = replace(a, loopback_test=True)
            case c.StopLoopbackTest():
                self._audio = replace(a, loopback_test=False)
        self._update_error()
        self._reconfigure()
        self._publish()

    # --- internals -------------------------------------------------------------------------

    def _unknown_device(
        self, name: str | None, devices: tuple[AudioDeviceView, ...], kind: str
    ) -> bool:
        command = "SetInputDevice" if kind == "input" else "SetOutputDevice"
        if name is None or not devices or any(d.name == name for d in devices):
            self._errors.pop("setting", None)
            return False
        message = (
            f"there is no {kind} device called {name!r}; pick one from the list "
            "(refresh it if you just plugged the device in)"
        )
        self._state_actor.report_error(LocalErrorCode.AUDIO.value, message, command)
        self._errors["setting"] = message
        self._update_error()
        self._publish()
        return True

    def _wants_idle(self) -> bool:
        """No stream is wanted open."""
        return not (self._capture_settings.running or self._playback_settings.running)

    def _idle(self) -> bool:
        """No stream is open (so PortAudio may be re-initialised).

        Known from the children's `engine_settled` tells for the settings
        last sent, never by asking them: an ask between actors can deadlock.
        """
        if not self._wants_idle():
            return False
        wanted_by_role = {"capture": self._capture_settings, "playback": self._playback_settings}
        for role, wanted in wanted_by_role.items():
            settled = self._settled.get(role)
            if settled is not None and (settled[0] != wanted or settled[1]):
                return False
        return True

    def _refresh_devices(self, rescan: bool) -> None:
        try:
            inputs, outputs = self._io.devices(rescan=rescan)
        except AudioError as exc:
            self._errors["devices"] = str(exc)
            inputs, outputs = (), ()
        else:
            self._errors.pop("devices", None)
        self._audio = replace(self._audio, input_devices=inputs, output_devices=outputs)
        self._update_error()

    def _update_error(self) -> None:
        messages = [self._errors[k] for k in _ERROR_ORDER if k in self._errors]
        self._audio = replace(self._audio, error="; ".join(messages) if messages else None)

    def _present(
        self, kind: str, name: str | None, devices: tuple[AudioDeviceView, ...]
    ) -> str | None:
        """The device to open: the saved one, or the default (None) if it is not there.

        A saved device that is missing (unplugged, renamed) must not leave the
        user silent: the system default is used, the setting is kept (it is
        used again once the device is back) and one notice says so.
        """
        if name is None or not devices or any(d.name == name for d in devices):
            self._missing.discard((kind, name or ""))
            return name
        if (kind, name) not in self._missing:
            self._missing.add((kind, name))
            what = "microphone" if kind == "input" else "speakers"
            self._state_actor.report_error(
                LocalErrorCode.AUDIO.value,
                f"the {what} {name!r} saved in your settings is not connected; using the "
                "system default instead (pick another in the audio settings, or plug it in "
                "and refresh the device list)",
                "",
            )
        return None

    def _reconfigure(self) -> None:
        a = self._audio
        connected = self._sender is not None
        loopback = a.loopback_test
        route: VoiceRoute | None = None
        if loopback:
            route = LoopbackRoute(self._inbox.deliver_local, self._inbox.end_local)
        elif self._sender is not None:
            route = ServerRoute(self._sender)
        sending = connected and a.transmission_mode is not TransmissionMode.MUTED
        capture = CaptureSettings(
            running=loopback or (sending and not a.self_mute),
            device=self._present("input", a.input_device, a.input_devices),
            mode=TransmissionMode.CONTINUOUS if loopback else a.transmission_mode,
            vad_threshold_db=a.vad_threshold_db,
            input_volume=a.input_volume,
            ptt=self._ptt_pressed,
            route=route,
            dsp=self._dsp_settings(a),
        )
        playback = PlaybackSettings(
            running=loopback or (connected and not a.self_deaf),
            device=self._present("output", a.output_device, a.output_devices),
            output_volume=a.output_volume,
            user_volumes=self._user_volumes,
        )
        if playback != self._playback_settings and self._playback is not None:
            self._playback_settings = playback
            self._playback.configure.defer(playback)
        if capture != self._capture_settings and self._capture is not None:
            self._capture_settings = capture
            self._capture.configure.defer(capture)
        if not capture.running and a.is_transmitting:
            self._audio = replace(a, is_transmitting=False)

    def _dsp_settings(self, a: AudioState) -> DspSettings | None:
        """The capture chain for a live microphone (None for arrays and files)."""
        if not self._io.live:
            return None
        return DspSettings(
            noise_suppression=SuppressorKind(a.noise_suppression),
            gain_control=a.gain_control,
            echo_cancellation=a.echo_cancellation,
        )

    def processing_failed(self, message: str) -> None:
        """The capture chain could not be built as asked (its library is missing)."""
        log.warning("voice processing: %s", message)
        self._errors["processing"] = message
        self._update_error()
        self._publish()

    def _publish(self) -> None:
        if self._audio != self._published:
            self._published = self._audio
            self._state_actor.audio_changed(self._audio)
