"""Hands each new `State` to readers: latest value, subscribers, waiters.

The state owner is the only writer. Readers in any thread take the latest
snapshot without waiting on an actor (replacing one reference is atomic, and
the snapshot is immutable). Subscribers and the repaint callback run in the
state owner's thread, so they must be quick; an exception in one is logged
and does not stop the others.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from voip.client.state import State

log = logging.getLogger(__name__)

Subscriber = Callable[[State], None]


class Publisher:
    def __init__(self, initial: State, repaint: Callable[[], None] | None = None) -> None:
        self._latest = initial
        self._repaint = repaint
        self._subscribers: tuple[Subscriber, ...] = ()
        self._changed = threading.Condition()

    @property
    def latest(self) -> State:
        return self._latest

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        with self._changed:
            self._subscribers = (*self._subscribers, fn)

        def unsubscribe() -> None:
            with self._changed:
                self._subscribers = tuple(s for s in self._subscribers if s is not fn)

        return unsubscribe

    def publish(self, state: State) -> None:
        with self._changed:
            self._latest = state
            subscribers = self._subscribers
            self._changed.notify_all()
        for fn in subscribers:
            try:
                fn(state)
            except Exception:
                log.exception("state subscriber %r failed", fn)
        if self._repaint is not None:
            try:
                self._repaint()
            except Exception:
                log.exception("repaint callback failed")

    def wait_for(self, predicate: Callable[[State], bool], timeout: float) -> State:
        """Block until a snapshot satisfies `predicate`; TimeoutError after `timeout` s.

        Event based: wakes on each publish, never polls on a timer.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                state = self._latest
                if predicate(state):
                    return state
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"no state matched within {timeout:g} s; the last was "
                        f"version {state.version}, connection {state.connection}, "
                        f"errors {[e.message for e in state.errors]}"
                    )
                self._changed.wait(remaining)
