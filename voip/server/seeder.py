"""The server's seed: a copy of every file shared in its rooms, seeded by libtorrent.

So a file stays available after its sharer leaves, and a client that must
not show its address to other members can fetch from the server alone. The
actor owns the libtorrent session (its own threads do the I/O) and one
watcher thread that turns alerts into reports: a file that cannot be kept
(disk full, I/O error) is dropped and reported through `failure_sink`,
which the network actor points at the core (`ServerCore.seed_failed`).

Files live in ``<data dir>/seeds/<v2 info-hash hex>/<name>``, one directory
per file, so two files with one name never meet.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import pykka

from voip.bittorrent.making import TorrentError
from voip.bittorrent.session import SessionSettings
from voip.bittorrent.transfers import Failed, Finished, PieceRejected, Transfers
from voip.protocol.torrent import BadTorrent, parse_torrent
from voip.server.actions import Seed, Unseed

logger = logging.getLogger(__name__)

SEEDS_DIR = "seeds"

FailureSink = Callable[[bytes, str], None]


class SeedActor(pykka.ThreadingActor):
    def __init__(self, data_dir: Path, listen_host: str) -> None:
        super().__init__()
        self._dir = Path(data_dir) / SEEDS_DIR
        self._host = listen_host
        self._transfers: Transfers | None = None
        self._sink: FailureSink = lambda info_hash, message: None
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    def on_start(self) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        self._transfers = Transfers(SessionSettings(listen_host=self._host))
        self._watcher = threading.Thread(target=self._watch, name="voip-seed-watch", daemon=True)
        self._watcher.start()

    def on_stop(self) -> None:
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        if self._transfers is not None:
            uploaded = sum(s.uploaded_bytes for s in self._transfers.all_status())
            logger.info("seed store: uploaded %d bytes in all", uploaded)
            self._transfers.close()
            self._transfers = None

    def ping(self) -> bool:
        return True

    def port(self) -> int:
        assert self._transfers is not None
        return self._transfers.port

    def set_failure_sink(self, sink: FailureSink) -> None:
        self._sink = sink

    # --- tells from the hub -------------------------------------------------------------

    def apply(self, action: Seed | Unseed) -> None:
        if isinstance(action, Unseed):
            self._drop(action.info_hash)
        else:
            self._seed(action)

    def _seed(self, action: Seed) -> None:
        assert self._transfers is not None
        transfers = self._transfers
        if not transfers.has(action.info_hash):
            try:
                meta = parse_torrent(action.torrent)
            except BadTorrent as exc:  # the core checked it; a bug if we get here
                self._fail(action.info_hash, str(exc))
                return
            folder = self._dir / action.info_hash.hex()
            have = folder / meta.name
            done = have.is_file() and have.stat().st_size == meta.size
            try:
                folder.mkdir(parents=True, exist_ok=True)
                free = shutil.disk_usage(folder).free
            except OSError as exc:
                self._fail(action.info_hash, f"the seed store {self._dir} refused it: {exc}")
                return
            if not done and free < meta.size:
                self._fail(
                    action.info_hash,
                    f"the seed store's disk has {free} bytes free, the file needs {meta.size}",
                )
                return
            try:
                transfers.add(action.torrent, folder, have_file=False)
            except TorrentError as exc:
                self._fail(action.info_hash, str(exc))
                return
            logger.info("seed store: keeping %r (%d bytes)", meta.name, meta.size)
        transfers.connect(action.info_hash, action.peers)

    def _drop(self, info_hash: bytes) -> None:
        assert self._transfers is not None
        self._transfers.remove(info_hash)
        shutil.rmtree(self._dir / info_hash.hex(), ignore_errors=True)

    def _fail(self, info_hash: bytes, message: str) -> None:
        logger.warning("seed store: cannot keep %s: %s", info_hash.hex()[:16], message)
        self._drop(info_hash)
        self._sink(info_hash, message)

    # --- the watcher thread -----------------------------------------------------------

    def _watch(self) -> None:
        while not self._stopping.is_set():
            transfers = self._transfers
            if transfers is None:
                return
            for event in transfers.poll(250):
                if isinstance(event, Finished):
                    logger.info("seed store: has all of %s", event.info_hash.hex()[:16])
                elif isinstance(event, PieceRejected):
                    logger.info(
                        "seed store: piece %d of %s failed its hash check; fetched again",
                        event.piece,
                        event.info_hash.hex()[:16],
                    )
                elif isinstance(event, Failed):
                    self.actor_ref.tell(_Failure(event.info_hash, event.message))

    def on_receive(self, message: object) -> object:
        if isinstance(message, _Failure):
            self._fail(message.info_hash, message.message)
            return None
        return super().on_receive(message)


class _Failure:
    __slots__ = ("info_hash", "message")

    def __init__(self, info_hash: bytes, message: str) -> None:
        self.info_hash = info_hash
        self.message = message
