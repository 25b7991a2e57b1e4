"""Making a torrent of one file: hybrid (v2 and v1), private, no trackers.

Hybrid rather than pure v2 so that the file also has a v1 info-hash older
tools can name; the v2 info-hash (SHA-256 of the info dictionary) is the one
the voip server knows the file by.
"""

from __future__ import annotations

from pathlib import Path

import libtorrent as lt

from voip.errors import VoipError


class TorrentError(VoipError):
    """A torrent could not be made or read; the message says why."""


def make_torrent(path: Path, piece_size: int = 0) -> bytes:
    """The bencoded .torrent of the file at `path` (hashing reads all of it)."""
    path = Path(path)
    if not path.is_file():
        raise TorrentError(f"{path} is not a file; give the path of a file to share")
    if path.stat().st_size == 0:
        raise TorrentError(f"{path} is empty; there is nothing to share")
    try:
        files = lt.list_files(str(path))
        creator = lt.create_torrent(files, piece_size, 0)  # flags 0: hybrid v1+v2
        creator.set_priv(True)
        creator.set_creator("voip")
        lt.set_piece_hashes(creator, str(path.parent))
        return bytes(lt.bencode(creator.generate()))
    except RuntimeError as exc:
        raise TorrentError(f"could not make a torrent of {path}: {exc}") from exc
