"""What the GUI needs from a backend: the slice of `BackendHandle` the views use.

Written as a Protocol so the views and tests can run against any object with
these methods (the real `voip.client.backend.BackendHandle`, or a scripted one
that serves constructed snapshots in rendering tests).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from voip.client.commands import Command
from voip.client.state import State

#: What views call to act: hand a command to the backend (never blocks, never raises).
SendFn = Callable[[Command], None]
#: What views call when what they show changes outside a snapshot (a scroll, a
#: focus change, a menu): draw this many more frames (the window draws on demand).
RedrawFn = Callable[[int], None]


class Backend(Protocol):
    def state(self) -> State: ...

    def send(self, command: Command) -> None: ...

    def subscribe(self, fn: Callable[[State], None]) -> Callable[[], None]: ...

    def shutdown(self) -> None: ...
