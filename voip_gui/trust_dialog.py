"""The first-use certificate prompt: accept or refuse a server nobody vouches for.

A self-signed server is trusted the way SSH trusts a host: the first time,
the user compares the fingerprint with the one the server's operator
published (the server logs it at start) and accepts; the client pins it.
Closing the dialog any other way counts as Cancel, so nothing is trusted by
accident.
"""

from __future__ import annotations

import dearpygui.dearpygui as dpg

from voip.client.commands import AcceptCertificate, RejectCertificate
from voip.client.state import AwaitingTrust, State
from voip_gui import theme
from voip_gui.ports import SendFn

WIDTH = 560


def fingerprint_lines(fingerprint_text: str) -> str:
    """``SHA256:AB:CD:...`` split in rows of 16 bytes, easier to compare by eye.

    Only newlines are added: removing them gives back the exact text.
    """
    prefix, _, hexes = fingerprint_text.partition(":")
    parts = hexes.split(":") if hexes else []
    if len(parts) <= 16:
        return fingerprint_text
    rows = [":".join(parts[i : i + 16]) for i in range(0, len(parts), 16)]
    return f"{prefix}:\n" + ":\n".join(rows)


class TrustDialog:
    def __init__(self, send: SendFn) -> None:
        self._send = send
        self._shown_for: AwaitingTrust | None = None
        self._answered = False
        self.window: int | str = 0
        self.server: int | str = 0
        self.fingerprint: int | str = 0
        self.reason: int | str = 0

    def build(self, parent: int | str | None = None) -> None:
        with dpg.window(
            label="Unknown server certificate",
            tag="trust_dialog",
            modal=True,
            show=False,
            width=WIDTH,
            autosize=True,
            no_resize=True,
            no_collapse=True,
            no_saved_settings=True,
            on_close=self._on_close,
        ) as self.window:
            self.server = dpg.add_text("", tag="trust_server", wrap=WIDTH - 30)
            self.reason = dpg.add_text("", tag="trust_reason", wrap=WIDTH - 30, color=theme.WARNING)
            dpg.add_text(
                "Compare this SHA-256 fingerprint with the one the server's operator "
                "published (the server prints it when it starts):",
                wrap=WIDTH - 30,
                color=theme.TEXT_DIM,
            )
            self.fingerprint = dpg.add_input_text(
                tag="trust_fingerprint", multiline=True, readonly=True, width=-1, height=64
            )
            dpg.add_text(
                "Accept only if they match. It will be remembered, and a different "
                "certificate from this address will be refused.",
                wrap=WIDTH - 30,
                color=theme.TEXT_DIM,
            )
            with dpg.group(horizontal=True):
                dpg.add_button(label="Accept and connect", tag="trust_accept", callback=self.accept)
                dpg.add_button(label="Cancel", tag="trust_cancel", width=100, callback=self.reject)

    def accept(self) -> None:
        self._answered = True
        self._send(AcceptCertificate())
        self._hide()

    def reject(self) -> None:
        self._answered = True
        self._send(RejectCertificate())
        self._hide()

    def _on_close(self) -> None:
        # The title bar's close button: a refusal, unless a button already answered.
        if self._shown_for is not None and not self._answered:
            self.reject()

    def _hide(self) -> None:
        dpg.configure_item(self.window, show=False)

    def render(self, state: State) -> None:
        connection = state.connection
        if not isinstance(connection, AwaitingTrust):
            if self._shown_for is not None:
                self._hide()
            self._shown_for = None
            return
        if connection == self._shown_for:
            return
        self._shown_for = connection
        self._answered = False
        dpg.set_value(self.server, f"You are connecting to {connection.server_addr}.")
        reason = connection.reason or "no authority this computer trusts vouches for it"
        dpg.set_value(self.reason, f"Its certificate cannot be verified: {reason}.")
        dpg.set_value(self.fingerprint, fingerprint_lines(connection.fingerprint_text))
        width = dpg.get_viewport_client_width() or 1280
        height = dpg.get_viewport_client_height() or 800
        dpg.configure_item(self.window, show=True)
        dpg.set_item_pos(self.window, [max(0, (width - WIDTH) // 2), max(0, height // 2 - 160)])
