"""Our torrents in one libtorrent session: add, feed peers, watch, remove.

libtorrent does the work (piece picking, hash checks of every piece against
the v2 Merkle tree, banning the peer that sent a corrupt one, disk I/O in
its own threads); this class only keys torrents by their v2 info-hash,
turns alerts into a few frozen events and status into `TransferStatus`.
Its methods may be called from any thread (libtorrent's session and handles
are thread-safe); `poll` belongs to one watcher thread.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import libtorrent as lt

from voip.bittorrent.making import TorrentError
from voip.bittorrent.session import SessionSettings, listen_port, make_session

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TransferStatus:
    info_hash: bytes
    name: str
    total_bytes: int
    done_bytes: int
    download_rate: float  # bytes/s
    upload_rate: float
    uploaded_bytes: int
    peers: int
    complete: bool
    error: str = ""

    @property
    def progress(self) -> float:
        return 1.0 if self.total_bytes == 0 else self.done_bytes / self.total_bytes


@dataclass(frozen=True, slots=True)
class Finished:
    info_hash: bytes


@dataclass(frozen=True, slots=True)
class Failed:
    info_hash: bytes
    message: str


@dataclass(frozen=True, slots=True)
class PieceRejected:
    """A piece failed its hash check (a peer sent corrupt data); it is fetched again."""

    info_hash: bytes
    piece: int


TransferEvent = Finished | Failed | PieceRejected


def v2_hash(handle: lt.torrent_handle) -> bytes:
    return bytes(handle.info_hashes().v2.to_bytes())


class Transfers:
    def __init__(self, settings: SessionSettings) -> None:
        self._session = make_session(settings)
        self._handles: dict[bytes, lt.torrent_handle] = {}

    @property
    def port(self) -> int:
        return listen_port(self._session)

    def add(self, torrent: bytes, save_dir: Path, *, have_file: bool = False) -> bytes:
        """Start a torrent; `have_file`: the file is in `save_dir` already (seed it).

        Returns the v2 info-hash. Adding one that is there is a no-op.
        """
        try:
            info = lt.torrent_info(torrent)
        except (RuntimeError, TypeError, ValueError) as exc:
            raise TorrentError(f"the torrent cannot be decoded ({exc})") from exc
        info_hash = bytes(info.info_hashes().v2.to_bytes())
        if info_hash in self._handles:
            return info_hash
        params = lt.add_torrent_params()
        params.ti = info
        params.save_path = str(save_dir)
        if have_file:
            # Trust the file we hashed ourselves; a seed never re-reads it whole.
            params.flags |= lt.torrent_flags.seed_mode
        self._handles[info_hash] = self._session.add_torrent(params)
        return info_hash

    def connect(self, info_hash: bytes, peers: Iterable[tuple[str, int]]) -> None:
        handle = self._handles.get(info_hash)
        if handle is None:
            return
        for host, port in peers:
            try:
                handle.connect_peer((host, port))
            except RuntimeError as exc:  # a bad address must not stop the others
                log.info("cannot connect to peer %s:%d: %s", host, port, exc)

    def remove(self, info_hash: bytes, *, delete_files: bool = False) -> None:
        handle = self._handles.pop(info_hash, None)
        if handle is not None:
            flags = lt.session.delete_files if delete_files else 0
            self._session.remove_torrent(handle, flags)

    def has(self, info_hash: bytes) -> bool:
        return info_hash in self._handles

    def status(self, info_hash: bytes) -> TransferStatus | None:
        handle = self._handles.get(info_hash)
        if handle is None:
            return None
        st = handle.status()
        error = st.errc.message() if st.errc.value() else ""
        return TransferStatus(
            info_hash=info_hash,
            name=st.name,
            total_bytes=int(st.total_wanted),
            done_bytes=int(st.total_wanted_done),
            download_rate=float(st.download_payload_rate),
            upload_rate=float(st.upload_payload_rate),
            uploaded_bytes=int(st.all_time_upload),
            peers=int(st.num_peers),
            complete=bool(st.is_seeding),
            error=error,
        )

    def all_status(self) -> list[TransferStatus]:
        return [s for h in list(self._handles) if (s := self.status(h)) is not None]

    def poll(self, timeout_ms: int = 500) -> list[TransferEvent]:
        """Wait up to `timeout_ms` for alerts; the events they mean."""
        self._session.wait_for_alert(timeout_ms)
        events: list[TransferEvent] = []
        for alert in self._session.pop_alerts():
            handle = getattr(alert, "handle", None)
            if handle is None or not handle.is_valid():
                if alert.category() & lt.alert_category.error:
                    log.info("libtorrent: %s", alert.message())
                continue
            info_hash = v2_hash(handle)
            if isinstance(alert, lt.torrent_finished_alert):
                events.append(Finished(info_hash))
            elif isinstance(alert, lt.hash_failed_alert):
                events.append(PieceRejected(info_hash, int(alert.piece_index)))
            elif isinstance(alert, lt.file_error_alert | lt.torrent_error_alert):
                events.append(Failed(info_hash, alert.error.message()))
        return events

    def close(self) -> None:
        for info_hash in list(self._handles):
            self.remove(info_hash)
        self._session.pause()
        del self._session
