"""Many real QUIC voice clients in one process: the relay benchmark's load.

Run by ``benchmarks.relay`` (``python -m benchmarks.loadclients ...``), one
or a few such processes so that the server process is what is measured.
Every client does the real thing through the real client core and glue
(`voip.client.core.ClientCore`, `voip.client.transport.CoreProtocol`): QUIC +
TLS 1.3 handshake (aioquic), the control stream, challenge, Ed25519-signed
hello bound to the server's certificate, welcome and state; then it stays in
the root room. Talkers
send one ``VoiceDatagram`` every 20 ms with an Opus-sized payload (random
bytes, 40-120 bytes, mean 80: the VBR spread of 32 kbit/s speech) and
``capture_time_us`` = CLOCK_MONOTONIC in µs just before sending; listeners
note the arrival time on the same clock (one machine, one clock).

Talks to its parent over stdin/stdout, one JSON object per line:
``{"ready": ...}`` once every client is in, then waits for
``{"start", "measure_from", "measure_to", "stop"}`` (monotonic seconds),
then prints ``{"result": ...}`` and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import time
from collections import Counter
from typing import Any

from aioquic.asyncio import connect
from nacl.signing import SigningKey

from voip.client.core import ClientCore, Credentials, Timeouts
from voip.client.core.events import (
    ConnectionEnded,
    CoreEvent,
    Refused,
    StateSnapshot,
    Welcomed,
)
from voip.client.transport import ACK_DELAY, CoreProtocol, client_configuration
from voip.client.trust_policy import Verified
from voip.proto import voip_pb2

FRAME = 0.020
BIN_US = 10  # delay histogram resolution
CONNECT_CONCURRENCY = 8


def opus_size(rng: random.Random) -> int:
    return min(120, max(40, round(rng.gauss(80, 20))))


class Window:
    """The measurement window in µs on CLOCK_MONOTONIC; set when the run starts."""

    start_us = 0
    end_us = 0


class LoadProtocol(CoreProtocol):
    """The real client core and glue; voice arrivals timed from the raw datagram."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, on_event=self._event, **kwargs)
        self.changed = asyncio.Event()
        self.welcomed: Welcomed | None = None
        self.has_state = False
        self.ended: str | None = None
        self.refused: str | None = None
        self.received = 0
        self.hist: Counter[int] = Counter()

    def _event(self, event: CoreEvent) -> None:
        # Later joins' state updates are not needed: only the handshake is watched.
        if isinstance(event, Welcomed):
            self.welcomed = event
        elif isinstance(event, StateSnapshot):
            self.has_state = True
        elif isinstance(event, Refused):
            self.refused = event.message
        elif isinstance(event, ConnectionEnded):
            self.ended = event.reason
        else:
            return
        self.changed.set()

    def datagram_frame_received(self, data: bytes) -> None:
        now_us = time.monotonic_ns() // 1000
        message = voip_pb2.VoiceDatagram()
        message.ParseFromString(data)
        captured = message.capture_time_us
        if Window.start_us <= captured < Window.end_us:
            self.received += 1
            self.hist[(now_us - captured) // BIN_US] += 1


async def wait_joined(p: LoadProtocol, timeout: float = 30.0) -> int:
    """The user id once welcomed with the full state; raises if refused or too slow."""
    deadline = time.monotonic() + timeout
    while not (p.welcomed is not None and p.has_state):
        if p.refused is not None:
            raise RuntimeError(f"server refused the client: {p.refused}")
        if p.core.failure is not None:
            raise RuntimeError(f"the client gave up: {p.core.failure}")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"not welcomed by the server within {timeout} s")
        p.changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(p.changed.wait(), remaining)
    return p.welcomed.user_id


async def join(
    port: int, name: str, stack: contextlib.AsyncExitStack, ack_delay: float | None,
    protocol_class: type[LoadProtocol] = LoadProtocol,
) -> tuple[LoadProtocol, int]:
    key = SigningKey.generate()
    core = ClientCore(
        Credentials(
            display_name=name,
            public_key=bytes(key.verify_key),
            sign=lambda data: bytes(key.sign(data).signature),
        ),
        address=f"127.0.0.1:{port}",
        now=asyncio.get_running_loop().time(),
        timeouts=Timeouts(connect=30.0, idle=60.0),
    )

    def create_protocol(*args: Any, **kwargs: Any) -> LoadProtocol:
        return protocol_class(*args, core=core, **kwargs)

    protocol = await stack.enter_async_context(
        connect(
            "127.0.0.1", port,
            configuration=client_configuration("localhost", idle_timeout=60.0),
            create_protocol=create_protocol,
        )
    )
    assert isinstance(protocol, LoadProtocol)
    if ack_delay is not None:
        protocol._quic._ack_delay = ack_delay  # aioquic 1.7.2 keeps it private
    # self-signed: trusted as if pinned; the hello binds the fingerprint anyway
    protocol.tls_established(lambda fingerprint: Verified())
    return protocol, await wait_joined(protocol)


async def talk(protocol: LoadProtocol, start: float, until: float, seed: int) -> int:
    """Send one datagram per 20 ms from ``start`` until ``until``; return the count in window."""
    rng = random.Random(seed)
    payloads = [rng.randbytes(opus_size(rng)) for _ in range(256)]
    quic = protocol._quic
    message = voip_pb2.VoiceDatagram()
    in_window = 0
    sequence = 0
    next_send = start + rng.uniform(0, FRAME)  # talkers are not in phase
    while next_send < until:
        delay = next_send - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        message.sequence = sequence
        message.opus = payloads[sequence & 255]
        captured = time.monotonic_ns() // 1000
        message.capture_time_us = captured
        quic.send_datagram_frame(message.SerializeToString())
        protocol.transmit()
        if Window.start_us <= captured < Window.end_us:
            in_window += 1
        sequence += 1
        next_send += FRAME
    return in_window


async def read_line() -> dict[str, Any]:
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    if not line:
        raise SystemExit("parent closed stdin")
    result: dict[str, Any] = json.loads(line)
    return result


def say(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def run(args: argparse.Namespace) -> None:
    async with contextlib.AsyncExitStack() as stack:
        semaphore = asyncio.Semaphore(CONNECT_CONCURRENCY)

        async def one(i: int) -> tuple[LoadProtocol, int]:
            async with semaphore:
                return await join(args.port, f"{args.prefix}{i}", stack, args.ack_delay)

        clients = await asyncio.gather(*(one(i) for i in range(args.clients)))
        say({"ready": True, "user_ids": [uid for _, uid in clients]})
        plan = await read_line()
        Window.start_us = int(plan["measure_from"] * 1e6)
        Window.end_us = int(plan["measure_to"] * 1e6)
        talkers = [
            asyncio.create_task(talk(p, plan["start"], plan["measure_to"], args.seed * 1000 + i))
            for i, (p, _) in enumerate(clients[: args.talkers])
        ]
        sent = await asyncio.gather(*talkers)
        await asyncio.sleep(max(0.0, plan["stop"] - time.monotonic()))
        hist: Counter[int] = Counter()
        for p, _ in clients:
            hist.update(p.hist)
        say({"result": {
            "sent": list(sent),
            "received": sum(p.received for p, _ in clients),
            "hist_bin_us": BIN_US,
            "hist": {str(k): v for k, v in hist.items()},
        }})
        for p, _ in clients:
            p.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="relay benchmark load (run by voip-bench)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--clients", type=int, required=True)
    parser.add_argument("--talkers", type=int, default=0)
    parser.add_argument("--prefix", default="load")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ack-delay", type=float, default=ACK_DELAY,
                        help="client ACK delay in seconds after the handshake "
                             "(default: the real client's, voip.client.transport.ACK_DELAY)")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.run(run(args))
    except ImportError:
        asyncio.run(run(args))


if __name__ == "__main__":
    main()
