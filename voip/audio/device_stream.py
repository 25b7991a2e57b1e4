"""What the sound card source and sink share: one PortAudio stream's life.

Opening the stream, turning PortAudio's "finished" callback into a failure
the worker sees, the stall watchdog (a device that stops calling back
without saying so) and closing a stream whose device may be gone are the
same for input and output; only the direction, the wording and what counts
as "not ready yet" differ, so those are all a subclass says.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, ClassVar, Literal

from voip.audio.codec import FRAME_SAMPLES, SAMPLE_RATE
from voip.audio.devices import AudioDevice, DeviceSpec, resolve_device, sounddevice
from voip.errors import AudioDeviceError

log = logging.getLogger(__name__)

STALL_SECONDS = 2.0  # no audio from a running device for this long means it is gone


class DeviceStream:
    """A PortAudio stream whose real-time callback sets ``_wake``.

    Subclasses write ``_callback`` (stamping ``_last_activity``), say their
    direction and messages, and say in ``_not_ready`` when the worker has
    to wait for the callback.
    """

    _KIND: ClassVar[Literal["input", "output"]]
    _GONE: ClassVar[str]  # PortAudio finished the stream on its own; {name!r}
    _STALLED: ClassVar[str]  # no callback for STALL_SECONDS; {name!r}, {seconds:g}
    _OPENED: ClassVar[str]  # log line: device name, latency

    def __init__(self, device: DeviceSpec, wake: threading.Event) -> None:
        self._spec = device
        self.device: AudioDevice | None = None
        self._wake = wake
        self._stream: Any = None
        self._stopping = False
        self._failure: AudioDeviceError | None = None
        self._last_activity = 0.0
        self.latency = 0.0

    def _callback(self, data: Any, frames: int, time_info: Any, status: Any) -> None:
        raise NotImplementedError

    def _not_ready(self) -> bool:
        raise NotImplementedError

    def _name(self) -> object:
        return self.device.name if self.device else self._spec

    def _finished_callback(self) -> None:
        if not self._stopping:
            self._failure = AudioDeviceError(self._GONE.format(name=self._name()))
            self._wake.set()

    def start(self) -> None:
        sd = sounddevice()
        self.device = resolve_device(self._spec, self._KIND)
        self._stopping = False
        stream_class = sd.InputStream if self._KIND == "input" else sd.OutputStream
        try:
            self._stream = stream_class(
                device=self.device.index,
                samplerate=SAMPLE_RATE,
                channels=1,
                dtype="float32",
                blocksize=FRAME_SAMPLES,
                latency="low",
                callback=self._callback,
                finished_callback=self._finished_callback,
            )
            self._stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            self._stream = None
            raise AudioDeviceError(
                f"cannot open the {self._KIND} device {self.device.name!r}: {exc}"
            ) from exc
        self.latency = float(self._stream.latency)
        self._last_activity = time.monotonic()
        log.info(self._OPENED, self.device.name, self.latency)

    def _await_callback(self, timeout: float) -> bool:
        """True when the worker may go on; False if the callback did not come in time.

        Raises AudioDeviceError when the stream has failed or stalled.
        """
        if self._not_ready():
            self._wake.clear()
            if self._not_ready() and self._failure is None:
                self._wake.wait(timeout)
        if self._failure is not None:
            raise self._failure
        if self._not_ready():
            if time.monotonic() - self._last_activity > STALL_SECONDS:
                raise AudioDeviceError(
                    self._STALLED.format(name=self._name(), seconds=STALL_SECONDS)
                )
            return False
        return True

    def stop(self) -> None:
        self._stopping = True
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.abort()
                stream.close()
            except Exception as exc:  # a vanished device may fail to close; nothing to save
                log.warning("closing %s stream failed: %s", self._KIND, exc)
