"""The connect dialog: where to connect and as whom, and how the connection is going.

Visible whenever there is no connection. It is also where a lost connection
is explained (the one place that says it): the reason in red and a
Reconnect button that reuses the fields, so the password typed earlier does
not have to be typed again (it is kept in this dialog only, never in the
config). Servers used before and favourites are one click away; the name
starts as the one used last, else the computer's user name.
"""

from __future__ import annotations

import getpass
from typing import Any

import dearpygui.dearpygui as dpg

from voip.client.commands import Connect, Disconnect, problem
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
from voip_gui.prefs import PrefsFile

WIDTH = 480
NO_SERVERS = "(no servers used yet)"


def os_user_name() -> str:
    """The computer's user name as a display-name suggestion ("" if unknown)."""
    try:
        return getpass.getuser().strip()
    except (KeyError, OSError):
        return ""


def explain(error: str, password_given: bool) -> str:
    """The connection failure in the user's terms, with what to do."""
    lower = error.lower()
    if lower.startswith("no answer from "):
        where = error[len("no answer from ") :].split(" within", 1)[0]
        return f"No server answered at {where}: check the address and that the server runs."
    if "password" in lower and not password_given:
        return "This server needs a password: type it below and connect again."
    if "password" in lower:
        return "The server did not accept that password: check it and connect again."
    return f"{error[:1].upper()}{error[1:]}"


class ConnectDialog:
    def __init__(
        self,
        send: SendFn,
        themes: theme.Themes,
        prefs: PrefsFile | None = None,
        reconnector: Reconnector | None = None,
    ) -> None:
        self._reconnector = reconnector if reconnector is not None else Reconnector()
        self._send = send
        self._themes = themes
        self._prefs = prefs if prefs is not None else PrefsFile(None)
        self._used_for: object = None
        self.busy = False
        self._was_connected = False
        self.servers: int | str = 0
        self.favourite: int | str = 0
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
            width=self._themes.px(WIDTH),
            autosize=True,
            no_close=True,
            no_collapse=True,
            no_resize=True,
            no_saved_settings=True,
        ) as self.window:
            dpg.add_text("Servers used before", color=theme.TEXT_DIM)
            with dpg.group(horizontal=True):
                self.servers = dpg.add_combo(
                    [NO_SERVERS],
                    tag="connect_servers",
                    default_value=NO_SERVERS,
                    width=-self._themes.px(150),
                    callback=self._on_pick_server,
                )
                self.favourite = dpg.add_button(
                    label="Add to favourites",
                    tag="connect_favourite",
                    width=-1,
                    callback=self.toggle_favourite,
                )
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
            self.status = dpg.add_text("", tag="connect_status", wrap=self._themes.px(WIDTH - 30))
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

    def _server_items(self) -> list[str]:
        prefs = self._prefs.prefs
        return [
            f"* {a}" if a in prefs.favourites else a for a in prefs.servers()
        ] or [NO_SERVERS]

    def _refresh_servers(self) -> None:
        dpg.configure_item(self.servers, items=self._server_items())
        address = str(dpg.get_value(self.address)).strip()
        favourite = address in self._prefs.prefs.favourites
        dpg.configure_item(
            self.favourite, label="Remove favourite" if favourite else "Add to favourites"
        )

    def _on_pick_server(self, sender: Any, app_data: Any) -> None:
        self.pick_server(str(app_data))

    def pick_server(self, item: str) -> None:
        if item == NO_SERVERS:
            return
        dpg.set_value(self.address, item.removeprefix("* "))
        self._refresh_servers()

    def toggle_favourite(self) -> None:
        address = str(dpg.get_value(self.address)).strip()
        if address:
            self._prefs.update(self._prefs.prefs.toggled_favourite(address))
        self._refresh_servers()

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
        w = self._themes.px(WIDTH)
        dpg.set_item_pos(self.window, [max(0, (width - w) // 2), max(0, height // 2 - w // 2)])

    def render(self, state: State) -> None:
        if not self._prefilled:
            if not dpg.get_value(self.address):
                recent = self._prefs.prefs.recent
                last = state.config.last_server or (recent[0] if recent else "")
                dpg.set_value(self.address, last)
            if not dpg.get_value(self.name):
                dpg.set_value(self.name, state.config.display_name or os_user_name())
            self._prefilled = True
            self._refresh_servers()
        if isinstance(state.connection, Connected) and state.connection != self._used_for:
            self._used_for = state.connection
            address = str(dpg.get_value(self.address)).strip() or state.connection.server_addr
            if address:
                self._prefs.update(self._prefs.prefs.used(address))
                self._refresh_servers()

        connection = state.connection
        was_shown = dpg.is_item_shown(self.window)
        # While reconnecting by itself the window stays; the status bar counts down.
        show = not isinstance(connection, Connected) and not self._reconnector.active
        dpg.configure_item(self.window, show=show)
        if show and (not was_shown or connection != self._last_connection):
            self._center()
        if connection != self._last_connection:
            self._local_problem = None
            if isinstance(connection, Connected):
                self._was_connected = True
            elif isinstance(connection, Connecting) and not self._reconnector.active:
                self._was_connected = False  # a new attempt of the user's own
        self._last_connection = connection

        self.busy = busy = isinstance(connection, Connecting | AwaitingTrust)
        for item in (self.address, self.name, self.password):
            dpg.configure_item(item, enabled=not busy)
        dpg.configure_item(self.connect_button, enabled=not busy)
        dpg.configure_item(self.cancel_button, show=busy)
        lost = isinstance(connection, ConnectionLost)
        label = "Connect"
        if lost:
            label = "Reconnect" if self._was_connected else "Try again"
        dpg.configure_item(self.connect_button, label=label)

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
                given = bool(dpg.get_value(self.password))
                silent = "no answer from" in error.lower() or "stopped answering" in error.lower()
                if self._was_connected:
                    head = f"Connection to {addr} lost." if addr else "Connection lost."
                    text = f"{head} {explain(error, given)}"
                elif silent:
                    text = (
                        f"No server answered at {addr}: check the address and that the "
                        "server is running."
                    )
                else:
                    head = f"Could not connect to {addr}." if addr else "Could not connect."
                    text = f"{head} {explain(error, given)}"
                self._show_status(text, theme.ERROR)
            case Disconnected():
                self._show_status("", theme.TEXT)
            case _:
                pass
