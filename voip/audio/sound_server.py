"""The sound server's own devices (PulseAudio, or PipeWire's PulseAudio service) by name.

PortAudio on Linux sees ALSA devices: with a sound server running that is
``pulse`` and ``default``, names that mean nothing to a user. The sound
server knows the real ones and their descriptions ("Built-in Audio Analog
Stereo", "USB headset"). pulsectl (ctypes bindings of libpulse; chosen over
parsing ``pactl`` output and over pulsectl-asyncio, which only adds an
asyncio front end we do not need) lists them; a stream is then opened on
PortAudio's ``pulse`` device with ``PULSE_SINK`` / ``PULSE_SOURCE`` naming
the one chosen, which libpulse honours when the stream connects.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass

log = logging.getLogger(__name__)

#: PortAudio's device that goes through the sound server.
PULSE_DEVICE = "pulse"
_ENV = {"input": "PULSE_SOURCE", "output": "PULSE_SINK"}
_env_lock = threading.Lock()
#: What the environment said at start (a launcher may pick the devices this way).
_ORIGINAL = {variable: os.environ.get(variable) for variable in _ENV.values()}


@dataclass(frozen=True, slots=True)
class ServerDevice:
    name: str  # the server's name (alsa_output.pci-0000_00_1f.3.analog-stereo)
    description: str  # what the user reads
    channels: int
    is_default: bool
    is_monitor: bool = False  # a sink's monitor: records what that sink plays


def server_devices() -> tuple[list[ServerDevice], list[ServerDevice]] | None:
    """(sources, sinks) of the running sound server, or None if there is none to ask."""
    try:
        import pulsectl
    except ImportError:
        return None
    try:
        with pulsectl.Pulse("voip-devices", connect=True) as pulse:
            info = pulse.server_info()
            sources = [
                ServerDevice(
                    s.name,
                    s.description,
                    s.channel_count,
                    s.name == info.default_source_name,
                    s.monitor_of_sink != 0xFFFFFFFF,
                )
                for s in pulse.source_list()
            ]
            sinks = [
                ServerDevice(
                    s.name, s.description, s.channel_count, s.name == info.default_sink_name
                )
                for s in pulse.sink_list()
            ]
    except Exception as exc:  # no server, a refused connection: PortAudio's list only
        log.info("no sound server to list devices from (%s)", exc)
        return None
    # Real microphones first, monitors (what a sink plays) after them.
    sources.sort(key=lambda d: d.is_monitor)
    return sources, sinks


def route(direction: str, server_name: str | None) -> None:
    """Make the next stream in `direction` connect to `server_name` (None: as at start)."""
    variable = _ENV[direction]
    value = server_name if server_name is not None else _ORIGINAL[variable]
    with _env_lock:
        if value is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = value
