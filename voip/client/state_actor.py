"""The state owner: the one actor that changes the client's `State`.

Everything that changes what a front end sees arrives here as a `tell`
(server envelopes from the connection actor, audio state from the audio
actor, errors from anywhere), is applied to the `ClientModel`, and the new
snapshot is published. It tells the connection actor to resync when its copy
of the server state diverges; it never asks anyone anything.
"""

from __future__ import annotations

import logging
from typing import Any

import pykka

from voip.client.connection_events import ConnectionEvent
from voip.client.core.events import CoreEvent
from voip.client.listeners import ResyncListener
from voip.client.model import ClientModel
from voip.client.publisher import Publisher
from voip.client.state import AudioState, ConfigView, TransferView

log = logging.getLogger(__name__)


class StateActor(pykka.ThreadingActor):
    def __init__(self, model: ClientModel, publisher: Publisher) -> None:
        super().__init__()
        self._model = model
        self._publisher = publisher
        self._connection: ResyncListener | None = None

    def ready(self) -> bool:
        return True

    def attach_connection(self, connection: ResyncListener) -> None:
        self._connection = connection

    # --- from the connection actor ------------------------------------------------------

    def connection_event(self, event: ConnectionEvent) -> None:
        self._model.connection_event(event)
        self._publish()

    def server_event(self, event: CoreEvent) -> None:
        """A state or chat event from the client core (its messages are never mutated)."""
        if self._model.apply(event):
            self._request_resync()
        self._publish()

    # --- from anyone ------------------------------------------------------------------

    def report_error(self, code: str, message: str, command: str = "") -> None:
        self._model.add_error(code, message, command)
        self._publish()

    def dismiss_error(self, error_id: int) -> None:
        self._model.dismiss_error(error_id)
        self._publish()

    def audio_changed(self, audio: AudioState) -> None:
        self._model.set_audio(audio)
        self._publish()

    def config_changed(self, config: ConfigView) -> None:
        self._model.set_config(config)
        self._publish()

    def set_transfers(self, transfers: tuple[TransferView, ...]) -> None:
        """Progress of our shared and fetched files (from the sharing actor)."""
        self._model.set_transfers(transfers)
        self._publish()

    def corrupt_model_for_test(self) -> None:
        """Test hook: make the local copy diverge so the next update forces a resync."""
        self._model.corrupt_for_test()
        self._publish()

    # --- internals ----------------------------------------------------------------------

    def _request_resync(self) -> None:
        if self._connection is not None:
            self._connection.resync()

    def _publish(self) -> None:
        snapshot = self._model.snapshot
        if snapshot is not self._publisher.latest:
            self._publisher.publish(snapshot)

    def on_failure(self, *args: Any) -> None:
        log.error("the state owner crashed; the client state is frozen")
