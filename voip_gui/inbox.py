"""The hand-over of snapshots from actor threads to the render loop.

The backend calls subscribers from its own thread; Dear PyGui must only be
touched from the main thread. The subscriber therefore does nothing but keep
the newest snapshot (one reference assignment under a lock); the render loop
takes it when its `version` is newer than what is on screen. Intermediate
snapshots are skipped on purpose: the screen only needs the latest.
"""

from __future__ import annotations

import threading

from voip.client.state import State


class SnapshotInbox:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._newest: State | None = None
        self._shown_version = -1

    def put(self, state: State) -> None:
        """Subscriber callback (any thread): keep `state` if it is the newest seen."""
        with self._lock:
            if self._newest is None or state.version >= self._newest.version:
                self._newest = state

    def take(self) -> State | None:
        """The newest snapshot if it has not been taken yet, else None (main thread)."""
        with self._lock:
            state = self._newest
            if state is None or state.version == self._shown_version:
                return None
            self._shown_version = state.version
            return state

    def force_redraw(self) -> None:
        """Make the next `take` return the newest snapshot again (after a view changed)."""
        with self._lock:
            self._shown_version = -1
