"""The client's audio through real PortAudio on the PulseAudio null sink `vsink`.

The `pulse` fixture is the one in tests/audio/conftest.py (loaded from
there, not copied): it starts the daemon with `tools/pulse-up.sh` and
re-initialises PortAudio. What is played to the sink comes back on its
monitor, the default source, so a tone played by the test is what the
client's microphone hears.
"""

from __future__ import annotations

import runpy
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from voip.audio.analysis import dominant_frequency
from voip.client import BackendHandle
from voip.client import commands as c
from voip.client.audio_io import ArrayIO
from voip.client.config import ClientConfig, save_config
from voip.client.state import AwaitingTrust, State, TransmissionMode

pytestmark = pytest.mark.audio

WAIT = 20.0
#: The sound server's devices by their descriptions (tools/pulse-up.sh's null sink).
INPUT = "Monitor of Null Output"
OUTPUT = "Null Output"
TONE_HZ = 440.0


# tests/ is not a package (importlib mode): helpers are loaded by path.
_load = runpy.run_path(str(Path(__file__).resolve().parents[1] / "support" / "loading.py"))["load"]
_audio_conftest = _load(
    "voip_tests_audio_conftest", Path(__file__).resolve().parents[1] / "audio" / "conftest.py"
)
pulse = _audio_conftest.pulse
tone_player = _audio_conftest.tone_player


@pytest.fixture
def tone(tone_player: Callable[[float], None]) -> None:
    """A continuous 440 Hz sine played into the null sink while the test runs."""
    tone_player(TONE_HZ)


def connect(backend: BackendHandle, server: Any, name: str) -> State:
    backend.send(c.Connect(f"127.0.0.1:{server.port}", name))
    state = backend.wait_for(
        lambda s: isinstance(s.connection, AwaitingTrust) or (s.is_connected and bool(s.rooms)),
        WAIT,
    )
    if isinstance(state.connection, AwaitingTrust):
        backend.send(c.AcceptCertificate())
    return backend.wait_for(lambda s: s.is_connected and bool(s.rooms) and s.me is not None, WAIT)


def test_refresh_lists_the_sound_servers_devices_by_description(
    pulse: dict[str, str], make_backend: Callable[..., BackendHandle]
) -> None:
    backend = make_backend()
    backend.send(c.RefreshAudioDevices())
    state = backend.wait_for(
        lambda s: (
            any(d.name == INPUT for d in s.audio.input_devices)
            and any(d.name == OUTPUT for d in s.audio.output_devices)
        ),
        WAIT,
    )
    assert not state.is_connected
    assert state.audio.error is None
    assert any(d.is_default for d in state.audio.input_devices)
    # PortAudio's ALSA names mean nothing to a user: not listed beside the real ones.
    names = {d.name for d in (*state.audio.input_devices, *state.audio.output_devices)}
    assert not names & {"pulse", "default", "sysdefault"}, names


def test_a_tone_on_the_microphone_reaches_another_client(
    tone: None, make_backend: Callable[..., BackendHandle], server: Any, tmp_path: Path
) -> None:
    # The talker uses the real sound card path (the default AudioIO), on the null sink,
    # whose default source is the null sink's monitor: it hears the tone.
    talker = make_backend(tmp_path / "talker")
    listener_io = ArrayIO(record=True)
    listener = make_backend(tmp_path / "listener", audio_io=listener_io)
    talker.send(c.SetInputDevice(INPUT))
    talker.send(c.SetOutputDevice(OUTPUT))
    talker.send(c.SetTransmissionMode(TransmissionMode.CONTINUOUS))
    # A steady tone is not speech: the default noise suppressor would take it
    # for noise. This test is about the device path, so the chain is off.
    talker.send(c.SetAudioProcessing(noise_suppression="off", gain_control=False))
    talker_id = connect(talker, server, "talker").my_user_id
    connect(listener, server, "listener")

    state = talker.wait_for(
        lambda s: s.audio.is_transmitting and s.audio.input_level_db > -20, WAIT
    )
    assert state.audio.error is None
    listener.wait_for(lambda s: talker_id in s.audio.talking_users, WAIT)
    # A second of it, decoded at the listener, is the same tone.
    base = listener_io.recording().size

    deadline = time.monotonic() + WAIT
    while listener_io.recording().size < base + 48000:  # a counter, not a state: poll it
        assert time.monotonic() < deadline, "the listener stopped playing"
        time.sleep(0.02)
    tail = listener_io.recording()[-48000:]
    assert abs(dominant_frequency(tail) - TONE_HZ) < 5.0
    assert float(np.sqrt(np.mean(tail**2))) > 0.05


def test_loopback_test_toggles_with_the_real_devices(
    tone: None, make_backend: Callable[..., BackendHandle]
) -> None:
    backend = make_backend()
    backend.send(c.SetInputDevice(INPUT))
    backend.send(c.SetOutputDevice(OUTPUT))
    # The meter reads after the voice processing, which would take the tone for noise.
    backend.send(c.SetAudioProcessing(noise_suppression="off", gain_control=False))
    backend.send(c.StartLoopbackTest())
    state = backend.wait_for(lambda s: s.audio.loopback_test and s.audio.input_level_db > -20, WAIT)
    assert not state.audio.is_transmitting  # nothing leaves the machine
    assert state.audio.error is None
    backend.send(c.StopLoopbackTest())
    state = backend.wait_for(
        lambda s: not s.audio.loopback_test and s.audio.input_level_db <= -100, WAIT
    )
    assert state.audio.error is None


def test_a_missing_saved_device_falls_back_to_the_default_with_one_notice(
    pulse: dict[str, str],
    make_backend: Callable[..., BackendHandle],
    server: Any,
    tmp_path: Path,
) -> None:
    # A device saved in the settings that is not there any more (unplugged).
    config_dir = tmp_path / "ghost"
    save_config(
        config_dir,
        ClientConfig(
            input_device="Ghost USB headset", transmission_mode=TransmissionMode.CONTINUOUS
        ),
    )
    backend = make_backend(config_dir)
    connect(backend, server, "ghost")
    # The system default is used instead: the microphone works, and one notice says so.
    state = backend.wait_for(lambda s: s.audio.is_transmitting, WAIT)
    notices = [e for e in state.errors if "Ghost USB headset" in e.message]
    assert len(notices) == 1, state.errors
    assert "using the system default" in notices[0].message
    assert state.audio.input_device == "Ghost USB headset"  # kept for when it is back
    assert state.audio.error is None
    backend.send(c.RefreshAudioDevices())
    time.sleep(1.0)
    state = backend.state()
    assert len([e for e in state.errors if "Ghost USB headset" in e.message]) == 1

    # Asking for an unknown device by name is refused with a sentence, too.
    backend.send(c.SetOutputDevice("No such speakers"))
    state = backend.wait_for(lambda s: any(e.command == "SetOutputDevice" for e in s.errors), WAIT)
    assert "No such speakers" in (state.audio.error or "")

    # Choosing a device that exists clears the error and capture goes on.
    backend.send(c.SetInputDevice(INPUT))
    backend.send(c.SetOutputDevice(OUTPUT))
    state = backend.wait_for(lambda s: s.audio.error is None and s.audio.is_transmitting, WAIT)
    assert state.audio.input_device == INPUT


def test_a_chosen_sound_server_device_is_the_one_played_to(
    pulse: dict[str, str],
    make_backend: Callable[..., BackendHandle],
    server: Any,
    tmp_path: Path,
) -> None:
    import pulsectl

    with pulsectl.Pulse("voip-test") as p:
        module = p.module_load(
            "module-null-sink",
            "sink_name=voip_second rate=48000 sink_properties=device.description=Second-speakers",
        )
    try:
        backend = make_backend(tmp_path / "second")
        backend.send(c.RefreshAudioDevices())
        backend.wait_for(lambda s: any(d.name == "Second-speakers"
                                       for d in s.audio.output_devices), WAIT)
        connect(backend, server, "second")
        backend.send(c.SetOutputDevice("Second-speakers"))
        deadline = time.monotonic() + WAIT
        while True:
            with pulsectl.Pulse("voip-test") as p:
                sink = next(s for s in p.sink_list() if s.name == "voip_second")
                ours = [i for i in p.sink_input_list() if i.sink == sink.index]
            if ours:
                break
            assert time.monotonic() < deadline, "playback did not go to the chosen sink"
            time.sleep(0.1)
    finally:
        with pulsectl.Pulse("voip-test") as p:
            p.module_unload(module)
