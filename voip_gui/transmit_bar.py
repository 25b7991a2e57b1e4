"""The transmit bar: how the microphone is keyed, and whether it is on the air now.

Push-to-talk works while the window has focus: the key's press sends
StartTransmit and its release StopTransmit. Keyboard auto-repeat delivers
more presses while the key is held; they are ignored (one press, one
release). If the release never arrives (the window lost focus while the key
was down), the next frame that sees the key up sends StopTransmit, so the
microphone never stays open by accident. While a text field is being edited
a PTT key that types (letters, space...) goes to the text field instead.

The on-air indicator shows `state.audio.is_transmitting`, what the audio
engine really sends, not what the key says.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dearpygui.dearpygui as dpg

from voip.client.commands import (
    SetPushToTalkKey,
    SetSelfMute,
    SetTransmissionMode,
    StartTransmit,
    StopTransmit,
)
from voip.client.state import State, TransmissionMode
from voip_gui import keys, theme
from voip_gui.ports import SendFn

MODE_LABELS = {
    TransmissionMode.PUSH_TO_TALK: "Push to talk",
    TransmissionMode.VOICE_ACTIVATED: "Voice activated",
    TransmissionMode.CONTINUOUS: "Continuous",
    TransmissionMode.MUTED: "Muted",
}
MODES_BY_LABEL = {label: mode for mode, label in MODE_LABELS.items()}
CANCEL_CAPTURE_KEY = "escape"
#: Mouse buttons that can be the push-to-talk "key" (left and right stay for clicking).
MOUSE_BUTTONS = {
    dpg.mvMouseButton_Middle: "mouse_middle",
    dpg.mvMouseButton_X1: "mouse_back",
    dpg.mvMouseButton_X2: "mouse_forward",
}


class TransmitBar:
    def __init__(
        self,
        send: SendFn,
        themes: theme.Themes,
        typing: Callable[[], bool] = lambda: False,
        set_global: Callable[[bool], None] = lambda enabled: None,
    ) -> None:
        self._set_global = set_global
        self._send = send
        self._themes = themes
        self._typing = typing
        self.mode = TransmissionMode.PUSH_TO_TALK
        self.ptt_key = "space"
        self.capturing = False
        #: Whether the PTT key is held (as far as the press/release events tell).
        self.held = False
        self.self_mute = False
        self.self_deaf = False
        self._synced_for: object = None
        # Set once the real keyboard state has shown the key down: only then does
        # "key up without a release event" mean a lost release.
        self._seen_down = False
        self.on_air: int | str = 0
        self.mode_radio: int | str = 0
        self.threshold: int | str = 0
        self.ptt_label: int | str = 0
        self.ptt_button: int | str = 0
        self.hint: int | str = 0
        self._on_air_state: bool | None = None

    def build(self, parent: int | str) -> None:
        """The bar: the on-air light, the mode, and what the mode means."""
        with dpg.group(horizontal=True, parent=parent, horizontal_spacing=self._themes.px(14)):
            self.on_air = dpg.add_button(
                label="off air", tag="on_air", width=self._themes.px(120),
                height=self._themes.px(46),
            )
            dpg.bind_item_theme(self.on_air, self._themes.off_air)
            with dpg.group():
                dpg.add_text("Transmit", color=theme.TEXT_DIM)
                self.mode_radio = dpg.add_radio_button(
                    items=list(MODE_LABELS.values()),
                    tag="transmit_mode",
                    horizontal=True,
                    default_value=MODE_LABELS[self.mode],
                    callback=self._on_mode,
                )
            with dpg.group():
                self.mute_button = dpg.add_button(
                    label="Mute", tag="self_mute_button", width=self._themes.px(90),
                    callback=self.toggle_mute,
                )
                self.deaf_button = dpg.add_button(
                    label="Deafen", tag="self_deaf_button", width=self._themes.px(90),
                    callback=self.toggle_deafen,
                )
            self.hint = dpg.add_text("", tag="transmit_hint", color=theme.TEXT_DIM, wrap=0)
        with dpg.handler_registry(tag="transmit_keys"):
            dpg.add_key_press_handler(callback=self._on_key_press)
            dpg.add_key_release_handler(callback=self._on_key_release)
            for button in MOUSE_BUTTONS:
                dpg.add_mouse_click_handler(button=button, callback=self._on_mouse_press)
                dpg.add_mouse_release_handler(button=button, callback=self._on_mouse_release)

    def show_global_problem(self, text: str) -> None:
        dpg.set_value(self.global_note, text)
        dpg.configure_item(self.global_note, show=bool(text))

    def build_settings(self, parent: int | str) -> None:
        """The voice activation threshold and the push-to-talk key (in the audio pane)."""
        with dpg.group(parent=parent):
            self.threshold = dpg.add_slider_float(
                tag="vad_threshold",
                min_value=-90.0,
                max_value=0.0,
                format="Voice activation at %.0f dB",
                width=-1,
                callback=self._on_threshold,
            )
            self.global_box = dpg.add_checkbox(
                label="PTT outside this window", tag="ptt_global",
                callback=lambda s, a: self._set_global(bool(a)),
            )
            self.global_note = dpg.add_text(
                "", tag="ptt_global_note", color=theme.WARNING, wrap=0, show=False
            )
            with dpg.group(horizontal=True):
                self.ptt_label = dpg.add_text("", tag="ptt_key_label")
                self.ptt_button = dpg.add_button(
                    label="Set PTT key", tag="ptt_set_button", width=-1,
                    callback=self.start_capture,
                )

    # --- user actions -----------------------------------------------------------------

    def toggle_mute(self) -> None:
        """Mute or unmute yourself (unmuting while deafened undeafens too, as in Mumble)."""
        if self.self_mute:
            self._send(SetSelfMute(self_mute=False, self_deaf=False))
        else:
            self._send(SetSelfMute(self_mute=True, self_deaf=self.self_deaf))

    def toggle_deafen(self) -> None:
        """Deafen (and mute) yourself, or undo both."""
        if self.self_deaf:
            self._send(SetSelfMute(self_mute=False, self_deaf=False))
        else:
            self._send(SetSelfMute(self_mute=True, self_deaf=True))

    def _on_mode(self, sender: int | str, app_data: Any) -> None:
        mode = MODES_BY_LABEL.get(str(app_data))
        if mode is not None:
            self.set_mode(mode)

    def set_mode(self, mode: TransmissionMode) -> None:
        if self.held:
            self._release()
        self.mode = mode
        self._send(SetTransmissionMode(mode))

    def _on_threshold(self, sender: int | str, app_data: Any) -> None:
        self._send(SetTransmissionMode(self.mode, vad_threshold_db=float(app_data)))

    def start_capture(self) -> None:
        """The next key pressed becomes the PTT key (Escape cancels)."""
        if self.held:
            self._release()
        self.capturing = True
        dpg.configure_item(self.ptt_button, label="Press a key (Esc cancels)")

    def _stop_capture(self) -> None:
        self.capturing = False
        dpg.configure_item(self.ptt_button, label="Set PTT key")

    # --- keyboard -----------------------------------------------------------------------

    def _on_key_press(self, sender: int | str, app_data: Any) -> None:
        self.key_pressed(int(app_data))

    def _on_key_release(self, sender: int | str, app_data: Any) -> None:
        self.key_released(int(app_data))

    def _on_mouse_press(self, sender: int | str, app_data: Any) -> None:
        name = MOUSE_BUTTONS.get(int(app_data))
        if name is not None:
            self.named_pressed(name)

    def _on_mouse_release(self, sender: int | str, app_data: Any) -> None:
        name = MOUSE_BUTTONS.get(int(app_data))
        if name == self.ptt_key and self.held:
            self._release()

    def key_pressed(self, code: int) -> None:
        self.named_pressed(keys.key_name(code))

    def named_pressed(self, name: str) -> None:
        """A key (by config name) or a mouse button (``mouse_...``) went down."""
        if self.capturing:
            self._stop_capture()
            if name != CANCEL_CAPTURE_KEY:
                self.ptt_key = name
                self._send(SetPushToTalkKey(name))
            return
        if name != self.ptt_key or self.mode != TransmissionMode.PUSH_TO_TALK:
            return
        if self.held:
            return  # auto-repeat
        if name in keys.TYPING_KEYS and self._typing():
            return
        self.held = True
        self._seen_down = False
        self._send(StartTransmit())

    def key_released(self, code: int) -> None:
        if keys.key_name(code) == self.ptt_key and self.held:
            self._release()

    def _release(self) -> None:
        self.held = False
        self._seen_down = False
        self._send(StopTransmit())

    def tick(self) -> None:
        """Every frame: catch a release lost while the window had no focus."""
        if not self.held:
            return
        code = keys.key_code(self.ptt_key)
        if code is None:
            return
        down = dpg.is_key_down(code)
        if down:
            self._seen_down = True
        elif self._seen_down:
            self._release()

    # --- drawing --------------------------------------------------------------------------

    def render(self, state: State) -> None:
        audio = state.audio
        self.self_mute, self.self_deaf = audio.self_mute, audio.self_deaf
        dpg.configure_item(self.mute_button, label="Unmute" if audio.self_mute else "Mute")
        dpg.configure_item(self.deaf_button, label="Undeafen" if audio.self_deaf else "Deafen")
        for button, on in (
            (self.mute_button, audio.self_mute),
            (self.deaf_button, audio.self_deaf),
        ):
            dpg.bind_item_theme(button, self._themes.danger_button if on else 0)
        me = state.me
        if state.is_connected and me is not None and state.connection != self._synced_for:
            # A new session starts unmuted on the server: tell it what we are.
            self._synced_for = state.connection
            if (me.self_mute, me.self_deaf) != (audio.self_mute, audio.self_deaf):
                self._send(SetSelfMute(audio.self_mute, audio.self_deaf))
        self.mode = audio.transmission_mode
        if not self.capturing:
            self.ptt_key = audio.ptt_key
        if self.held and self.mode != TransmissionMode.PUSH_TO_TALK:
            self._release()
        dpg.set_value(self.mode_radio, MODE_LABELS[self.mode])
        if not dpg.is_item_active(self.threshold):
            dpg.set_value(self.threshold, audio.vad_threshold_db)
        dpg.configure_item(self.threshold, enabled=self.mode == TransmissionMode.VOICE_ACTIVATED)
        dpg.set_value(self.ptt_label, f"PTT key: {keys.key_label(self.ptt_key)}")

        on_air = audio.is_transmitting
        if on_air:
            label = "ON AIR"
        elif audio.self_deaf:
            label = "deafened"
        elif self.mode == TransmissionMode.MUTED or audio.self_mute:
            label = "muted"
        else:
            label = "off air"
        dpg.configure_item(self.on_air, label=label)
        if on_air != self._on_air_state:
            dpg.bind_item_theme(
                self.on_air, self._themes.on_air if on_air else self._themes.off_air
            )
            self._on_air_state = on_air

        key = keys.key_label(self.ptt_key)
        hints = {
            TransmissionMode.PUSH_TO_TALK: f"Hold {key} to talk (while this window has "
            "focus; not while you type in a text field).",
            TransmissionMode.VOICE_ACTIVATED: "Sends while your level is above the threshold.",
            TransmissionMode.CONTINUOUS: "Your microphone is always sent.",
            TransmissionMode.MUTED: "Nothing is sent.",
        }
        dpg.set_value(self.hint, hints[self.mode])
