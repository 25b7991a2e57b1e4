"""What a shared .torrent says, checked: its v2 info-hash, name and size.

Both ends read a torrent the same way, with libtorrent's own parser (the
bencoding, the v2 Merkle layout and the info-hashes are its business, not
ours): the server before it accepts a share, a client before it fetches.
Parsing is pure: bytes in, a frozen record or `BadTorrent` out.
"""

from __future__ import annotations

from dataclasses import dataclass

import libtorrent as lt

#: A .torrent travels in one control-stream frame (at most 1 MiB); a v2
#: torrent of a 4 GiB file with 256 KiB pieces needs about 512 KiB of piece layers.
MAX_TORRENT_BYTES = 512 * 1024
INFO_HASH_BYTES = 32  # v2: SHA-256
INFO_HASH_V1_BYTES = 20  # hybrid: SHA-1
MAX_NAME_BYTES = 255


class BadTorrent(ValueError):
    """The bytes are not a torrent we accept; the message says why."""


@dataclass(frozen=True, slots=True)
class TorrentMeta:
    info_hash: bytes  # v2 (32 bytes)
    info_hash_v1: bytes  # hybrid (20 bytes), b"" for a pure v2 torrent
    name: str
    size: int
    files: int


def parse_torrent(data: bytes) -> TorrentMeta:
    """The torrent's identity, or BadTorrent (undecodable, v1 only, unusable name, too big)."""
    if not data:
        raise BadTorrent("the torrent is empty")
    if len(data) > MAX_TORRENT_BYTES:
        raise BadTorrent(
            f"the torrent is {len(data)} bytes; at most {MAX_TORRENT_BYTES} are accepted "
            "(use larger pieces)"
        )
    try:
        info = lt.torrent_info(data)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise BadTorrent(f"the torrent cannot be decoded ({exc})") from exc
    hashes = info.info_hashes()
    if not hashes.has_v2():
        raise BadTorrent("the torrent is BitTorrent v1 only; make a v2 or hybrid torrent")
    name = info.name()
    problem = file_name_problem(name)
    if problem:
        raise BadTorrent(f"the torrent's name is unusable: {problem}")
    return TorrentMeta(
        info_hash=hashes.v2.to_bytes(),
        info_hash_v1=hashes.v1.to_bytes() if hashes.has_v1() else b"",
        name=name,
        size=int(info.total_size()),
        files=int(info.num_files()),
    )


def file_name_problem(name: str) -> str | None:
    """Why `name` cannot be a file name in someone's download folder, or None."""
    if not name or not name.strip():
        return "it is empty"
    if len(name.encode()) > MAX_NAME_BYTES:
        return f"it is longer than {MAX_NAME_BYTES} bytes"
    if "/" in name or "\\" in name or name in (".", ".."):
        return "it is a path, not a file name"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        return "it contains control characters"
    return None
