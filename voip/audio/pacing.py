"""Real-time pacing for frame sources and sinks that have no sound card clock.

A WAV file or an array can deliver frames instantly; to behave like a
microphone (or a speaker) it must deliver one frame per 20 ms. Deadlines are
computed from the start time (not by sleeping 20 ms each time) so the pace
does not drift with scheduling delays.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from voip.audio.codec import FRAME_SECONDS


class FramePacer:
    """Blocks until the next frame is due; ``realtime=False`` never blocks."""

    def __init__(
        self,
        realtime: bool = True,
        frame_seconds: float = FRAME_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.realtime = realtime
        self._frame = frame_seconds
        self._clock = clock
        self._sleep = sleep
        self._start: float | None = None
        self._frames = 0

    def wait(self, timeout: float) -> bool:
        """Wait for the next frame slot; False if it is more than ``timeout`` away."""
        if not self.realtime:
            return True
        now = self._clock()
        if self._start is None:
            self._start = now
        due = self._start + self._frames * self._frame
        if due - now > timeout:
            self._sleep(timeout)
            return False
        if due > now:
            self._sleep(due - now)
        if now - due > 0.2:
            # Far behind (machine suspended?): restart the schedule rather
            # than delivering a burst of frames to catch up.
            self._start = now
            self._frames = 0
        self._frames += 1
        return True
