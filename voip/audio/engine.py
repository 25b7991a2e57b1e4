"""What capture and playback engines share: their lifecycle state and errors."""

from __future__ import annotations

import enum
from collections.abc import Callable

from voip.errors import AudioError

ErrorCallback = Callable[[AudioError], None]
"""Told once when an engine fails for good (device gone, PortAudio error)."""


class EngineState(enum.Enum):
    STOPPED = "stopped"
    RUNNING = "running"
    FAILED = "failed"  # see the engine's ``error``; start() again to retry
