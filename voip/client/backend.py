"""`BackendHandle`: the one object a front end holds.

It starts the actors in order (state owner, config, audio, connection),
stops them in reverse, and gives the front end three things: the latest
`State` (never waits on an actor), `send(command)` (a tell, never raises),
and notifications (`subscribe`, the repaint callback). See docs/CLIENT_API.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pykka

from voip.client import commands as c
from voip.client.audio_actor import AudioActor
from voip.client.audio_io import AudioIO
from voip.client.config import ClientConfig, load_config
from voip.client.config_actor import ConfigActor, config_view
from voip.client.connection_actor import ConnectionActor
from voip.client.listeners import (
    ConfigListener,
    ResyncListener,
    StateListener,
    VoicePathListener,
    tells,
)
from voip.client.model import ClientModel
from voip.client.moderation import MODERATION_COMMANDS
from voip.client.publisher import Publisher
from voip.client.session import Timeouts
from voip.client.sharing_actor import SharingActor, downloads_folder
from voip.client.state import AudioState, LocalErrorCode, State
from voip.client.state_actor import StateActor
from voip.client.voice_path import VoiceInbox
from voip.identity import default_config_dir
from voip.protocol.voice import VoiceFrame

log = logging.getLogger(__name__)

_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 15.0


def audio_settings(config: ClientConfig) -> AudioState:
    """The audio part of the first snapshot, from the saved settings."""
    return AudioState(
        input_device=config.input_device,
        output_device=config.output_device,
        input_volume=config.input_volume,
        output_volume=config.output_volume,
        transmission_mode=config.transmission_mode,
        vad_threshold_db=config.vad_threshold_db,
        ptt_key=config.ptt_key,
        noise_suppression=config.noise_suppression,
        gain_control=config.gain_control,
        echo_cancellation=config.echo_cancellation,
    )


class BackendHandle:
    """Starts the client backend; thread-safe to use from any thread.

    `repaint` is called (in the state owner's thread) after every state
    change, for toolkits that only need a "redraw soon" poke. `config_dir`
    defaults to the platform's per-user config dir. `connect_timeout` and
    `idle_timeout` (seconds) are for tests and bots that need quick failure.
    `audio_io` replaces the sound card as the audio source and sink (the bot
    and tests pass `voip.client.audio_io.ArrayIO`); by default real PortAudio
    devices are used.
    """

    def __init__(
        self,
        repaint: Callable[[], None] | None = None,
        config_dir: Path | None = None,
        *,
        connect_timeout: float = 10.0,
        idle_timeout: float = 15.0,
        audio_io: AudioIO | None = None,
        downloads_dir: Path | None = None,
        share_via_server_only: bool | None = None,
        share_listen_host: str = "0.0.0.0",
    ) -> None:
        self.config_dir = config_dir if config_dir is not None else default_config_dir()
        config, config_problem = load_config(self.config_dir)
        self.voice_inbox = VoiceInbox()
        model = ClientModel(config=config_view(config), audio=audio_settings(config))
        self._publisher = Publisher(model.snapshot, repaint)
        self._refs: list[pykka.ActorRef[Any]] = []
        self._stopped = False
        try:
            # Each actor learns of the others only as listeners whose calls are
            # tells (voip.client.listeners); only this handle knows their classes.
            state_ref = StateActor.start(model, self._publisher)
            self._refs.append(state_ref)
            self._state = state_ref.proxy()
            state: StateListener = tells(self._state)
            config_ref = ConfigActor.start(self.config_dir, config, state)
            self._refs.append(config_ref)
            self._config = config_ref.proxy()
            config_listener: ConfigListener = tells(self._config)
            audio_ref = AudioActor.start(
                state, config_listener, audio_settings(config), self.voice_inbox, audio_io
            )
            self._refs.append(audio_ref)
            self._audio = audio_ref.proxy()
            voice_path: VoicePathListener = tells(self._audio)
            sharing_ref = SharingActor.start(
                self._state,
                downloads_dir if downloads_dir is not None else downloads_folder(config),
                server_only=(
                    config.share_via_server_only
                    if share_via_server_only is None
                    else share_via_server_only
                ),
                listen_host=share_listen_host,
            )
            self._refs.append(sharing_ref)
            self._sharing = sharing_ref.proxy()
            connection_ref = ConnectionActor.start(
                config_dir=self.config_dir,
                state=state,
                audio=voice_path,
                config=config_listener,
                voice_sink=self.voice_inbox.put,
                loss_meter=self.voice_inbox.loss_meter,
                timeouts=Timeouts(connect=connect_timeout, idle=idle_timeout),
                sharing=self._sharing,
            )
            self._refs.append(connection_ref)
            self._connection = connection_ref.proxy()
            for proxy in (
                self._state,
                self._config,
                self._audio,
                self._sharing,
                self._connection,
            ):
                proxy.ready().get(timeout=_START_TIMEOUT)
            resync: ResyncListener = tells(self._connection)
            self._state.attach_connection.defer(resync)
            self._sharing.set_requester.defer(self._connection.request.defer)
        except BaseException:
            self.shutdown()
            raise
        if config_problem:
            self._state.report_error.defer(LocalErrorCode.CONFIG.value, config_problem, "")

    # --- reading -------------------------------------------------------------------

    def state(self) -> State:
        """The latest snapshot; cheap, and never waits on an actor."""
        return self._publisher.latest

    def subscribe(self, fn: Callable[[State], None]) -> Callable[[], None]:
        """Call `fn(state)` with each new snapshot (in the state owner's thread; be quick).

        Returns a function that unsubscribes.
        """
        return self._publisher.subscribe(fn)

    def wait_for(self, predicate: Callable[[State], bool], timeout: float = 10.0) -> State:
        """Block until a snapshot satisfies `predicate`; `TimeoutError` names the last state."""
        return self._publisher.wait_for(predicate, timeout)

    # --- commands ----------------------------------------------------------------------

    def send(self, command: c.Command) -> None:
        """Fire and forget. Failures show up as `ErrorNotice`s in the state, never raise."""
        if self._stopped:
            log.warning("%s sent after shutdown; ignored", c.command_name(command))
            return
        name = c.command_name(command)
        try:
            problem = c.problem(command)
            if problem is not None:
                self._state.report_error.defer(LocalErrorCode.INVALID_ARGUMENT.value, problem, name)
                return
            match command:
                case c.Connect():
                    self._connection.connect.defer(command)
                case c.Disconnect():
                    self._connection.disconnect.defer()
                case c.AcceptCertificate():
                    self._connection.accept_certificate.defer()
                case c.RejectCertificate():
                    self._connection.reject_certificate.defer()
                case (
                    c.JoinRoom()
                    | c.CreateRoom()
                    | c.DeleteRoom()
                    | c.RenameRoom()
                    | c.SendChat()
                    | c.SetDisplayName()
                    | c.RequestResync()
                    | c.OfferTorrent()
                    | c.AnnounceFile()
                ):
                    self._connection.request.defer(command)
                case c.ShareFile(path=path):
                    self._sharing.share.defer(path)
                case c.DownloadFile(info_hash=info_hash):
                    self._sharing.download.defer(info_hash)
                case _ if isinstance(command, MODERATION_COMMANDS):
                    self._connection.request.defer(command)
                case (
                    c.SetInputDevice()
                    | c.SetOutputDevice()
                    | c.SetInputVolume()
                    | c.SetOutputVolume()
                    | c.SetAudioProcessing()
                    | c.RefreshAudioDevices()
                    | c.SetTransmissionMode()
                    | c.StartTransmit()
                    | c.StopTransmit()
                    | c.SetPushToTalkKey()
                    | c.StartLoopbackTest()
                    | c.StopLoopbackTest()
                    | c.SetUserVolume()
                ):
                    self._audio.handle.defer(command)
                case c.SetSelfMute():
                    self._audio.handle.defer(command)
                    if self._publisher.latest.is_connected:
                        self._connection.request.defer(command)
                case c.DismissError(error_id=error_id):
                    self._state.dismiss_error.defer(error_id)
                case _:
                    self._state.report_error.defer(
                        LocalErrorCode.INVALID_ARGUMENT.value,
                        f"{command!r} is not a command this client knows",
                        name,
                    )
        except pykka.ActorDeadError:
            log.warning("%s sent while the backend is stopping; ignored", name)

    # --- test hooks --------------------------------------------------------------------------

    def send_voice_frame_for_test(self, frame: VoiceFrame) -> None:
        """Send one voice frame through the audio actor's datagram path (if connected)."""
        self._audio.send_voice_frame.defer(frame)

    def corrupt_state_for_test(self) -> None:
        """Make the local copy of the server state diverge (the next update forces a resync)."""
        self._state.corrupt_model_for_test.defer()

    # --- lifecycle -------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop the actors in reverse start order (closing the connection first), then sweep."""
        if self._stopped:
            return
        self._stopped = True
        for ref in reversed(self._refs):
            try:
                ref.stop(block=True, timeout=_STOP_TIMEOUT)
            except pykka.Timeout:
                log.warning("actor %s did not stop within %g s", ref, _STOP_TIMEOUT)
            except pykka.ActorDeadError:
                pass
        for ref in self._refs:
            if ref.is_alive():
                log.warning("actor %s still alive after shutdown; stopping without waiting", ref)
                ref.stop(block=False)

    def __enter__(self) -> BackendHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
