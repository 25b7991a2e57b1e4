"""Audio device listing and selection through sounddevice (PortAudio).

sounddevice is imported lazily: it loads PortAudio at import time, and the
file-based parts of the pipeline (the bot, benchmarks) must work without it.
PortAudio scans devices once at initialisation, so ``rescan()`` re-initialises
it to see devices plugged in (or a PulseAudio server started) afterwards.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

from voip.errors import AudioDeviceError

log = logging.getLogger(__name__)

Direction = Literal["input", "output"]
DeviceSpec = int | str | None
"""An index, an exact or unique partial name, or None for the system default."""


def sounddevice() -> Any:
    """The sounddevice module, or an AudioDeviceError saying what to install."""
    try:
        import sounddevice as sd
    except OSError as exc:
        raise AudioDeviceError(
            f"PortAudio could not be loaded ({exc}); install libportaudio2"
        ) from exc
    return sd


@dataclass(frozen=True, slots=True)
class AudioDevice:
    """One PortAudio device as the settings view shows it."""

    index: int
    name: str
    host_api: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate: float
    is_default_input: bool
    is_default_output: bool

    def supports(self, direction: Direction) -> bool:
        channels = self.max_input_channels if direction == "input" else self.max_output_channels
        return channels > 0


def rescan() -> None:
    """Re-initialise PortAudio so its device list reflects the system now."""
    sd = sounddevice()
    sd._terminate()
    sd._initialize()


def list_devices() -> list[AudioDevice]:
    """Every device PortAudio knows, inputs and outputs alike."""
    sd = sounddevice()
    try:
        raw = sd.query_devices()
        apis = sd.query_hostapis()
        default_in, default_out = sd.default.device
    except sd.PortAudioError as exc:
        raise AudioDeviceError(f"cannot list audio devices: {exc}") from exc
    if default_in is None or default_in < 0:
        default_in = _default_index(sd, "input")
    if default_out is None or default_out < 0:
        default_out = _default_index(sd, "output")
    return [
        AudioDevice(
            index=int(d["index"]),
            name=str(d["name"]),
            host_api=str(apis[d["hostapi"]]["name"]),
            max_input_channels=int(d["max_input_channels"]),
            max_output_channels=int(d["max_output_channels"]),
            default_samplerate=float(d["default_samplerate"]),
            is_default_input=int(d["index"]) == default_in,
            is_default_output=int(d["index"]) == default_out,
        )
        for d in raw
    ]


def _default_index(sd: Any, direction: Direction) -> int:
    try:
        return int(sd.query_devices(kind=direction)["index"])
    except (sd.PortAudioError, ValueError):
        return -1


def input_devices() -> list[AudioDevice]:
    return [d for d in list_devices() if d.supports("input")]


def output_devices() -> list[AudioDevice]:
    return [d for d in list_devices() if d.supports("output")]


def resolve_device(spec: DeviceSpec, direction: Direction) -> AudioDevice:
    """Find the device a setting names, or say clearly why it cannot be used.

    Names match exactly first, then as a unique case-insensitive substring,
    so a config can say "USB" when only one USB headset is present.
    """
    devices = [d for d in list_devices() if d.supports(direction)]
    if not devices:
        raise AudioDeviceError(
            f"no audio {direction} devices found; check that a sound card or "
            "PulseAudio/PipeWire server is available"
        )
    if spec is None:
        for d in devices:
            if d.is_default_input if direction == "input" else d.is_default_output:
                return d
        return devices[0]
    if isinstance(spec, int):
        for d in devices:
            if d.index == spec:
                return d
        raise AudioDeviceError(
            f"no audio {direction} device with index {spec}; available: "
            + ", ".join(f"{d.index}: {d.name}" for d in devices)
        )
    exact = [d for d in devices if d.name == spec]
    if exact:
        return exact[0]
    partial = [d for d in devices if spec.lower() in d.name.lower()]
    if len(partial) == 1:
        return partial[0]
    names = ", ".join(repr(d.name) for d in devices)
    if not partial:
        raise AudioDeviceError(
            f"audio {direction} device {spec!r} not found (unplugged?); available: {names}"
        )
    raise AudioDeviceError(
        f"audio {direction} device name {spec!r} is ambiguous: it matches "
        + ", ".join(repr(d.name) for d in partial)
    )
