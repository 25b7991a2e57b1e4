"""The sharing actor: owns the client's libtorrent session and its transfers.

Sharing a file hashes it into a hybrid torrent, offers the torrent to the
room (`OfferTorrent`) and announces it as complete; fetching one announces
it, and each `PeerList` the server answers with adds the torrent (from the
bytes the server relays) and connects to the peers it names, which are the
only peers this client ever learns (docs/SHARING.md). A watcher thread
wakes the actor twice a second: it publishes progress to the state owner
and announces again when the server's interval has passed.

`server_only` (config ``share_via_server_only``) keeps this client's
address from other members: it announces port 0, accepts no connections
and connects only to the server's own seed.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pykka

from voip.bittorrent.making import TorrentError, make_torrent
from voip.bittorrent.session import SessionSettings
from voip.bittorrent.transfers import Failed, Finished, PieceRejected, Transfers, TransferStatus
from voip.client import commands as c
from voip.client.state import LocalErrorCode, TransferView
from voip.proto import voip_pb2
from voip.protocol.torrent import BadTorrent, parse_torrent

log = logging.getLogger(__name__)

TICK_SECONDS = 0.5
DEFAULT_INTERVAL = 10.0
RECONNECT_SECONDS = 30.0  # a listed peer we are not connected to is tried again after this

Requester = Callable[[c.ServerCommand], None]


@dataclass(slots=True)
class _Transfer:
    info_hash: bytes
    name: str
    path: Path | None = None  # where the file is (known once added)
    added: bool = False
    next_announce: float = 0.0
    interval: float = DEFAULT_INTERVAL
    rejected_pieces: int = 0
    error: str = ""
    #: peer -> when we last asked libtorrent to connect to it (monotonic)
    peers_seen: dict[tuple[str, int], float] = field(default_factory=dict)


class SharingActor(pykka.ThreadingActor):
    def __init__(
        self,
        state: Any,
        downloads_dir: Path,
        *,
        server_only: bool = False,
        listen_host: str = "0.0.0.0",
    ) -> None:
        super().__init__()
        self._state = state
        self._downloads = Path(downloads_dir)
        self._server_only = server_only
        self._listen_host = listen_host
        self._transfers: Transfers | None = None
        self._items: dict[bytes, _Transfer] = {}
        self._request: Requester | None = None
        self._server_host = ""
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------

    def on_start(self) -> None:
        self._watcher = threading.Thread(target=self._watch, name="voip-share-watch", daemon=True)
        self._watcher.start()

    def on_stop(self) -> None:
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        if self._transfers is not None:
            self._transfers.close()
            self._transfers = None

    def ready(self) -> bool:
        return True

    def _watch(self) -> None:
        while not self._stopping.wait(TICK_SECONDS):
            try:
                self.actor_ref.tell(_Tick())
            except pykka.ActorDeadError:
                return

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, _Tick):
            self._tick()
            return None
        return super().on_receive(message)

    # --- tells ----------------------------------------------------------------------------

    def set_requester(self, request: Requester) -> None:
        self._request = request

    def connected(self, server_addr: str) -> None:
        host = server_addr.rsplit(":", 1)[0].strip("[]")
        try:
            self._server_host = str(socket.getaddrinfo(host, None)[0][4][0])
        except OSError:
            self._server_host = host

    def disconnected(self) -> None:
        """Peers come only from the server: without it, stop every transfer (files stay)."""
        self._server_host = ""
        if self._transfers is not None:
            for info_hash in list(self._items):
                self._transfers.remove(info_hash)
        self._items.clear()
        self._publish()

    def share(self, path: str) -> None:
        file = Path(path).expanduser()
        try:
            torrent = make_torrent(file)
            meta = parse_torrent(torrent)
            info_hash = self._session().add(torrent, file.parent, have_file=True)
        except (TorrentError, BadTorrent) as exc:
            self._state.report_error.defer(
                LocalErrorCode.INVALID_ARGUMENT.value, str(exc), "ShareFile"
            )
            return
        self._items[info_hash] = _Transfer(info_hash, meta.name, path=file, added=True)
        self._send(c.OfferTorrent(torrent))
        self._announce(self._items[info_hash], time.monotonic())
        self._publish()

    def download(self, info_hash: bytes, name: str = "") -> None:
        if info_hash in self._items:
            return
        item = self._items[info_hash] = _Transfer(info_hash, name)
        self._announce(item, time.monotonic())
        self._publish()

    def peer_list(self, reply: voip_pb2.PeerList) -> None:
        item = self._items.get(bytes(reply.info_hash))
        if item is None:
            return
        item.interval = float(reply.interval_s or DEFAULT_INTERVAL)
        item.next_announce = time.monotonic() + item.interval
        transfers = self._session()
        if not item.added:
            try:
                meta = parse_torrent(bytes(reply.torrent))
                if meta.info_hash != item.info_hash:
                    raise BadTorrent("the server sent the torrent of another file")
                self._downloads.mkdir(parents=True, exist_ok=True)
                transfers.add(bytes(reply.torrent), self._downloads)
            except (BadTorrent, TorrentError, OSError) as exc:
                item.error = str(exc)
                self._state.report_error.defer(
                    LocalErrorCode.PROTOCOL.value,
                    f"cannot fetch {item.name!r}: {exc}",
                    "DownloadFile",
                )
                self._publish()
                return
            item.name, item.added = meta.name, True
            item.path = self._downloads / meta.name
        peers = []
        for peer in reply.peers:
            if self._server_only and peer.user_id != 0:
                continue
            host = peer.host or self._server_host
            if host and peer.port:
                peers.append((host, int(peer.port)))
        # Asking again while libtorrent still tries a peer (uTP, then TCP)
        # restarts the attempt: only new peers, or ones not tried for a while.
        now = time.monotonic()
        due = [
            p
            for p in peers
            if now - item.peers_seen.get(p, -RECONNECT_SECONDS) >= RECONNECT_SECONDS
        ]
        for p in due:
            item.peers_seen[p] = now
        log.debug("peers for %s: %s (connecting to %s)", item.name, peers, due)
        transfers.connect(item.info_hash, due)
        self._publish()

    def announce_failed(self, info_hash: bytes, message: str) -> None:
        item = self._items.get(info_hash)
        if item is not None and not item.added:
            item.error = message
            self._publish()

    # --- internals -------------------------------------------------------------------------

    def _session(self) -> Transfers:
        if self._transfers is None:
            self._transfers = Transfers(
                SessionSettings(listen_host=self._listen_host, incoming=not self._server_only)
            )
        return self._transfers

    def _send(self, command: c.ServerCommand) -> None:
        if self._request is not None:
            self._request(command)

    def _announce(self, item: _Transfer, now: float) -> None:
        status = self._transfers.status(item.info_hash) if self._transfers else None
        port = 0 if self._server_only or self._transfers is None else self._transfers.port
        self._send(
            c.AnnounceFile(
                info_hash=item.info_hash,
                port=port if (self._transfers is not None) else 0,
                complete=bool(status and status.complete),
            )
        )
        item.next_announce = now + item.interval

    def _tick(self) -> None:
        if not self._items:
            return
        now = time.monotonic()
        if self._transfers is not None:
            for event in self._transfers.poll(0):
                item = self._items.get(event.info_hash)
                if item is None:
                    continue
                if isinstance(event, PieceRejected):
                    item.rejected_pieces += 1
                elif isinstance(event, Failed):
                    item.error = event.message
                elif isinstance(event, Finished):
                    self._announce(item, now)  # say we have it all: others may fetch from us
        for item in self._items.values():
            if now >= item.next_announce:
                self._announce(item, now)
        self._publish()

    def _publish(self) -> None:
        views = []
        for item in self._items.values():
            status: TransferStatus | None = (
                self._transfers.status(item.info_hash) if self._transfers is not None else None
            )
            views.append(
                TransferView(
                    info_hash=item.info_hash,
                    name=item.name or (status.name if status else ""),
                    path=str(item.path) if item.path else "",
                    total_bytes=status.total_bytes if status else 0,
                    done_bytes=status.done_bytes if status else 0,
                    download_rate=status.download_rate if status else 0.0,
                    upload_rate=status.upload_rate if status else 0.0,
                    peers=status.peers if status else 0,
                    complete=bool(status and status.complete),
                    rejected_pieces=item.rejected_pieces,
                    error=item.error or (status.error if status else ""),
                )
            )
        self._state.set_transfers.defer(tuple(views))


class _Tick:
    __slots__ = ()


def downloads_folder(config: Any) -> Path:
    """The configured downloads folder, or the platform's download folder + /voip."""
    import platformdirs

    configured = getattr(config, "downloads_dir", "")
    if configured:
        return Path(configured).expanduser()
    return Path(platformdirs.user_downloads_dir()) / "voip"
