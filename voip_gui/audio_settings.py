"""Audio settings: which devices, how loud, what the microphone hears, and a self-test.

The device lists come from the state (the audio engine enumerates them);
"System default" stands for None, i.e. whatever the system picks. The level
meter shows `input_level_db` on a -60..0 dB scale, the range where speech
lives; the voice processing controls choose the noise suppressor and switch
gain control and echo cancellation (docs/AUDIO.md); the loopback test plays
the microphone back locally, through that processing, with or without a
connection, so a user can hear the result before joining anyone.
"""

from __future__ import annotations

from typing import Any

import dearpygui.dearpygui as dpg

from voip.client.commands import (
    RefreshAudioDevices,
    SetAudioProcessing,
    SetInputDevice,
    SetInputVolume,
    SetOutputDevice,
    SetOutputVolume,
    StartLoopbackTest,
    StopLoopbackTest,
)
from voip.client.state import AudioDeviceView, State, TransmissionMode
from voip_gui import theme
from voip_gui.ports import SendFn

SYSTEM_DEFAULT = "System default"
#: Noise suppressor choices as shown -> the value SetAudioProcessing takes.
SUPPRESSORS = {
    "Speex (default, lightest)": "speex",
    "DeepFilterNet (strongest, more CPU)": "deepfilter",
    "RNNoise": "rnnoise",
    "Off": "off",
}
_SUPPRESSOR_LABEL = {v: k for k, v in SUPPRESSORS.items()}
METER_FLOOR_DB = -60.0


def meter_fraction(level_db: float) -> float:
    """Where `level_db` sits on the meter, 0 (floor or below) to 1 (0 dBFS)."""
    return min(1.0, max(0.0, (level_db - METER_FLOOR_DB) / -METER_FLOOR_DB))


def device_items(devices: tuple[AudioDeviceView, ...]) -> list[str]:
    names = [SYSTEM_DEFAULT]
    for device in devices:
        if device.name not in names:
            names.append(device.name)
    return names


class AudioSettings:
    def __init__(self, send: SendFn) -> None:
        self._send = send
        self.input_device: int | str = 0
        self.output_device: int | str = 0
        self.input_volume: int | str = 0
        self.output_volume: int | str = 0
        self.meter: int | str = 0
        self.threshold_note: int | str = 0
        self.loopback: int | str = 0
        self.suppressor: int | str = 0
        self.gain_control: int | str = 0
        self.echo_cancellation: int | str = 0
        self.error: int | str = 0
        self._devices: tuple[object, ...] | None = None

    def build(self, parent: int | str) -> None:
        with dpg.group(parent=parent):
            with dpg.group(horizontal=True):
                dpg.add_text("Microphone")
                dpg.add_button(
                    label="Refresh devices",
                    tag="refresh_devices",
                    small=True,
                    callback=lambda: self._send(RefreshAudioDevices()),
                )
            self.input_device = dpg.add_combo(
                [SYSTEM_DEFAULT],
                tag="input_device",
                default_value=SYSTEM_DEFAULT,
                width=-1,
                callback=self._on_input_device,
            )
            self.input_volume = dpg.add_slider_int(
                tag="input_volume",
                min_value=0,
                max_value=200,
                default_value=100,
                format="Mic volume %d%%",
                width=-1,
                callback=self._on_input_volume,
            )
            self.meter = dpg.add_progress_bar(
                tag="input_meter", default_value=0.0, overlay="silence", width=-1
            )
            self.threshold_note = dpg.add_text("", tag="meter_note", color=theme.TEXT_DIM, wrap=0)
            dpg.add_text("Speakers / headphones")
            self.output_device = dpg.add_combo(
                [SYSTEM_DEFAULT],
                tag="output_device",
                default_value=SYSTEM_DEFAULT,
                width=-1,
                callback=self._on_output_device,
            )
            self.output_volume = dpg.add_slider_int(
                tag="output_volume",
                min_value=0,
                max_value=200,
                default_value=100,
                format="Volume %d%%",
                width=-1,
                callback=self._on_output_volume,
            )
            dpg.add_text("Voice processing")
            self.suppressor = dpg.add_combo(
                list(SUPPRESSORS),
                tag="noise_suppression",
                default_value=_SUPPRESSOR_LABEL["speex"],
                width=-1,
                callback=self._on_suppressor,
            )
            self.gain_control = dpg.add_checkbox(
                label="Automatic gain (steady level)",
                tag="gain_control",
                default_value=True,
                callback=lambda s, v: self._send(SetAudioProcessing(gain_control=bool(v))),
            )
            self.echo_cancellation = dpg.add_checkbox(
                label="Echo cancellation (when using speakers)",
                tag="echo_cancellation",
                callback=lambda s, v: self._send(SetAudioProcessing(echo_cancellation=bool(v))),
            )
            self.loopback = dpg.add_checkbox(
                label="Hear myself (loopback test)",
                tag="loopback_test",
                callback=self._on_loopback,
            )
            self.error = dpg.add_text("", tag="audio_error", color=theme.ERROR, wrap=0, show=False)

    # --- user actions -------------------------------------------------------------------

    def _on_input_device(self, sender: int | str, app_data: Any) -> None:
        name = str(app_data)
        self._send(SetInputDevice(None if name == SYSTEM_DEFAULT else name))

    def _on_output_device(self, sender: int | str, app_data: Any) -> None:
        name = str(app_data)
        self._send(SetOutputDevice(None if name == SYSTEM_DEFAULT else name))

    def _on_input_volume(self, sender: int | str, app_data: Any) -> None:
        self._send(SetInputVolume(int(app_data) / 100.0))

    def _on_output_volume(self, sender: int | str, app_data: Any) -> None:
        self._send(SetOutputVolume(int(app_data) / 100.0))

    def _on_suppressor(self, sender: int | str, app_data: Any) -> None:
        self._send(SetAudioProcessing(noise_suppression=SUPPRESSORS.get(str(app_data), "off")))

    def _on_loopback(self, sender: int | str, app_data: Any) -> None:
        self._send(StartLoopbackTest() if app_data else StopLoopbackTest())

    # --- drawing --------------------------------------------------------------------------

    def _set_if_idle(self, item: int | str, value: Any) -> None:
        # Never fight the user's hand: a slider being dragged keeps its value.
        if not dpg.is_item_active(item):
            dpg.set_value(item, value)

    def render(self, state: State) -> None:
        audio = state.audio
        devices = (audio.input_devices, audio.output_devices)
        if devices != self._devices:
            self._devices = devices
            dpg.configure_item(self.input_device, items=device_items(audio.input_devices))
            dpg.configure_item(self.output_device, items=device_items(audio.output_devices))
        self._set_if_idle(self.input_device, audio.input_device or SYSTEM_DEFAULT)
        self._set_if_idle(self.output_device, audio.output_device or SYSTEM_DEFAULT)
        self._set_if_idle(self.input_volume, round(audio.input_volume * 100))
        self._set_if_idle(self.output_volume, round(audio.output_volume * 100))
        dpg.set_value(self.loopback, audio.loopback_test)
        self._set_if_idle(self.suppressor, _SUPPRESSOR_LABEL.get(audio.noise_suppression, "Off"))
        dpg.set_value(self.gain_control, audio.gain_control)
        dpg.set_value(self.echo_cancellation, audio.echo_cancellation)

        level = audio.input_level_db
        dpg.set_value(self.meter, meter_fraction(level))
        dpg.configure_item(
            self.meter,
            overlay="input: silence" if level <= METER_FLOOR_DB else f"input {level:.0f} dB",
        )
        if audio.transmission_mode == TransmissionMode.VOICE_ACTIVATED:
            above = level >= audio.vad_threshold_db
            note = f"threshold {audio.vad_threshold_db:.0f} dB: " + (
                "above, sending" if above else "below, not sending"
            )
        else:
            note = ""
        dpg.set_value(self.threshold_note, note)
        dpg.configure_item(self.threshold_note, show=bool(note))
        dpg.set_value(self.error, audio.error or "")
        dpg.configure_item(self.error, show=bool(audio.error))
