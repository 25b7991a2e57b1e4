"""Operator counters: the Prometheus endpoint and the shutdown summary line.

The counters live where they are counted (plain ints in the core, the hub
and the relay, no locks, nothing added to the voice hot path). A scrape asks
the loop thread for a copy (`ServerCounters`) and turns it into Prometheus
metric families; nothing is kept twice. The endpoint is the
`prometheus-client` package's own HTTP server, on an optional local port
(docs/SERVER.md, "Metrics").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

#: Relay counters exported as voip_voice_dropped_total{reason=...}.
_VOICE_DROPS = {
    "dropped_malformed": "malformed",
    "dropped_oversized": "oversized",
    "dropped_unauthenticated": "unauthenticated",
    "dropped_rate": "rate",
    "dropped_stale": "stale",
}


@dataclass(frozen=True)
class ServerCounters:
    """A copy of every operator counter at one moment."""

    connections_started: int = 0
    connections: int = 0
    users: int = 0
    room_users: dict[tuple[int, str], int] = field(default_factory=dict)
    authentications: int = 0
    auth_failures: dict[str, int] = field(default_factory=dict)
    refused: dict[str, int] = field(default_factory=dict)
    closes: dict[str, int] = field(default_factory=dict)
    slow_disconnects: int = 0
    relay: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        """One log line for the end of a run."""
        r = self.relay
        drops = ", ".join(f"{label} {r.get(key, 0)}" for key, label in _VOICE_DROPS.items())

        def counts(d: dict[str, int]) -> str:
            return ", ".join(f"{k} {v}" for k, v in sorted(d.items())) or "none"

        return (
            f"connections {self.connections_started}, authenticated "
            f"{self.authentications}, failed hellos ({counts(self.auth_failures)}), "
            f"refused ({counts(self.refused)}), closed by the server "
            f"({counts(self.closes)}); voice: received {r.get('received', 0)}, relayed "
            f"{r.get('relayed', 0)} as {r.get('sent', 0)} copies "
            f"({r.get('relayed_bytes', 0)} bytes), dropped ({drops}), "
            f"queue full {r.get('queue_full', 0)}"
        )


def families(c: ServerCounters) -> Iterator[Any]:
    """The Prometheus metric families for one copy of the counters."""
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    def counter(name: str, doc: str, value: int) -> CounterMetricFamily:
        return CounterMetricFamily(name, doc, value=value)

    def labelled(name: str, doc: str, label: str, values: dict[str, int]) -> CounterMetricFamily:
        family = CounterMetricFamily(name, doc, labels=[label])
        for key, value in sorted(values.items()):
            family.add_metric([key], value)
        return family

    yield counter("voip_connections", "QUIC connections accepted", c.connections_started)
    yield GaugeMetricFamily("voip_open_connections", "QUIC connections open", value=c.connections)
    yield GaugeMetricFamily("voip_users", "users logged in", value=c.users)
    rooms = GaugeMetricFamily("voip_room_users", "users per room", labels=["room_id", "room"])
    for (room_id, name), n in sorted(c.room_users.items()):
        rooms.add_metric([str(room_id), name], n)
    yield rooms
    yield counter("voip_authentications", "accepted hellos", c.authentications)
    yield labelled(
        "voip_authentication_failures", "refused hellos by error code", "reason", c.auth_failures
    )
    yield labelled(
        "voip_refused", "requests and connections refused by a limit", "reason", c.refused
    )
    yield labelled("voip_closes", "sessions closed by the server, by error code", "code", c.closes)
    yield counter("voip_slow_readers", "clients dropped for not reading", c.slow_disconnects)
    r = c.relay
    yield counter("voip_voice_received", "voice datagrams received", r.get("received", 0))
    yield counter(
        "voip_voice_relayed", "voice datagrams relayed to one peer or more", r.get("relayed", 0)
    )
    yield counter("voip_voice_sent", "voice datagram copies sent", r.get("sent", 0))
    yield counter("voip_voice_sent_bytes", "bytes of voice copies sent", r.get("relayed_bytes", 0))
    drops = CounterMetricFamily("voip_voice_dropped", "voice datagrams dropped", labels=["reason"])
    for key, label in _VOICE_DROPS.items():
        drops.add_metric([label], r.get(key, 0))
    yield drops
    yield counter(
        "voip_voice_queue_full",
        "flushes that found a listener's datagram queue full",
        r.get("queue_full", 0),
    )


#: `RunningServer.certificate_status` keys that only grow (exported as counters).
_CERTIFICATE_COUNTERS = {
    "acme_orders_failed": "ACME orders that failed",
    "acme_urgent_failures": "ACME orders that failed while the certificate was near expiry",
    "acme_expired_fallbacks": "ACME certificates that expired unrenewed (fallback served)",
}
_CERTIFICATE_GAUGES = {
    "certificate_expires_in_seconds": "seconds until the served certificate expires",
    "certificate_self_signed": "1 while the served certificate is self-signed",
    "acme_next_renewal_in_seconds": "seconds until the ACME certificate is due for renewal",
    "acme_consecutive_failures": "ACME orders failed in a row (0 after a success)",
}


def certificate_families(status: dict[str, float]) -> Iterator[Any]:
    """The certificate's gauges and counters (`RunningServer.certificate_status`)."""
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    for key, doc in _CERTIFICATE_GAUGES.items():
        if key in status:
            yield GaugeMetricFamily(f"voip_{key}", doc, value=status[key])
    for key, doc in _CERTIFICATE_COUNTERS.items():
        if key in status:
            yield CounterMetricFamily(f"voip_{key}", doc, value=status[key])


class _Collector:
    def __init__(
        self,
        source: Callable[[], ServerCounters],
        certificates: Callable[[], dict[str, float]] | None,
    ) -> None:
        self._source = source
        self._certificates = certificates

    def collect(self) -> Iterator[Any]:
        yield from families(self._source())
        if self._certificates is not None:
            yield from certificate_families(self._certificates())


class MetricsServer:
    """The HTTP endpoint; `source` (and `certificates`) are called on every scrape."""

    def __init__(
        self,
        host: str,
        port: int,
        source: Callable[[], ServerCounters],
        certificates: Callable[[], dict[str, float]] | None = None,
    ) -> None:
        from prometheus_client import CollectorRegistry, start_http_server

        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_Collector(source, certificates))
        self._server, self._thread = start_http_server(port, addr=host, registry=self.registry)
        self.host = host
        self.port = int(self._server.server_port)
        logger.info("metrics on http://%s:%d/metrics", host, self.port)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
