"""Jitter buffer: CPU cost per packet, and the delay and losses under traces.

Two kinds of record:

- ``kind="cost"``: one ``insert()`` plus one ``pop()`` per packet, the work a
  receiver does per talker per 20 ms, timed over a long run (µs per packet,
  median and best of several repeats; loop overhead included).
- ``kind="trace"``: a network trace replayed in simulated time into a real
  ``JitterBuffer``: packets are inserted at their arrival time, and a
  free-running playout clock (phase unrelated to the sender) pops one frame
  every 20 ms. ``buffer_ms`` is how long a played packet waited in the buffer
  (its playout tick minus its arrival); ``total_ms`` adds the network delay
  (playout tick minus send time). Counts: ``net_lost`` (never arrived),
  ``late`` (arrived after its turn), ``fec``/``plc`` (frames recovered from
  the next packet's FEC / concealed), ``gap_frames`` (frames of the stream
  that got no playout at all: silence, because the buffer ran dry across a
  loss burst or dropped them), ``underruns`` (buffer ran dry while playing),
  ``skipped`` (frames dropped to shrink the delay).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from benchmarks import traces
from benchmarks.report import Record, percentile
from voip.audio.jitter import JitterBuffer, PlayoutKind

PACKET = bytes(80)
TICK_PHASE = 0.37  # playout ticks fall 0.37 frame after a sender frame boundary


def _cost_run(n: int, sequences: list[int], times: list[float]) -> float:
    jb = JitterBuffer(seq_bits=32)
    insert = jb.insert
    pop = jb.pop
    packet = PACKET
    start = time.perf_counter_ns()
    for i in range(n):
        insert(sequences[i], packet, times[i])
        pop()
    return (time.perf_counter_ns() - start) / n / 1e3


def cost(n: int, repeats: int) -> list[Record]:
    """µs per insert+pop, for in-order packets and for a lossy, reordered stream."""
    records = []
    in_order = list(range(n))
    rng = np.random.default_rng(5)
    shuffled = list(range(n))
    # Swap ~5 % of neighbours (reorder) and replace ~5 % by a far-back duplicate
    # (takes the late/duplicate paths); the buffer still pops once per packet.
    for i in np.nonzero(rng.random(n - 1) < 0.05)[0]:
        shuffled[i], shuffled[i + 1] = shuffled[i + 1], shuffled[i]
    for i in np.nonzero(rng.random(n) < 0.05)[0]:
        shuffled[i] = max(0, shuffled[i] - 10)
    times = [i * traces.FRAME for i in range(n)]
    for case, seqs in (("in-order", in_order), ("reorder+dup 5%", shuffled)):
        runs = [_cost_run(n, seqs, times) for _ in range(repeats)]
        records.append({
            "benchmark": "jitter",
            "kind": "cost",
            "case": case,
            "packets": n,
            "us_per_packet": statistics.median(runs),
            "us_per_packet_best": min(runs),
        })
    return records


def simulate(trace: traces.Trace, red: bool = True) -> Record:
    """Replay ``trace`` into a JitterBuffer with a 20 ms playout clock.

    ``red``: each packet carries the previous frame's copy (the product default).
    """
    frame = traces.FRAME
    jb = JitterBuffer(seq_bits=32)
    order = [int(i) for i in np.argsort(trace.arrival, kind="stable")
             if not np.isnan(trace.arrival[i])]
    if not order:
        raise ValueError(f"trace {trace.name} has no arriving packet")
    first = trace.arrival[order[0]]
    tick = (np.floor(first / frame) + 1 + TICK_PHASE) * frame
    buffer_ms: list[float] = []
    total_ms: list[float] = []
    targets: list[int] = []
    kinds = dict.fromkeys(PlayoutKind, 0)
    covered: set[int] = set()
    k = 0
    end = float(np.nanmax(trace.arrival)) + 1.0  # then whatever is left is never played
    while tick <= end:
        while k < len(order) and trace.arrival[order[k]] <= tick:
            i = order[k]
            jb.insert(i, PACKET, float(trace.arrival[i]), PACKET if i and red else b"")
            k += 1
        playout = jb.pop()
        kinds[playout.kind] += 1
        if playout.sequence is not None:
            covered.add(playout.sequence)
        if playout.kind is PlayoutKind.PACKET and playout.sequence is not None:
            s = playout.sequence
            buffer_ms.append((tick - trace.arrival[s]) * 1e3)
            total_ms.append((tick - trace.send[s]) * 1e3)
        targets.append(jb.target_frames)
        tick += frame
    stats = jb.stats()
    n = len(trace)
    return {
        "benchmark": "jitter",
        "kind": "trace",
        "case": trace.name,
        "packets": n,
        "net_lost": int(np.isnan(trace.arrival).sum()),
        "late": stats.late,
        "red": stats.redundant_recovered,
        "fec": stats.fec_recovered,
        "plc": stats.plc,
        "concealed_pct": 100.0
        * (stats.redundant_recovered + stats.fec_recovered + stats.plc) / n,
        "gap_frames": n - len([s for s in covered if s < n]),
        "underruns": stats.underruns,
        "skipped": stats.skipped,
        "stretched": stats.stretched,
        "buffer_ms_mean": float(np.mean(buffer_ms)) if buffer_ms else float("nan"),
        "buffer_ms_p50": percentile(buffer_ms, 50),
        "buffer_ms_p99": percentile(buffer_ms, 99),
        "total_ms_p50": percentile(total_ms, 50),
        "total_ms_p99": percentile(total_ms, 99),
        "target_frames_mean": float(np.mean(targets)),
    }


def run(args: argparse.Namespace) -> list[Record]:
    short = bool(args.short)
    records = cost(n=20_000 if short else 200_000, repeats=3 if short else 7)
    n = 1500 if short else 15_000  # 30 s / 5 min of voice per synthetic trace
    for name in traces.SYNTHETIC:
        records.append(simulate(traces.synthetic(name, n)))
    for path in traces.shipped():
        trace = traces.load(path)
        record = simulate(trace)
        record["case"] = f"file:{trace.name}"
        records.append(record)
    return records
