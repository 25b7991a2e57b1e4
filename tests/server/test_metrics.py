"""Operator metrics: the Prometheus endpoint over real HTTP, and the shutdown summary."""

from __future__ import annotations

import asyncio
import logging
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from voip_tests_server_hostile import Hostile

from voip.proto import voip_pb2
from voip.server.app import ServerOptions, start_server
from voip.server.limits import Limits


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_count_what_happened(
    tmp_path: Path, make_options: Callable[..., ServerOptions], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="voip.server")
    options = make_options(
        tmp_path, password="pw", metrics_port=0, limits=Limits(chat_burst=2, chat_per_second=0.1)
    )
    with start_server(options) as server:
        assert server.metrics_server is not None
        port = server.metrics_server.port

        async def scenario() -> None:
            async with Hostile.connect(server.port) as wrong:
                wrong.send_raw(b"\x00")
                await wrong.hello("guess", password="nope")
                await wrong.wait_closed()
            async with Hostile.connect(server.port) as a, Hostile.connect(server.port) as b:
                await a.login("alice", password="pw")
                await b.login("bob", password="pw")
                for i in range(4):
                    await a.request(send_chat=voip_pb2.SendChat(text=f"hi {i}"))
                a.datagram(voip_pb2.VoiceDatagram(sequence=1, opus=b"\x01\x02").SerializeToString())
                await asyncio.sleep(0.3)  # the datagram reaches the relay
                m = scrape(port)
                assert m[("voip_users", ())] == 2
                assert m[("voip_room_users", (("room", "Lobby"), ("room_id", "1")))] == 2
                assert m[("voip_authentications_total", ())] == 2
                failures = ("voip_authentication_failures_total", (("reason", "WRONG_PASSWORD"),))
                assert m[failures] == 1
                assert m[("voip_refused_total", (("reason", "rate_send_chat"),))] == 2
                assert m[("voip_connections_total", ())] == 3
                assert m[("voip_voice_received_total", ())] == 1
                assert m[("voip_voice_sent_total", ())] == 1
                # The self-signed certificate of the test server (no ACME: no acme_* metrics).
                assert m[("voip_certificate_self_signed", ())] == 1
                expires = m[("voip_certificate_expires_in_seconds", ())]
                assert 3000 * 86400 < expires <= 3650 * 86400
                assert not any(name.startswith("voip_acme") for name, _ in m)

        asyncio.run(scenario())
    summary = [r.message for r in caplog.records if r.message.startswith("server summary")]
    assert len(summary) == 1
    assert "authenticated 2" in summary[0] and "WRONG_PASSWORD 1" in summary[0]
    assert "rate_send_chat 2" in summary[0]


def test_certificate_status_becomes_gauges_and_counters() -> None:
    from voip.server.metrics import certificate_families

    status = {
        "certificate_expires_in_seconds": 42.0,
        "certificate_self_signed": 0.0,
        "acme_next_renewal_in_seconds": -1.0,
        "acme_consecutive_failures": 5,
        "acme_orders_failed": 7,
        "acme_urgent_failures": 3,
        "acme_expired_fallbacks": 1,
    }
    samples = {
        sample.name: (family.type, sample.value)
        for family in certificate_families(status)
        for sample in family.samples
    }
    assert samples["voip_certificate_expires_in_seconds"] == ("gauge", 42.0)
    assert samples["voip_acme_consecutive_failures"] == ("gauge", 5)
    assert samples["voip_acme_urgent_failures_total"] == ("counter", 3)
    assert samples["voip_acme_expired_fallbacks_total"] == ("counter", 1)
    assert samples["voip_acme_orders_failed_total"] == ("counter", 7)
