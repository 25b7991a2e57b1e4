"""A hostile BitTorrent peer: it claims every piece and answers each request with noise.

libtorrent's own seeds check a piece before they send it, so a corrupt
peer has to be written by hand: this one speaks just enough of the peer
wire protocol (BEP 3: handshake, bitfield, unchoke, piece) to be believed.
"""

from __future__ import annotations

import os
import socket
import struct
import threading


class EvilPeer:
    def __init__(self, num_pieces: int) -> None:
        self.num_pieces = num_pieces
        self.blocks_sent = 0
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self.port = int(self._sock.getsockname()[1])
        self._stopped = False
        threading.Thread(target=self._accept, name="evil-peer", daemon=True).start()

    def close(self) -> None:
        self._stopped = True
        self._sock.close()

    def _accept(self) -> None:
        while not self._stopped:
            try:
                conn, _addr = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            with conn:
                hello = _read(conn, 68)
                info_hash = hello[28:48]
                conn.sendall(b"\x13BitTorrent protocol" + bytes(8) + info_hash + os.urandom(20))
                bits = bytearray(b"\xff" * ((self.num_pieces + 7) // 8))
                spare = len(bits) * 8 - self.num_pieces
                if spare:
                    bits[-1] = (0xFF << spare) & 0xFF
                _send(conn, 5, bytes(bits))  # bitfield: everything
                _send(conn, 1)  # unchoke
                while not self._stopped:
                    (length,) = struct.unpack(">I", _read(conn, 4))
                    if length == 0:
                        continue  # keep-alive
                    body = _read(conn, length)
                    if body[0] == 6:  # request(index, begin, length): answer with noise
                        index, begin, size = struct.unpack(">III", body[1:13])
                        _send(conn, 7, struct.pack(">II", index, begin) + os.urandom(size))
                        self.blocks_sent += 1
        except (OSError, ConnectionError):
            return


def _send(conn: socket.socket, message_id: int, payload: bytes = b"") -> None:
    conn.sendall(struct.pack(">IB", len(payload) + 1, message_id) + payload)


def _read(conn: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = conn.recv(n - len(out))
        if not chunk:
            raise ConnectionError("peer closed")
        out += chunk
    return out
