"""Files offered in the room: share one, fetch one, watch it move.

A panel under the audio settings. "Share a file..." opens a file picker
(and a file dropped on the window is shared the same way, see
`ClientApp.drop`); each file offered in the current room is a row with its
name, size and sharer and a Download button; a file that moves has a
progress bar with its speed. Everything is sent as a command
(`ShareFile`, `DownloadFile`); the rows are redrawn from `State.files` and
`State.transfers` only when they change.
"""

from __future__ import annotations

from typing import Any

import dearpygui.dearpygui as dpg

from voip.client.commands import DownloadFile, ShareFile
from voip.client.model import format_size
from voip.client.state import SharedFileView, State, TransferView
from voip.protocol.permissions import Perm
from voip_gui import theme
from voip_gui.ports import SendFn


def transfer_caption(t: TransferView) -> str:
    """What the progress bar says: '45% of 20.0 MB, 3.2 MB/s' or 'done' or the error."""
    if t.error:
        return f"failed: {t.error}"
    if t.complete:
        rate = format_size(int(t.upload_rate))
        return f"have it ({format_size(t.total_bytes)}), sharing at {rate}/s"
    if t.total_bytes == 0:
        return "asking the server for peers..."
    return (
        f"{100 * t.progress:.0f}% of {format_size(t.total_bytes)}, "
        f"{format_size(int(t.download_rate))}/s from {t.peers} peers"
    )


class FilesView:
    def __init__(self, send: SendFn, themes: theme.Themes | None = None) -> None:
        self._send = send
        self._themes = themes
        self._shown: tuple[Any, ...] | None = None
        self.title: int | str = 0
        self.share_button: int | str = 0
        self.rows: int | str = 0
        self.dialog: int | str = 0
        #: file info-hash -> its Download button / progress bar (tests).
        self.download_buttons: dict[bytes, int | str] = {}
        self.progress_bars: dict[bytes, int | str] = {}

    def build(self, parent: int | str) -> None:
        with dpg.group(parent=parent):
            with dpg.group(horizontal=True):
                self.title = dpg.add_text("Files", tag="files_title", color=theme.TEXT_DIM)
                self.share_button = dpg.add_button(
                    label="Share a file...", tag="files_share", callback=self.pick
                )
            self.rows = dpg.add_group(tag="files_rows")
        with dpg.file_dialog(
            label="Share a file in this room",
            tag="files_dialog",
            show=False,
            modal=True,
            width=640,
            height=420,
            callback=self._picked,
        ) as self.dialog:
            dpg.add_file_extension(".*")

    def pick(self) -> None:
        dpg.configure_item(self.dialog, show=True)

    def share(self, path: str) -> None:
        """Share `path` (picked in the dialog or dropped on the window)."""
        if path:
            self._send(ShareFile(path))

    def _picked(self, sender: Any, app_data: Any) -> None:
        chosen = app_data.get("selections", {}) if isinstance(app_data, dict) else {}
        for path in chosen.values():
            self.share(str(path))

    def render(self, state: State) -> None:
        room = state.my_room_id
        may_share = state.is_connected and room is not None and state.access.may(Perm.TEXT, room)
        dpg.configure_item(self.share_button, enabled=may_share)
        files = tuple(f for f in state.files if f.room_id == room)
        key = (files, state.transfers, may_share)
        if key == self._shown:
            return
        self._shown = key
        dpg.delete_item(self.rows, children_only=True)
        self.download_buttons.clear()
        self.progress_bars.clear()
        if not files and not state.transfers:
            dpg.add_text("Nothing shared here yet.", parent=self.rows, color=theme.TEXT_DIM)
        for f in files:
            self._row(f, state.transfer(f.info_hash), may_share)
        for t in state.transfers:  # shared by us, or fetched in another room
            if all(f.info_hash != t.info_hash for f in files):
                self._progress(t)

    def _row(self, f: SharedFileView, t: TransferView | None, may_fetch: bool) -> None:
        with dpg.group(horizontal=True, parent=self.rows):
            dpg.add_text(f"{f.name} ({format_size(f.size)}), from {f.sharer_name}")
            if t is None:
                self.download_buttons[f.info_hash] = dpg.add_button(
                    label="Download",
                    enabled=may_fetch,
                    callback=lambda: self._send(DownloadFile(f.info_hash)),
                )
            else:
                self._progress(t, dpg.last_container())

    def _progress(self, t: TransferView, parent: int | str | None = None) -> None:
        self.progress_bars[t.info_hash] = dpg.add_progress_bar(
            parent=parent if parent is not None else self.rows,
            default_value=t.progress,
            overlay=transfer_caption(t)
            if parent is not None
            else f"{t.name}: {transfer_caption(t)}",
            width=-1,
        )
