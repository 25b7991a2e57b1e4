"""Mouth-to-ear latency: one client's microphone -> real server -> another client's speaker.

Two real client backends (`BackendHandle`, the same actors, engines,
connection core and aioquic glue as the GUI and the bot) in this process
talk through a real server process on loopback, with timed arrays in place
of the sound card (`BenchIO`). The talker's `CaptureActor` runs the
`CaptureEngine` in continuous mode, its packets leave through the
connection's datagram path; the listener's datagrams go through its
`ClientCore` and `VoiceInbox` into the `PlaybackActor`'s `PlaybackEngine`
(jitter buffer, decoder, mixer), writing to a recording sink paced in real
time. Nothing in the path is the benchmark's own.

The source is low background noise (so the encoder never goes DTX and the
buffer stays in steady state, as in continuous speech) with a 4 ms click
every 500 ms. The interval measured for each click:

- start: the moment its first sample "entered the capture path": the
  monotonic time the source handed over the frame containing it, minus the
  time still to come in that frame after the sample (a microphone delivers
  a frame when its last sample arrives);
- end: the moment that sample "left the playback path": the monotonic time
  the playback engine wrote the frame holding the click onset to the sink,
  plus the onset's offset in that frame (a sink plays a frame from the
  moment it is written).

So it includes the 20 ms framing, Opus encode and its look-ahead, both QUIC
stacks, the server, the jitter buffer's wait, decode and mix, and the hops
between the client's threads; it excludes a sound card's own buffers
(PortAudio reports ~40 ms input latency on the PulseAudio null sink; real
devices add 5-50 ms each way).

Jitter: with ``jitter_ms`` > 0 the listener connects through `JitterProxy`,
a UDP relay that delays every packet from the server by |N(0, jitter)|
(which also reorders them), and the buffer adapts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from benchmarks.report import Record, Unavailable, percentile
from benchmarks.serverproc import ServerProcess
from voip.audio.codec import FRAME_SAMPLES, SAMPLE_RATE, Frame
from voip.audio.jitter import JitterStats
from voip.audio.sinks import FrameSink, PacedSink, RecordingSink
from voip.audio.sources import ArraySource, FrameSource
from voip.audio.transmission import TransmissionMode
from voip.client import commands as c
from voip.client.backend import BackendHandle
from voip.client.state import AudioDeviceView, AwaitingTrust

log = logging.getLogger(__name__)

CLICK_PERIOD = 0.5
CLICK_SECONDS = 0.004
NOISE = 0.003
THRESHOLD = 0.15


def click_train(seconds: float, seed: int = 7) -> tuple[npt.NDArray[np.float32], list[int]]:
    n = int(seconds * SAMPLE_RATE) // FRAME_SAMPLES * FRAME_SAMPLES
    rng = np.random.default_rng(seed)
    x = (NOISE * rng.standard_normal(n)).astype(np.float32)
    length = int(CLICK_SECONDS * SAMPLE_RATE)
    t = np.arange(length) / SAMPLE_RATE
    click = (0.6 * np.hanning(length) * np.sin(2 * np.pi * 3000 * t)).astype(np.float32)
    onsets = []
    # Start after 1 s so the buffer has settled; offset so clicks fall mid-frame.
    pos = SAMPLE_RATE + 333
    while pos + length < n - SAMPLE_RATE // 2:
        x[pos : pos + length] += click
        onsets.append(pos)
        pos += int(CLICK_PERIOD * SAMPLE_RATE)
    return x, onsets


def detect_onsets(x: np.ndarray) -> list[int]:
    """Sample index of each click: first |x| above threshold after 200 ms below it."""
    above = np.nonzero(np.abs(x) > THRESHOLD)[0]
    onsets: list[int] = []
    for i in above:
        if not onsets or i - onsets[-1] > int(0.2 * SAMPLE_RATE):
            onsets.append(int(i))
    return onsets


class TimedSource:
    def __init__(self, samples: np.ndarray) -> None:
        self.inner = ArraySource(samples, realtime=True)
        self.times: list[float] = []

    @property
    def finished(self) -> bool:
        return self.inner.finished

    def start(self) -> None:
        self.inner.start()

    def stop(self) -> None:
        self.inner.stop()

    def read(self, timeout: float) -> Frame | None:
        frame = self.inner.read(timeout)
        if frame is not None:
            self.times.append(time.monotonic())
        return frame


class TimedSink:
    def __init__(self) -> None:
        self.inner = RecordingSink(realtime=True)
        self.times: list[float] = []

    def start(self) -> None:
        self.inner.start()

    def stop(self) -> None:
        self.inner.stop()

    def wait_ready(self, timeout: float) -> bool:
        return self.inner.wait_ready(timeout)

    def write(self, frame: Frame) -> None:
        self.times.append(time.monotonic())
        self.inner.write(frame)


class BenchIO:
    """An `AudioIO` whose source and sink are the benchmark's timed ones (no sound card)."""

    live = False  # a click train, sent as it is (no voice processing)
    INPUT = AudioDeviceView("bench input", 0, "bench", 1, True)
    OUTPUT = AudioDeviceView("bench output", 0, "bench", 1, True)

    def __init__(self, source: FrameSource, sink: FrameSink) -> None:
        self._source = source
        self._sink = sink

    def source(self, device: str | None) -> FrameSource:
        return self._source

    def sink(self, device: str | None) -> FrameSink:
        return self._sink

    def devices(
        self, rescan: bool = False
    ) -> tuple[tuple[AudioDeviceView, ...], tuple[AudioDeviceView, ...]]:
        return (self.INPUT,), (self.OUTPUT,)


class JitterProxy:
    """A UDP relay between the listener and the server that delays what the server
    sends by |N(0, jitter)| (which also reorders it): network jitter on the way in."""

    def __init__(self, server_port: int, jitter: float, seed: int = 3) -> None:
        self.server = ("127.0.0.1", server_port)
        self.jitter = jitter
        self.rng = random.Random(seed)
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._client: tuple[str, int] | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, name="e2e-proxy",
                                        daemon=True)

    def __enter__(self) -> JitterProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._open(), self.loop).result(timeout=10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)

    async def _open(self) -> None:
        proxy = self

        class Front(asyncio.DatagramProtocol):  # the listener's side
            def connection_made(self, transport: Any) -> None:
                self.transport = transport

            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                proxy._client = addr
                back.transport.sendto(data)

        class Back(asyncio.DatagramProtocol):  # the server's side
            def connection_made(self, transport: Any) -> None:
                self.transport = transport

            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                client = proxy._client
                if client is None:
                    return
                delay = abs(proxy.rng.gauss(0.0, proxy.jitter))
                proxy.loop.call_later(delay, front.transport.sendto, data, client)

        _, front = await self.loop.create_datagram_endpoint(Front, local_addr=("127.0.0.1", 0))
        _, back = await self.loop.create_datagram_endpoint(Back, remote_addr=self.server)
        self.port = front.transport.get_extra_info("sockname")[1]


def _join(backend: BackendHandle, port: int, name: str) -> None:
    """Connect as a user would: accept the server's self-signed certificate on first use."""
    backend.send(c.Connect(f"127.0.0.1:{port}", name))
    state = backend.wait_for(
        lambda s: isinstance(s.connection, AwaitingTrust) or s.is_connected, 30
    )
    if isinstance(state.connection, AwaitingTrust):
        backend.send(c.AcceptCertificate())
    backend.wait_for(lambda s: s.is_connected and s.me is not None, 30)


def measure(port: int, seconds: float, jitter: float, home: Path) -> Record:
    samples, _ = click_train(seconds)
    source = TimedSource(samples)
    sink = TimedSink()
    silence = ArraySource(np.zeros(FRAME_SAMPLES, dtype=np.float32), realtime=True, loop=True)
    with contextlib.ExitStack() as stack:
        proxy_port = port
        if jitter > 0:
            proxy_port = stack.enter_context(JitterProxy(port, jitter)).port
        listener = stack.enter_context(
            BackendHandle(config_dir=home / f"listener-{jitter}", audio_io=BenchIO(silence, sink))
        )
        talker = stack.enter_context(
            BackendHandle(config_dir=home / f"talker-{jitter}",
                          audio_io=BenchIO(source, PacedSink()))
        )
        listener.send(c.SetTransmissionMode(TransmissionMode.MUTED))
        talker.send(c.SetTransmissionMode(TransmissionMode.MUTED))
        # Names are unique per connected user: the previous case's clients may
        # not have left yet when this one joins.
        case = f"{jitter * 1000:g}ms"
        _join(listener, proxy_port, f"listener-{case}")
        _join(talker, port, f"talker-{case}")
        # The voice path from here on is the client's own: CaptureActor's engine,
        # the connection's datagram sender, the server, the listener's VoiceInbox
        # and PlaybackActor's engine.
        talker.send(c.SetTransmissionMode(TransmissionMode.CONTINUOUS))
        deadline = time.monotonic() + seconds + 30
        while not source.finished and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # let the last clicks play out
        engine = listener.voice_inbox.engine
        stats = (
            next(iter(p.stats for p in engine.user_playback().values()), None)
            if engine is not None else None
        )
        received = listener.voice_inbox.received
    return latency_record(samples, source, sink, jitter, stats, received)


def latency_record(
    samples: npt.NDArray[np.float32],
    source: TimedSource,
    sink: TimedSink,
    jitter: float,
    stats: JitterStats | None,
    received: int,
) -> Record:
    """Each click's mouth-to-ear time: when it entered the source, when it left the sink."""
    inputs = detect_onsets(samples)
    output = sink.inner.samples()
    outputs = detect_onsets(output)
    latencies = []
    for onset in outputs:
        earlier = [i for i in inputs if i < onset + 10 * SAMPLE_RATE]
        if not earlier:
            continue
        # The click that produced this one: the last input click that entered
        # before this output left (the period, 500 ms, exceeds any latency here).
        out_frame, out_offset = divmod(onset, FRAME_SAMPLES)
        if out_frame >= len(sink.times):
            continue
        left = sink.times[out_frame] + out_offset / SAMPLE_RATE
        best = None
        for i in inputs:
            in_frame, in_offset = divmod(i, FRAME_SAMPLES)
            if in_frame >= len(source.times):
                continue
            entered = source.times[in_frame] - (FRAME_SAMPLES - in_offset) / SAMPLE_RATE
            if entered < left:
                best = left - entered
        if best is not None:
            latencies.append(best * 1e3)
    return {
        "benchmark": "e2e",
        "kind": "latency",
        "case": "no jitter" if jitter == 0 else f"jitter {jitter * 1e3:.0f} ms",
        "jitter_ms": jitter * 1e3,
        "clicks_sent": len(inputs),
        "clicks_heard": len(latencies),
        "latency_ms_p50": percentile(latencies, 50),
        "latency_ms_p99": percentile(latencies, 99),
        "latency_ms_min": min(latencies) if latencies else float("nan"),
        "latency_ms_max": max(latencies) if latencies else float("nan"),
        "buffer_target_frames": stats.target_frames if stats else None,
        "late": stats.late if stats else None,
        "concealed": (stats.redundant_recovered + stats.fec_recovered + stats.plc)
        if stats else None,
        "skipped": stats.skipped if stats else None,
        "spurts_ended": stats.ended if stats else None,
        "packets_received": received,
    }




def run(args: argparse.Namespace) -> list[Record]:
    short = bool(args.short)
    seconds = float(getattr(args, "seconds", None) or (4.0 if short else 20.0))
    jitters = (0.0, 0.010) if short else (0.0, 0.010, 0.030)
    try:
        import voip.audio.capture
        import voip.audio.playback  # noqa: F401
    except ImportError as exc:
        raise Unavailable(f"the audio engines are not there: {exc}") from exc
    with tempfile.TemporaryDirectory(prefix="voip-bench-e2e-") as tmp, \
            ServerProcess(Path(tmp) / "server") as server:
        records = [measure(server.port, seconds, j, Path(tmp)) for j in jitters]
    if short:
        return records  # the browser cases start Chromium: full runs only
    from benchmarks.web_e2e import run as run_browser_cases

    try:
        records += run_browser_cases(seconds)
    except Unavailable as exc:
        log.warning("browser cases skipped: %s", exc)
    return records
