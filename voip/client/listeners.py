"""What the client's actors tell each other, as typed listener interfaces.

Mopidy's listener style: an actor never imports another actor. It is given,
at start, a listener for each actor it reports to (a `Protocol` below), and
every call on one is a `tell` (`tells(proxy)` turns an actor proxy into one):
fire and forget, quiet once the receiver is stopping, never an `ask`, which
can deadlock two actors waiting on each other. Only `BackendHandle` knows the
actor classes; it starts them in order and wires these up, so the actors
form a tree under it.

Adding a message between actors: a method on the receiver, the same
signature here on its listener.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, Protocol

import pykka

from voip.client.connection_events import ConnectionEvent
from voip.client.core.events import CoreEvent
from voip.client.state import AudioState, ConfigView


class StateListener(Protocol):
    """The state owner (`StateActor`): everything that changes what a front end sees."""

    def connection_event(self, event: ConnectionEvent) -> None: ...
    def server_event(self, event: CoreEvent) -> None: ...
    def report_error(self, code: str, message: str, command: str = "") -> None: ...
    def audio_changed(self, audio: AudioState) -> None: ...
    def config_changed(self, config: ConfigView) -> None: ...


class ConfigListener(Protocol):
    """The config owner (`ConfigActor`): settings to persist."""

    def update(self, **changes: Any) -> None: ...


class ResyncListener(Protocol):
    """The connection (`ConnectionActor`): the state owner's copy diverged."""

    def resync(self) -> None: ...


class VoicePathListener(Protocol):
    """The audio side (`AudioActor`): the connection's voice path and who we are."""

    def set_voice_sender(self, sender: Callable[[bytes], None] | None) -> None: ...
    def set_session(self, user_id: int | None) -> None: ...
    def user_left(self, user_id: int) -> None: ...
    def loss_feedback(self, reporter_id: int, frames: int, lost: int) -> None: ...


class EngineListener(Protocol):
    """The audio actor, as its capture and playback children report to it."""

    def capture_status(self, transmitting: bool, level_db: float) -> None: ...
    def capture_started(self) -> None: ...
    def capture_failed(self, message: str) -> None: ...
    def processing_failed(self, message: str) -> None: ...
    def playback_started(self) -> None: ...
    def playback_failed(self, message: str) -> None: ...
    def talking_changed(self, talking: frozenset[int]) -> None: ...
    def engine_settled(self, role: str, settings: object, running: bool) -> None: ...


class _Tells:
    """Every method call becomes ``proxy.method.defer(...)``, quiet if the actor is gone."""

    __slots__ = ("_proxy",)

    def __init__(self, proxy: pykka.ActorProxy[Any]) -> None:
        self._proxy = proxy

    def __getattr__(self, name: str) -> Callable[..., None]:
        method = getattr(self._proxy, name)

        def tell(*args: Any, **kwargs: Any) -> None:
            with contextlib.suppress(pykka.ActorDeadError):
                method.defer(*args, **kwargs)

        return tell


def tells(proxy: pykka.ActorProxy[Any]) -> Any:
    """`proxy` as a listener whose calls are tells.

    Assign it to a name annotated with the listener `Protocol` it stands for
    (``state: StateListener = tells(proxy)``), so mypy checks every call.
    """
    return _Tells(proxy)
