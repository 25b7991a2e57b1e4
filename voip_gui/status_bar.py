"""The line at the top: where this client is connected, as whom, and a way out.

It always says something: "Not connected", "Connecting to ...", the server's
name and the message of the day, or why the connection was lost.
"""

from __future__ import annotations

import time

import dearpygui.dearpygui as dpg

from voip.client.commands import Disconnect
from voip.client.reconnect import Reconnector
from voip.client.state import (
    AwaitingTrust,
    Connected,
    Connecting,
    ConnectionLost,
    Disconnected,
    State,
)
from voip_gui import theme
from voip_gui.ports import SendFn


class StatusBar:
    def __init__(
        self, send: SendFn, themes: theme.Themes, reconnector: Reconnector | None = None
    ) -> None:
        self._send = send
        self._themes = themes
        self._reconnector = reconnector if reconnector is not None else Reconnector()
        self._state: State | None = None
        self.dot: int | str = 0
        self.text: int | str = 0
        self.motd: int | str = 0
        self.disconnect: int | str = 0

    def build(self, parent: int | str) -> None:
        with dpg.group(parent=parent):
            with dpg.group(horizontal=True):
                self.dot = dpg.add_text(self._themes.glyphs.talking, tag="status_dot")
                self.text = dpg.add_text("Not connected", tag="status_text")
                dpg.add_spacer(width=20)
                self.disconnect = dpg.add_button(
                    label="Disconnect",
                    tag="disconnect_button",
                    show=False,
                    callback=lambda: self._send(Disconnect()),
                )
                self.stop = dpg.add_button(
                    label="Stop reconnecting",
                    tag="reconnect_stop",
                    show=False,
                    callback=self.stop_reconnecting,
                )
            self.motd = dpg.add_text(
                "", tag="status_motd", color=theme.TEXT_DIM, show=False, wrap=0
            )

    def stop_reconnecting(self) -> None:
        self._send(Disconnect())  # which also stops the reconnecting

    def tick(self) -> None:
        """While a reconnect is counting down: the seconds left."""
        if self._state is not None:
            self.render(self._state)

    def render(self, state: State) -> None:
        self._state = state
        motd = ""
        ellipsis = self._themes.glyphs.ellipsis
        match state.connection:
            case Connected(server_name=name, server_addr=addr, motd=motd):
                me = state.me
                where = state.room(state.my_room_id) if state.my_room_id is not None else None
                text = f"Connected to {name or addr}" + (f" ({addr})" if addr and name else "")
                if me is not None:
                    text += f" as {me.name}"
                if where is not None:
                    text += f", in {where.name}"
                colour = theme.OK
            case Connecting(server_addr=addr):
                text, colour = f"Connecting to {addr}{ellipsis}", theme.WARNING
            case AwaitingTrust(server_addr=addr):
                text, colour = f"Waiting for you to check {addr}'s certificate", theme.WARNING
            case ConnectionLost(server_addr=addr, error=error) if self._reconnector.active:
                left = self._reconnector.seconds_left(time.monotonic())
                when = f"in {left:.0f} s" if left is not None and left >= 0.5 else "now"
                attempt = self._reconnector.attempt
                text = f"Connection to {addr} lost. Reconnecting {when} (attempt {attempt})"
                motd = f"{error[:1].upper()}{error[1:]}."
                colour = theme.WARNING
            case Connecting(server_addr=addr) if self._reconnector.active:
                text = f"Reconnecting to {addr}{ellipsis} (attempt {self._reconnector.attempt})"
                colour = theme.WARNING
            case ConnectionLost(server_addr=addr):
                # The connect dialog says why and what to do; here only where things stand.
                text = f"Not connected to {addr}" if addr else "Not connected"
                colour = theme.ERROR
            case Disconnected():
                text, colour = "Not connected", theme.TEXT_DIM
            case _:
                text, colour = "", theme.TEXT_DIM
        dpg.set_value(self.text, text)
        dpg.configure_item(self.dot, color=colour)
        dpg.configure_item(self.text, color=theme.ERROR if colour == theme.ERROR else theme.TEXT)
        reconnecting = self._reconnector.active
        dpg.configure_item(
            self.disconnect,
            show=isinstance(state.connection, Connected | Connecting) and not reconnecting,
        )
        dpg.configure_item(self.stop, show=reconnecting)
        dpg.set_value(self.motd, motd)
        dpg.configure_item(self.motd, show=bool(motd))
