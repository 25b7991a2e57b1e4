"""Receive-side cost per 20 ms output frame: decode N talkers' Opus packets and mix them.

For N in 1, 2, 4, 8, 16, 32 talkers, each with its own ``OpusDecoder`` and a
stream of real Opus packets (speech-like signal, 32 kbit/s VBR, FEC on, as
the client sends), one output frame costs N ``decode()`` calls into
preallocated buffers plus one ``Mixer.mix()`` (sum with per-user volumes of
0.8, then the soft clipper). Reported per frame: decode, mix and total µs
(median over the run) and the share of the 20 ms frame budget. A straight
line ``total = fixed + per_talker * N`` fitted over N gives the growth.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks.report import Record
from voip.audio.codec import FRAME_SAMPLES
from voip.audio.mixer import Mixer
from voip.audio.opus import OpusDecoder, OpusEncoder
from voip.audio.signals import speech_like

TALKERS = (1, 2, 4, 8, 16, 32)
PACKETS_PER_TALKER = 50  # one second of voice, replayed in a loop


def _packets(seed: int) -> list[bytes]:
    encoder = OpusEncoder()
    pcm = speech_like(PACKETS_PER_TALKER * FRAME_SAMPLES / 48_000, seed=seed)
    packets = []
    for i in range(PACKETS_PER_TALKER):
        packet = encoder.encode(pcm[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES])
        packets.append(packet)
    encoder.close()
    return packets


def measure(n_talkers: int, frames: int, streams: list[list[bytes]]) -> Record:
    decoders = [OpusDecoder() for _ in range(n_talkers)]
    buffers = [np.zeros(FRAME_SAMPLES, dtype=np.float32) for _ in range(n_talkers)]
    volumes = [0.8] * n_talkers
    mixer = Mixer()
    decode_ns = np.empty(frames, dtype=np.int64)
    mix_ns = np.empty(frames, dtype=np.int64)
    clock = time.perf_counter_ns
    for f in range(frames):
        k = f % PACKETS_PER_TALKER
        t0 = clock()
        for i in range(n_talkers):
            decoders[i].decode(streams[i % len(streams)][k], buffers[i])
        t1 = clock()
        mixer.mix(buffers, volumes)
        t2 = clock()
        decode_ns[f] = t1 - t0
        mix_ns[f] = t2 - t1
    for d in decoders:
        d.close()
    total = decode_ns + mix_ns
    total_us = float(np.median(total)) / 1e3
    return {
        "benchmark": "mix",
        "kind": "cost",
        "talkers": n_talkers,
        "frames": frames,
        "decode_us": float(np.median(decode_ns)) / 1e3,
        "mix_us": float(np.median(mix_ns)) / 1e3,
        "total_us": total_us,
        "total_us_p99": float(np.percentile(total, 99)) / 1e3,
        "budget_pct": 100.0 * total_us / 20_000.0,
    }


def run(args: argparse.Namespace) -> list[Record]:
    frames = 100 if args.short else 1500
    streams = [_packets(seed) for seed in range(1, 9)]
    sizes = [len(p) for s in streams for p in s]
    measure(1, 20, streams)  # warm-up: the first calls page libopus in
    costs = [measure(n, frames, streams) for n in TALKERS]
    records = list(costs)
    n = np.array([r["talkers"] for r in costs], dtype=np.float64)
    for key, label in (("total_us", "total"), ("decode_us", "decode"), ("mix_us", "mix")):
        y = np.array([r[key] for r in costs], dtype=np.float64)
        slope, intercept = np.polyfit(n, y, 1)
        records.append({
            "benchmark": "mix",
            "kind": "fit",
            "part": label,
            "per_talker_us": float(slope),
            "fixed_us": float(intercept),
            "talkers_per_20ms_frame": float((20_000.0 - intercept) / slope) if slope > 0 else None,
            "opus_bytes_mean": float(np.mean(sizes)),
        })
    return records
