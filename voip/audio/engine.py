"""What capture and playback engines share: their lifecycle, state and errors.

Both engines are a worker thread driving one device end (a frame source or
sink): start opens it (a failure to open is raised and leaves the engine
FAILED), stop joins the worker and closes it, and a failure on the worker
closes it and goes to ``on_error`` once. ``AudioEngine`` holds that once;
an engine says how to open and close its end and what one run of the worker
does.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable
from typing import ClassVar

from voip.errors import AudioDeviceError, AudioError

ErrorCallback = Callable[[AudioError], None]
"""Told once when an engine fails for good (device gone, PortAudio error)."""


class EngineState(enum.Enum):
    STOPPED = "stopped"
    RUNNING = "running"
    FAILED = "failed"  # see the engine's ``error``; start() again to retry


class AudioEngine:
    """A worker thread over one device end, with start/stop/fail and ``on_error``."""

    _ROLE: ClassVar[str]  # "capture" / "playback": thread name and messages

    def __init__(self, on_error: ErrorCallback | None) -> None:
        self._on_error = on_error
        self._log = logging.getLogger(type(self).__module__)
        self._thread: threading.Thread | None = None
        self._running = threading.Event()
        self.state = EngineState.STOPPED
        self.error: AudioError | None = None

    # -- what an engine says ----------------------------------------------------

    def _prepare(self) -> None:
        """Before the device end opens (on the thread calling ``start``)."""

    def _open_end(self) -> None:
        raise NotImplementedError

    def _close_end(self) -> None:
        raise NotImplementedError

    def _work(self) -> None:
        """The worker's loop; runs while ``_running`` is set."""
        raise NotImplementedError

    def _closed(self) -> None:
        """After the device end closed, on stop or failure."""

    # -- lifecycle --------------------------------------------------------------

    def start(self) -> None:
        """Open the device end and start the worker.

        Raises AudioDeviceError if the device cannot be opened (the engine is
        then FAILED); failures after a successful start go to ``on_error``.
        """
        if self.state is EngineState.RUNNING:
            return
        self.error = None
        self._prepare()
        try:
            self._open_end()
        except AudioError as exc:
            self.state = EngineState.FAILED
            self.error = exc
            raise
        self._running.set()
        self.state = EngineState.RUNNING
        self._thread = threading.Thread(target=self._run, name=f"voip-{self._ROLE}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the worker and close the device end; safe to call more than once."""
        self._running.clear()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)
        self._close_end()
        self._closed()
        if self.state is EngineState.RUNNING:
            self.state = EngineState.STOPPED

    def _run(self) -> None:
        try:
            self._work()
        except AudioError as exc:
            self._fail(exc)
        except Exception as exc:  # never let the thread die silently
            self._log.exception("%s worker crashed", self._ROLE)
            self._fail(AudioDeviceError(f"audio {self._ROLE} failed unexpectedly: {exc}"))

    def _fail(self, exc: AudioError) -> None:
        self._log.error("audio %s stopped: %s", self._ROLE, exc)
        self.state = EngineState.FAILED
        self.error = exc
        self._running.clear()
        self._close_end()
        self._closed()
        if self._on_error is not None:
            try:
                self._on_error(exc)
            except Exception:
                self._log.exception("%s on_error callback raised", self._ROLE)
