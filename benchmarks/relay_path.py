"""The relay's own hot path, in process: `Relay.on_datagram` per incoming datagram.

No QUIC: endpoints that only count what they are given, so what is timed is
the relay's code alone (parse, stamp, serialize once, queue per recipient),
which the full `relay` benchmark cannot separate from aioquic under load.
100 members in one room, 5 of them talking (speak allowed), and one more
member whose voice the core refused (a server-muted user): its datagrams
take the drop path. ``ns_per_datagram`` is the process CPU time per
incoming datagram (best of 7 rounds of 20,000), for relayed ones and for
refused ones. It imports only `voip.server.relay` and `voip.proto`, so the
same file also runs against an older tree for a before/after.
"""

from __future__ import annotations

import argparse
import inspect
import time
from typing import Any

from benchmarks.report import Record
from voip.proto import voip_pb2
from voip.server.relay import Relay


class _Endpoint:
    def __init__(self) -> None:
        self.relay_route: tuple[int, int] | None = None
        self.dropped_datagrams = 0
        self.queued = 0
        self.voice_tokens = 0.0  # the relay's per-sender rate limit, where it has one
        self.voice_stamp = 0.0

    def queue_datagram(self, data: bytes) -> None:
        self.queued += 1

    def send_pending(self, now: float) -> None:
        pass


def _route(relay: Relay, endpoint: _Endpoint, user_id: int, room: int, speak: bool) -> None:
    if "speak" in inspect.signature(relay.route).parameters:
        relay.route(endpoint, user_id, room, speak=speak)
    elif speak:
        relay.route(endpoint, user_id, room)
    # (before access control a refused sender had no route at all)


def _time(relay: Relay, senders: list[_Endpoint], datagram: bytes, count: int) -> float:
    best = float("inf")
    for _ in range(7):
        started = time.process_time()
        for n in range(count):
            relay.on_datagram(senders[n % len(senders)], datagram)
        best = min(best, time.process_time() - started)
        relay.dirty.clear()
    return 1e9 * best / count


def run(args: argparse.Namespace) -> list[Record]:
    count = 2_000 if args.short else 20_000
    # A burst as large as the run: what is timed is relaying, not the rate limit.
    limits: dict[str, Any] = {"voice_burst": 1e12, "voice_per_second": 1e12}
    accepted = inspect.signature(Relay).parameters
    relay = Relay(1100, lambda: None, **{k: v for k, v in limits.items() if k in accepted})
    members = [_Endpoint() for _ in range(100)]
    for uid, endpoint in enumerate(members, 1):
        _route(relay, endpoint, uid, 1, speak=True)
    muted = _Endpoint()
    _route(relay, muted, 999, 1, speak=False)
    datagram = voip_pb2.VoiceDatagram(
        sequence=7, opus=b"\x08" * 80, redundant_opus=b"\x08" * 80, capture_time_us=1
    ).SerializeToString()
    return [
        {
            "benchmark": "relay_path",
            "kind": "hot_path",
            "case": "relayed",
            "members": len(members),
            "ns_per_datagram": _time(relay, members[:5], datagram, count),
        },
        {
            "benchmark": "relay_path",
            "kind": "hot_path",
            "case": "refused",
            "members": len(members),
            "ns_per_datagram": _time(relay, [muted], datagram, count),
        },
    ]
