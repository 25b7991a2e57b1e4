"""Mouth-to-ear latency: capture engine -> QUIC -> real server -> QUIC -> playback engine.

Two clients ("bots") in this process talk through a real server process on
loopback. The talker runs the real ``CaptureEngine`` (continuous mode, Opus
as the client sends) fed by an array source paced in real time; the listener
runs the real ``PlaybackEngine`` (jitter buffer, decoder, mixer) writing to a
recording sink paced in real time. The network glue between engine and QUIC
is a thin aioquic client of this package (``loadclients.join``: the full
handshake), standing in for the client backend's, which does not yet hand
voice to the engines.

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
stacks, the server, the jitter buffer's wait, decode and mix; it excludes a
sound card's own buffers (PortAudio reports ~40 ms input latency on the
PulseAudio null sink; real devices add 5-50 ms each way).

Jitter: with ``jitter_ms`` > 0 each received datagram is handed to the
playback engine after an extra |N(0, jitter)| delay (receive side), which
also reorders packets, and the buffer adapts.
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

from benchmarks.loadclients import LoadProtocol, join
from benchmarks.report import Record, Unavailable, percentile
from benchmarks.serverproc import ServerProcess
from voip.audio.capture import CaptureEngine
from voip.audio.codec import FRAME_SAMPLES, SAMPLE_RATE, Frame
from voip.audio.playback import PlaybackEngine
from voip.audio.sinks import RecordingSink
from voip.audio.sources import ArraySource
from voip.audio.transmission import TransmissionMode
from voip.protocol.voice import VoiceFrame, decode_voice, encode_voice

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


class Listener(LoadProtocol):
    playback: PlaybackEngine | None = None
    jitter = 0.0
    rng = random.Random(3)

    def datagram_frame_received(self, data: bytes) -> None:
        if self.playback is not None:
            frame = decode_voice(data)
            playback = self.playback

            def deliver() -> None:
                # As the client's VoiceInbox: audio to the buffer, an end marker after it.
                if frame.opus:
                    playback.receive(frame.sender_id, frame.sequence, frame.opus,
                                     time.monotonic(), frame.redundant_opus)
                if frame.end_of_transmission:
                    playback.end_of_transmission(frame.sender_id, frame.sequence,
                                                 time.monotonic())

            if self.jitter > 0:
                self._loop.call_later(abs(self.rng.gauss(0.0, self.jitter)), deliver)
            else:
                deliver()


def measure(port: int, seconds: float, jitter: float) -> Record:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="e2e-quic", daemon=True)
    thread.start()
    stack = contextlib.AsyncExitStack()

    def call(coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=30)

    try:
        # Names are unique per connected user: the previous case's clients may
        # not have left yet when this one joins.
        case = f"{jitter * 1000:g}ms"
        talker, _ = call(join(port, f"talker-{case}", stack, None))
        listener, _ = call(join(port, f"listener-{case}", stack, None, Listener))
        assert isinstance(listener, Listener)
        samples, _ = click_train(seconds)
        source = TimedSource(samples)
        sink = TimedSink()
        playback = PlaybackEngine(device=sink)
        listener.jitter = jitter
        listener.playback = playback

        def send_now(packet: bytes, sequence: int, redundant: bytes) -> None:
            data = encode_voice(VoiceFrame(0, 0, sequence, packet,
                                           capture_time_us=time.monotonic_ns() // 1000,
                                           redundant_opus=redundant))
            talker._quic.send_datagram_frame(data)
            talker.transmit()

        def hand_over(packet: bytes, sequence: int, redundant: bytes) -> None:
            loop.call_soon_threadsafe(send_now, packet, sequence, redundant)

        def end_now(sequence: int) -> None:
            # As the client's ServerRoute.end: an empty end-of-transmission marker.
            data = encode_voice(VoiceFrame(0, 0, sequence, b"", end_of_transmission=True,
                                           capture_time_us=time.monotonic_ns() // 1000))
            talker._quic.send_datagram_frame(data)
            talker.transmit()

        def hand_over_end(sequence: int) -> None:
            loop.call_soon_threadsafe(end_now, sequence)

        capture = CaptureEngine(
            device=source, mode=TransmissionMode.CONTINUOUS,
            send_voice=hand_over, send_end=hand_over_end,
        )
        playback.start()
        capture.start()
        deadline = time.monotonic() + seconds + 30
        while not source.finished and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # let the last clicks play out
        capture.stop()
        playback.stop()
        stats = next(iter(p.stats for p in playback.user_playback().values()), None)
    finally:
        with contextlib.suppress(Exception):
            call(stack.aclose())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()

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
        "packets_sent": capture.packets_sent,
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
        records = [measure(server.port, seconds, j) for j in jitters]
    if short:
        return records  # the browser cases start Chromium: full runs only
    from benchmarks.web_e2e import run as run_browser_cases

    try:
        records += run_browser_cases(seconds)
    except Unavailable as exc:
        log.warning("browser cases skipped: %s", exc)
    return records
