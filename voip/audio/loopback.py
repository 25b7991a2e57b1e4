"""Local microphone test: capture -> Opus -> jitter buffer -> playback, no network.

Lets a user check their devices and levels (and hear what others will hear,
codec included) before connecting.
"""

from __future__ import annotations

from voip.audio.capture import CaptureEngine, TransmissionMode
from voip.audio.devices import DeviceSpec
from voip.audio.engine import ErrorCallback
from voip.audio.playback import PlaybackEngine
from voip.audio.sinks import FrameSink
from voip.audio.sources import FrameSource

LOOPBACK_USER = 0


class LocalLoopback:
    """Plays the microphone back through the full voice pipeline."""

    def __init__(
        self,
        input_device: DeviceSpec | FrameSource = None,
        output_device: DeviceSpec | FrameSink = None,
        on_error: ErrorCallback | None = None,
    ) -> None:
        self.playback = PlaybackEngine(output_device, on_error=on_error)
        self.capture = CaptureEngine(
            input_device,
            send=self._deliver,
            send_end=self._end,
            mode=TransmissionMode.CONTINUOUS,
            on_error=on_error,
        )

    def _deliver(self, packet: bytes, sequence: int) -> None:
        self.playback.receive(LOOPBACK_USER, sequence, packet, self.playback.clock())

    def _end(self, sequence: int) -> None:
        self.playback.end_of_transmission(LOOPBACK_USER, sequence, self.playback.clock())

    def start(self) -> None:
        """Start playback first so the first captured packets have somewhere to go."""
        self.playback.start()
        try:
            self.capture.start()
        except Exception:
            self.playback.stop()
            raise

    def stop(self) -> None:
        self.capture.stop()
        self.playback.stop()
