"""The bot's file sharing: ``--share FILE`` and ``--fetch NAME|HASH|all``, with progress lines.

Kept apart from `voip.bot.run` (the run and the audio) so each stays
small. The bot prints one line per transfer at most once a second while it
moves, and one when it is done, with the SHA-256 of the file it has, so a
person (or a test) can compare copies:

    voip-bot: fetching song.flac: 45.0% of 20.0 MB, 3.2 MB/s from 2 peers
    voip-bot: fetched song.flac (20.0 MB) to /home/me/Downloads/voip/song.flac, sha256 9f86...
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from voip.client import commands as c
from voip.client.backend import BackendHandle
from voip.client.model import format_size
from voip.client.state import State, TransferView

PROGRESS_EVERY = 1.0  # seconds between progress lines of one transfer


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class BotFiles:
    share: tuple[Path, ...] = ()
    #: Names, hex v2 info-hashes, or "all" (every file offered in the room).
    fetch: tuple[str, ...] = ()
    say: Callable[[str], None] = print
    _wanted: set[bytes] = field(default_factory=set)
    _done: set[bytes] = field(default_factory=set)
    _last_line: dict[bytes, float] = field(default_factory=dict)
    _errors: dict[bytes, str] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return bool(self.share or self.fetch)

    def start(self, backend: BackendHandle) -> None:
        for path in self.share:
            self.say(f"sharing {path} (hashing it first)")
            backend.send(c.ShareFile(str(path)))

    def watch(self, backend: BackendHandle, state: State) -> None:
        """Called with each snapshot: start wanted fetches, print progress."""
        for f in state.files:
            if f.info_hash in self._wanted or f.room_id != state.my_room_id:
                continue
            if self._wants(f.name, f.info_hash):
                self._wanted.add(f.info_hash)
                self.say(f"fetching {f.name} ({format_size(f.size)}) shared by {f.sharer_name}")
                backend.send(c.DownloadFile(f.info_hash))
        for t in state.transfers:
            self._report(t)

    def fetched_all(self) -> bool:
        """Every --fetch asked for has arrived (never true without --fetch)."""
        if not self.fetch or not self._wanted:
            return False
        named = [x for x in self.fetch if x != "all"]
        return self._wanted <= self._done and len(self._done) >= len(named)

    def _wants(self, name: str, info_hash: bytes) -> bool:
        return any(x in ("all", name, info_hash.hex()) for x in self.fetch)

    def _report(self, t: TransferView) -> None:
        if t.info_hash in self._done:
            return
        if t.error and self._errors.get(t.info_hash) != t.error:
            self._errors[t.info_hash] = t.error
            self.say(f"error: {t.name or t.info_hash.hex()[:16]}: {t.error}")
        now = time.monotonic()
        if t.complete and t.path:
            self._done.add(t.info_hash)
            verb = "fetched" if t.info_hash in self._wanted else "seeding"
            sha = file_sha256(Path(t.path))
            self.say(
                f"{verb} {t.name} ({format_size(t.total_bytes)}) "
                f"{'to' if verb == 'fetched' else 'from'} {t.path}, sha256 {sha}"
            )
            return
        if t.info_hash not in self._wanted or t.total_bytes == 0:
            return  # not ours to report, or its torrent has not arrived yet
        if now - self._last_line.get(t.info_hash, 0.0) < PROGRESS_EVERY:
            return
        self._last_line[t.info_hash] = now
        self.say(
            f"fetching {t.name}: {100 * t.progress:.1f}% of {format_size(t.total_bytes)}, "
            f"{format_size(int(t.download_rate))}/s from {t.peers} peers"
            + (f", {t.rejected_pieces} corrupt pieces refused" if t.rejected_pieces else "")
        )
