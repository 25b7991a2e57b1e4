"""Soak: many clients for a long time, with churn, chat, rooms, talkers and attackers.

A real server process (``serverproc``, password set, Prometheus metrics on)
and, in this process, raw aioquic clients of four kinds:

- **stable** clients stay for the whole run, spread over the soak rooms; a
  few of them chat now and then (well inside the chat rate);
- **talkers** (stable too) send 50 voice datagrams a second each, one talker
  per talker room; every stable member of that room is a listener;
- **churners** connect, log in, join a room, chat, create/rename/delete a
  room, stay a few seconds, leave politely, and come back;
- **hostile** clients, from another loopback address (127.0.0.2, so that
  the autoban they earn does not hit the others), cycle through the attacks
  of the abuse tests: STOP_SENDING and RESET_STREAM on the control stream,
  a reader that stops reading, chat, resync and room floods, wrong
  passwords until banned, connections that never say hello, a voice flood.

Figures (``kind`` "soak"): unexpected disconnects of well-behaved clients
(any close they did not ask for, or a refused login), voice loss of the
talkers' datagrams at their stable listeners (counted by capture time, in
the window from ``WARMUP`` after everyone joined to ``DRAIN`` before the
end), the server's RSS after everyone joined and at the end, and the
refusals the server counted, by reason (from its metrics endpoint). Goals:
no unexpected disconnects, no voice loss, RSS growth under 10 %.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import random
import socket
import ssl
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection
from aioquic.quic.events import (
    ConnectionTerminated,
    DatagramFrameReceived,
    QuicEvent,
    StreamDataReceived,
)
from cryptography.hazmat.primitives.serialization import Encoding
from nacl.signing import SigningKey

from benchmarks.report import Record
from benchmarks.serverproc import ServerProcess, free_udp_port
from voip.proto import voip_pb2
from voip.protocol.framing import FrameDecoder, encode_envelope
from voip.protocol.handshake import ALPN, make_hello

PASSWORD = "soak"
WARMUP = 3.0  # seconds after everyone joined before voice is counted
DRAIN = 1.5  # seconds before the end when voice stops being counted
ROOMS = 10
FRAME = 0.020
HOSTILE_SOURCE = "127.0.0.2"
ATTACKS = (
    "stop_sending", "reset_stream", "slow_reader", "chat_flood", "wrong_password",
    "hello_less", "voice_flood", "resync_flood", "room_flood",
)


@dataclass
class Tally:
    """What the run counted on the client side."""

    unexpected: Counter[str] = field(default_factory=Counter)  # well-behaved closes by reason
    errors: Counter[str] = field(default_factory=Counter)  # error codes well-behaved clients got
    attacks: Counter[str] = field(default_factory=Counter)  # attack rounds by kind
    hostile_closes: Counter[str] = field(default_factory=Counter)
    churn_cycles: int = 0
    chats: int = 0
    room_ops: int = 0
    voice_sent: Counter[int] = field(default_factory=Counter)  # talker user id -> in window
    window: tuple[int, int] = (1 << 62, 1 << 62)  # capture-time window, µs


class Client(QuicConnectionProtocol):
    """A raw client: envelopes by request id, voice counted, closes recorded."""

    tally: Tally

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.decoder = FrameDecoder()
        self.waiters: dict[str, asyncio.Future[voip_pb2.Envelope]] = {}
        self.answers: dict[int, asyncio.Future[voip_pb2.Envelope]] = {}
        self.heard: Counter[int] = Counter()  # sender id -> datagrams in window
        self.terminated: ConnectionTerminated | None = None
        self.leaving = False
        self.well_behaved = True
        self.next_request = 1
        self.user_id = 0
        self.created: dict[str, int] = {}  # room name -> id, from RoomCreated updates

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, DatagramFrameReceived):
            m = voip_pb2.VoiceDatagram.FromString(event.data)
            lo, hi = self.tally.window
            if lo <= m.capture_time_us < hi:
                self.heard[m.sender_id] += 1
        elif isinstance(event, StreamDataReceived):
            for e in self.decoder.feed_envelopes(event.data):
                kind = e.WhichOneof("payload")
                if kind == "state_update" and e.state_update.HasField("room_created"):
                    room = e.state_update.room_created.room
                    self.created[room.name] = room.id
                if e.request_id and kind in ("ack", "error"):
                    future = self.answers.pop(e.request_id, None)
                    if future is not None and not future.done():
                        future.set_result(e)
                waiter = self.waiters.pop(kind or "", None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(e)
                if kind == "error" and self.well_behaved:
                    self.tally.errors[voip_pb2.ErrorCode.Name(e.error.code)] += 1
        elif isinstance(event, ConnectionTerminated):
            self.terminated = event
            if self.well_behaved and not self.leaving:
                self.tally.unexpected[f"{event.error_code}: {event.reason_phrase}"] += 1
            for f in [*self.waiters.values(), *self.answers.values()]:
                if not f.done():
                    f.set_exception(ConnectionError(event.reason_phrase))
                    f.exception()  # nobody may wait for it any more: not an unretrieved error

    def send(self, envelope: voip_pb2.Envelope) -> None:
        self._quic.send_stream_data(0, encode_envelope(envelope))
        self.transmit()

    def wait(self, kind: str) -> asyncio.Future[voip_pb2.Envelope]:
        future = self.waiters.get(kind)
        if future is None:
            future = self.waiters[kind] = asyncio.get_running_loop().create_future()
        return future

    def request(self, **payload: Any) -> asyncio.Future[voip_pb2.Envelope]:
        rid = self.next_request
        self.next_request += 1
        future = self.answers[rid] = asyncio.get_running_loop().create_future()
        self.send(voip_pb2.Envelope(request_id=rid, **payload))
        return future

    async def login(
        self, name: str, password: str = PASSWORD, key: SigningKey | None = None
    ) -> voip_pb2.Envelope:
        """Open the stream, answer the challenge; the welcome or the error."""
        challenge = self.wait("challenge")
        self._quic.send_stream_data(0, b"\x00")
        self.transmit()
        nonce = (await asyncio.wait_for(challenge, 20)).challenge
        cert = self._quic.tls._peer_certificate
        assert cert is not None
        key = key or SigningKey.generate()
        welcome, error = self.wait("welcome"), self.wait("error")
        self.send(voip_pb2.Envelope(client_hello=make_hello(
            challenge=nonce,
            cert_fingerprint=hashlib.sha256(cert.public_bytes(Encoding.DER)).digest(),
            public_key=bytes(key.verify_key), sign=lambda d: bytes(key.sign(d).signature),
            display_name=name, password=password,
        )))
        done, _ = await asyncio.wait({welcome, error}, timeout=20,
                                     return_when=asyncio.FIRST_COMPLETED)
        if welcome in done:
            self.user_id = welcome.result().welcome.user_id
            return welcome.result()
        if error in done:
            return error.result()
        raise TimeoutError(f"{name}: no answer to the hello")

    def ping_now(self) -> None:
        with contextlib.suppress(Exception):
            self._quic.send_ping(0)
            self.transmit()


@contextlib.asynccontextmanager
async def connect(
    port: int, tally: Tally, source: str = "127.0.0.1", well_behaved: bool = True
) -> AsyncIterator[Client]:
    """aioquic's `connect`, with the client's source address chosen.

    Leaving closes without waiting for the close to be acknowledged.
    """
    config = QuicConfiguration(is_client=True, alpn_protocols=[ALPN], server_name="localhost",
                               max_datagram_frame_size=65536, idle_timeout=30.0)
    config.verify_mode = ssl.CERT_NONE
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((source, 0))
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: Client(QuicConnection(configuration=config)), sock=sock
    )
    client = protocol
    client.tally = tally
    client.well_behaved = well_behaved
    try:
        client.connect(("127.0.0.1", port), transmit=True)
        await asyncio.wait_for(client.wait_connected(), 20)
        yield client
    finally:
        client.leaving = True
        client.close()
        await asyncio.sleep(0)
        transport.close()


async def keep_alive(clients: list[Client], until: float) -> None:
    """A QUIC PING every 4 s for each client (the idle timeout is 15 s)."""
    while time.monotonic() < until:
        for c in clients:
            if c.terminated is None:
                c.ping_now()
        await asyncio.sleep(4.0)


async def talk(client: Client, until: float, tally: Tally, seed: int) -> None:
    rng = random.Random(seed)
    payloads = [rng.randbytes(rng.randint(40, 120)) for _ in range(64)]
    message = voip_pb2.VoiceDatagram()
    sequence = 0
    next_send = time.monotonic()
    while next_send < until and client.terminated is None:
        delay = next_send - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        message.sequence = sequence
        message.opus = payloads[sequence & 63]
        message.capture_time_us = captured = time.monotonic_ns() // 1000
        client._quic.send_datagram_frame(message.SerializeToString())
        client.transmit()
        lo, hi = tally.window
        if lo <= captured < hi:
            tally.voice_sent[client.user_id] += 1
        sequence += 1
        next_send += FRAME


async def chatter(client: Client, until: float, tally: Tally, rng: random.Random) -> None:
    while client.terminated is None:
        await asyncio.sleep(rng.uniform(5, 20))
        if time.monotonic() >= until:
            return
        await client.request(send_chat=voip_pb2.SendChat(text=f"soak {rng.random():.6f}"))
        tally.chats += 1


async def churner(port: int, index: int, rooms: list[int], until: float, tally: Tally) -> None:
    rng = random.Random(1000 + index)
    key = SigningKey.generate()  # a user keeps their key across visits
    # Users do not all arrive in the same second: spread over the first 10 s.
    await asyncio.sleep(rng.uniform(0, min(10.0, (until - time.monotonic()) / 3)))
    while time.monotonic() < until - 3:
        async with connect(port, tally) as c:
            answer = await c.login(f"churn {index}", key=key)
            if not answer.HasField("welcome"):
                tally.unexpected[f"login refused: {answer.error.message}"] += 1
                await asyncio.sleep(2)
                continue
            room = rng.choice(rooms)
            await c.request(join_room=voip_pb2.JoinRoom(room_id=room))
            await c.request(send_chat=voip_pb2.SendChat(text=f"hello from churn {index}"))
            tally.chats += 1
            if rng.random() < 0.3:
                name = f"tmp {index} {tally.churn_cycles}"
                made = await c.request(create_room=voip_pb2.CreateRoom(parent_id=room, name=name))
                tally.room_ops += 1
                if made.HasField("ack") and name in c.created:  # the update came before the ack
                    new = c.created[name]
                    await c.request(rename_room=voip_pb2.RenameRoom(room_id=new, name=name + "!"))
                    await c.request(delete_room=voip_pb2.DeleteRoom(room_id=new))
                    tally.room_ops += 2
            stay = rng.uniform(3, 15)
            end = time.monotonic() + stay
            while time.monotonic() < min(end, until - 2) and c.terminated is None:
                c.ping_now()
                await asyncio.sleep(min(4.0, stay))
            c.leaving = True
            c._quic.send_stream_data(0, b"", end_stream=True)  # a polite leave
            c.transmit()
            await asyncio.sleep(0.1)
        tally.churn_cycles += 1
        await asyncio.sleep(rng.uniform(1, 3))


async def attack(port: int, kind: str, until: float, tally: Tally) -> None:
    """One attack round of `kind`."""
    tally.attacks[kind] += 1
    async with connect(port, tally, HOSTILE_SOURCE, well_behaved=False) as h:
        if kind == "hello_less":
            async with contextlib.AsyncExitStack() as stack:
                for _ in range(20):
                    with contextlib.suppress(Exception):
                        await stack.enter_async_context(
                            connect(port, tally, HOSTILE_SOURCE, well_behaved=False)
                        )
                await asyncio.sleep(min(12.0, max(0.0, until - time.monotonic())))
            return
        if kind == "wrong_password":
            for _ in range(12):
                if time.monotonic() > until:
                    return
                async with connect(port, tally, HOSTILE_SOURCE, well_behaved=False) as guess:
                    try:
                        answer = await guess.login("guesser", password="guess")
                        outcome = voip_pb2.ErrorCode.Name(answer.error.code)
                    except (ConnectionError, TimeoutError):
                        outcome = code_name(guess.terminated)
                    tally.hostile_closes[f"wrong_password: {outcome}"] += 1
            return
        answer = await h.login(f"mallory {kind}")
        if not answer.HasField("welcome"):
            tally.hostile_closes[f"refused {voip_pb2.ErrorCode.Name(answer.error.code)}"] += 1
            return
        end = min(until, time.monotonic() + 8)
        if kind == "stop_sending":
            h._quic.stop_stream(0, 7)
            h.transmit()
        elif kind == "reset_stream":
            h._quic.reset_stream(0, 7)
            h.transmit()
        elif kind == "slow_reader":
            h._quic._write_connection_limits = lambda *a, **k: None  # type: ignore[method-assign]
            h._quic._write_stream_limits = lambda *a, **k: None  # type: ignore[method-assign]
        elif kind == "chat_flood":
            for i in range(300):
                h.request(send_chat=voip_pb2.SendChat(text=f"flood {i} " + "x" * 200))
        elif kind == "resync_flood":
            for _ in range(500):
                h.request(resync_request=voip_pb2.ResyncRequest())
        elif kind == "room_flood":
            for i in range(200):
                h.request(create_room=voip_pb2.CreateRoom(parent_id=1, name=f"spam {i}"))
        elif kind == "voice_flood":
            message = voip_pb2.VoiceDatagram(sequence=0, opus=b"\xfc" * 100)
            while time.monotonic() < end and h.terminated is None:
                for _ in range(10):
                    message.sequence += 1
                    h._quic.send_datagram_frame(message.SerializeToString())
                h.transmit()
                await asyncio.sleep(0.01)  # ~1000 datagrams a second
        while time.monotonic() < end and h.terminated is None:
            h.ping_now()
            await asyncio.sleep(0.5)
        if h.terminated is not None:
            tally.hostile_closes[f"{kind}: {code_name(h.terminated)}"] += 1


async def hostile(port: int, index: int, until: float, tally: Tally) -> None:
    kinds = ATTACKS[index % len(ATTACKS):] + ATTACKS[: index % len(ATTACKS)]
    n = 0
    while time.monotonic() < until - 2:
        kind = kinds[n % len(kinds)]
        n += 1
        with contextlib.suppress(ConnectionError, TimeoutError, OSError):
            await attack(port, kind, until, tally)
        await asyncio.sleep(1.0)


def code_name(terminated: ConnectionTerminated | None) -> str:
    if terminated is None:
        return "open"
    code = terminated.error_code
    return voip_pb2.ErrorCode.Name(code) if code in voip_pb2.ErrorCode.values() else str(code)


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def udp_rcvbuf_errors() -> int:
    """System-wide UDP datagrams the kernel dropped for full receive buffers."""
    rows = [line.split() for line in Path("/proc/net/snmp").read_text().splitlines()
            if line.startswith("Udp:")]
    fields = dict(zip(rows[0][1:], rows[1][1:], strict=False)) if len(rows) >= 2 else {}
    return int(fields.get("RcvbufErrors", 0))


def scrape(port: int) -> dict[str, float]:
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = ",".join(f"{v}" for _, v in sorted(s.labels.items()))
            out[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
    return out


async def soak(port: int, metrics_port: int, pid: int, args: argparse.Namespace) -> Record:
    tally = Tally()
    clients, talkers, seconds, n_hostile = args.clients, args.talkers, args.seconds, args.hostile
    n_churn = max(0, int(clients * args.churn_share))
    n_stable = clients - n_churn
    async with contextlib.AsyncExitStack() as stack:
        admin = await stack.enter_async_context(connect(port, tally))
        await admin.login("admin")
        rooms: list[int] = []
        for i in range(ROOMS):
            created = admin.wait("state_update")
            await admin.request(create_room=voip_pb2.CreateRoom(parent_id=1, name=f"soak {i}"))
            rooms.append((await created).state_update.room_created.room.id)
            await asyncio.sleep(0.6)  # inside the room-change rate
        talk_rooms, churn_rooms = rooms[:talkers], rooms[talkers:] or rooms
        stable: list[Client] = [admin]
        members: dict[int, list[Client]] = {r: [] for r in rooms}
        sem = asyncio.Semaphore(8)

        async def one(i: int) -> Client:
            async with sem:
                c = await stack.enter_async_context(connect(port, tally))
                await c.login(f"stable {i}")
                room = rooms[i % len(rooms)]
                await c.request(join_room=voip_pb2.JoinRoom(room_id=room))
                members[room].append(c)
                return c

        stable += await asyncio.gather(*(one(i) for i in range(n_stable - 1)))
        joined = time.monotonic()
        rss_start = rss_bytes(pid)
        udp_drops_start = udp_rcvbuf_errors()
        until = joined + seconds
        window_from = joined + WARMUP
        tally.window = (int(window_from * 1e6), int((until - DRAIN) * 1e6))
        speaking = [members[r][0] for r in talk_rooms if members[r]]
        tasks = [asyncio.create_task(keep_alive(stable, until))]
        tasks += [asyncio.create_task(talk(c, until, tally, i)) for i, c in enumerate(speaking)]
        tasks += [asyncio.create_task(chatter(c, until, tally, random.Random(i)))
                  for i, c in enumerate(stable[1::7])]
        tasks += [asyncio.create_task(churner(port, i, churn_rooms, until, tally))
                  for i in range(n_churn)]
        tasks += [asyncio.create_task(hostile(port, i, until, tally)) for i in range(n_hostile)]
        results = await asyncio.gather(*tasks, return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        await asyncio.sleep(0.5)
        rss_end = rss_bytes(pid)
        udp_drops_end = udp_rcvbuf_errors()
        metrics = scrape(metrics_port)
        expected = heard = 0
        for room, talker in zip(talk_rooms, speaking, strict=False):
            listeners = [c for c in members[room] if c is not talker]
            expected += tally.voice_sent[talker.user_id] * len(listeners)
            heard += sum(c.heard[talker.user_id] for c in listeners)
        for c in stable:
            c.leaving = True
    server_voice = {
        label: int(metrics.get(f"voip_voice_dropped_total{{{label}}}", 0))
        for label in ("stale", "rate", "malformed", "oversized", "unauthenticated")
    }
    server_voice["queue_full"] = int(metrics.get("voip_voice_queue_full_total", 0))
    refused = {k.split("{", 1)[1][:-1]: int(v) for k, v in metrics.items()
               if k.startswith("voip_refused_total{")}
    closes = {k.split("{", 1)[1][:-1]: int(v) for k, v in metrics.items()
              if k.startswith("voip_closes_total{")}
    return {
        "benchmark": "soak", "kind": "soak",
        "clients": clients, "stable": n_stable, "churners": n_churn, "talkers": len(speaking),
        "hostile": n_hostile, "seconds": seconds,
        "unexpected_disconnects": sum(tally.unexpected.values()),
        "unexpected_reasons": dict(tally.unexpected),
        "voice_expected": expected, "voice_heard": heard,
        "voice_loss_pct": 100.0 * (1 - heard / expected) if expected else float("nan"),
        "rss_start_mib": rss_start / 2**20, "rss_end_mib": rss_end / 2**20,
        "rss_growth_pct": 100.0 * (rss_end - rss_start) / rss_start if rss_start else None,
        "churn_cycles": tally.churn_cycles, "chats": tally.chats,
        "attack_rounds": sum(tally.attacks.values()),
        "refused": refused, "server_closes": closes,
        "well_behaved_errors": dict(tally.errors),
        "voice_dropped_rate": server_voice["rate"],
        "server_voice_drops": server_voice,
        "udp_rcvbuf_drops": udp_drops_end - udp_drops_start,
        "task_failures": [repr(f) for f in failures[:5]],
    }


def run(args: argparse.Namespace) -> list[Record]:
    in_all = args.command == "all"  # `all` shares --clients/--talkers with relay: not ours
    args = argparse.Namespace(**vars(args))
    clients = None if in_all else args.clients
    args.clients = clients or (24 if args.short else 200)
    seconds = None if in_all else args.seconds
    args.seconds = seconds or (6.0 if args.short else 120.0 if in_all else 600.0)
    talkers = None if in_all else args.talkers
    args.talkers = talkers or 2 if args.short else talkers or 5
    hostile = getattr(args, "hostile", None)
    args.hostile = hostile if hostile is not None else len(ATTACKS)
    churn_share = getattr(args, "churn_share", None)
    args.churn_share = churn_share if churn_share is not None else 0.25
    metrics_port = free_udp_port()  # a free number; TCP and UDP ports are separate spaces
    with tempfile.TemporaryDirectory(prefix="voip-bench-soak-") as tmp:
        config = Path(tmp) / "server.toml"
        # Every well-behaved client comes from 127.0.0.1, like a crowd behind one
        # NAT: its cap on connections not yet logged in is raised to fit them.
        config.write_text(
            f'password = "{PASSWORD}"\nmetrics_port = {metrics_port}\n'
            "[limits]\nmax_unauthenticated_per_address = 64\n"
        )
        with ServerProcess(Path(tmp) / "server", ["--config", str(config)]) as server:
            record = asyncio.run(soak(server.port, metrics_port, server.pid, args))
    return [record]
