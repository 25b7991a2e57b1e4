"""The connect dialog: where to connect and as whom, and how the connection is going.

Visible whenever there is no connection. It is also where a lost connection
is explained: the reason in red and a Reconnect button that reuses the
fields, so the password typed earlier does not have to be typed again (it is
kept in this dialog only, never in the config).
"""

from __future__ import annotations

import dearpygui.dearpygui as dpg

from voip.client.commands import Connect, Disconnect, problem
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

WIDTH = 480


class ConnectDialog:
    def __init__(self, send: SendFn, themes: theme.Themes) -> None:
        self._send = send
        self._themes = themes
        self._prefilled = False
        self._local_problem: str | None = None
        self._last_connection: object = None
        self.window: int | str = 0
        self.address: int | str = 0
        self.name: int | str = 0
        self.password: int | str = 0
        self.status: int | str = 0
        self.connect_button: int | str = 0
        self.cancel_button: int | str = 0

    def build(self, parent: int | str | None = None) -> None:
        """A top-level window (`parent` is unused: Dear PyGui windows have none)."""
        with dpg.window(
            label="Connect to a server",
            tag="connect_dialog",
            width=WIDTH,
            autosize=True,
            no_close=True,
            no_collapse=True,
            no_resize=True,
            no_saved_settings=True,
        ) as self.window:
            dpg.add_text("Server address", color=theme.TEXT_DIM)
            self.address = dpg.add_input_text(
                tag="connect_address",
                hint="voip.example.org:7731",
                width=-1,
                on_enter=True,
                callback=self._on_connect,
            )
            dpg.add_text("Your name", color=theme.TEXT_DIM)
            self.name = dpg.add_input_text(
                tag="connect_name",
                hint="display name",
                width=-1,
                on_enter=True,
                callback=self._on_connect,
            )
            dpg.add_text("Server password (if it has one)", color=theme.TEXT_DIM)
            self.password = dpg.add_input_text(
                tag="connect_password",
                password=True,
                width=-1,
                on_enter=True,
                callback=self._on_connect,
            )
            dpg.add_spacer(height=2)
            self.status = dpg.add_text("", tag="connect_status", wrap=WIDTH - 30)
            with dpg.group(horizontal=True):
                self.connect_button = dpg.add_button(
                    label="Connect", tag="connect_button", width=140, callback=self._on_connect
                )
                self.cancel_button = dpg.add_button(
                    label="Cancel",
                    tag="connect_cancel",
                    width=100,
                    show=False,
                    callback=lambda: self._send(Disconnect()),
                )

    def prefill(self, address: str = "", name: str = "", password: str = "") -> None:
        """Values from the command line; they win over the remembered ones."""
        for item, value in ((self.address, address), (self.name, name), (self.password, password)):
            if value:
                dpg.set_value(item, value)
        if address or name:
            self._prefilled = True

    def connect(self) -> None:
        """Send Connect with the fields as typed (also what Reconnect does)."""
        command = Connect(
            address=str(dpg.get_value(self.address)).strip(),
            display_name=str(dpg.get_value(self.name)).strip(),
            password=str(dpg.get_value(self.password)),
        )
        self._local_problem = problem(command)
        if self._local_problem is not None:
            self._show_status(self._local_problem.capitalize(), theme.ERROR)
            return
        self._send(command)

    def _on_connect(self) -> None:
        self.connect()

    def _show_status(self, text: str, colour: theme.Colour) -> None:
        dpg.set_value(self.status, text)
        dpg.configure_item(self.status, color=colour, show=bool(text))

    def _center(self) -> None:
        width = dpg.get_viewport_client_width() or 1280
        height = dpg.get_viewport_client_height() or 800
        dpg.set_item_pos(self.window, [max(0, (width - WIDTH) // 2), max(0, height // 2 - 190)])

    def render(self, state: State) -> None:
        if not self._prefilled and (state.config.last_server or state.config.display_name):
            if not dpg.get_value(self.address):
                dpg.set_value(self.address, state.config.last_server)
            if not dpg.get_value(self.name):
                dpg.set_value(self.name, state.config.display_name)
            self._prefilled = True

        connection = state.connection
        was_shown = dpg.is_item_shown(self.window)
        show = not isinstance(connection, Connected)
        dpg.configure_item(self.window, show=show)
        if show and (not was_shown or connection != self._last_connection):
            self._center()
        if connection != self._last_connection:
            self._local_problem = None
        self._last_connection = connection

        busy = isinstance(connection, Connecting | AwaitingTrust)
        for item in (self.address, self.name, self.password):
            dpg.configure_item(item, enabled=not busy)
        dpg.configure_item(self.connect_button, enabled=not busy)
        dpg.configure_item(self.cancel_button, show=busy)
        lost = isinstance(connection, ConnectionLost)
        dpg.configure_item(self.connect_button, label="Reconnect" if lost else "Connect")

        if self._local_problem is not None:
            return
        match connection:
            case Connecting(server_addr=addr):
                self._show_status(
                    f"Connecting to {addr}{self._themes.glyphs.ellipsis}", theme.WARNING
                )
            case AwaitingTrust(server_addr=addr):
                self._show_status(
                    f"{addr} presents a certificate this client has not seen: check it.",
                    theme.WARNING,
                )
            case ConnectionLost(error=error, server_addr=addr):
                where = f" to {addr}" if addr else ""
                self._show_status(f"Connection{where} lost: {error}", theme.ERROR)
            case Disconnected():
                self._show_status("", theme.TEXT)
            case _:
                pass
