"""One PNG per benchmark (matplotlib, Agg backend: no display needed).

The plots show the same records as the JSON; the issue's targets are drawn
as dashed lines where there is one.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from benchmarks.report import Record

log = logging.getLogger(__name__)


def _label(r: Record, *keys: str) -> str:
    return " ".join(str(r.get(k)) for k in keys)


def _jitter(records: list[Record], fig: Any) -> None:
    traces = [r for r in records if r.get("kind") == "trace"]
    costs = [r for r in records if r.get("kind") == "cost"]
    ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 1]})
    names = [r["case"] for r in traces]
    x = range(len(traces))
    ax1.bar([i - 0.2 for i in x], [r["buffer_ms_p50"] or 0 for r in traces], 0.4, label="p50")
    ax1.bar([i + 0.2 for i in x], [r["buffer_ms_p99"] or 0 for r in traces], 0.4, label="p99")
    for i, r in zip(x, traces, strict=True):
        ax1.annotate(f"{r['concealed_pct']:.1f}% conc.\n{r['gap_frames']} gap",
                     (i, (r["buffer_ms_p99"] or 0) + 2), ha="center", fontsize=7)
    ax1.set_xticks(list(x), names, rotation=30, ha="right", fontsize=8)
    ax1.set_ylabel("time in buffer (ms)")
    ax1.set_title("delay the jitter buffer adds, per trace")
    ax1.legend()
    ax2.bar([r["case"] for r in costs], [r["us_per_packet"] for r in costs])
    ax2.axhline(5.0, ls="--", c="r", label="target 5 µs")
    ax2.set_ylabel("µs per insert+pop")
    ax2.tick_params(axis="x", labelsize=7)
    ax2.legend(fontsize=7)


def _mix(records: list[Record], fig: Any) -> None:
    costs = [r for r in records if r.get("kind") == "cost"]
    ax = fig.subplots()
    n = [r["talkers"] for r in costs]
    for key in ("total_us", "decode_us", "mix_us"):
        ax.plot(n, [r[key] for r in costs], "o-", label=key.replace("_us", ""))
    ax.axhline(1500, ls="--", c="r", label="target: 8 talkers in 1.5 ms")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("talkers decoded and mixed")
    ax.set_ylabel("µs per 20 ms output frame (median)")
    ax.set_title("receive-side cost per output frame")
    ax.legend()


def _quality(records: list[Record], fig: Any) -> None:
    pesq = [r for r in records if r.get("kind") == "pesq"]
    axes = fig.subplots(1, 2, sharey=True)
    variants = list(dict.fromkeys(r["variant"] for r in pesq))
    for ax, model in zip(axes, ("random", "bursty"), strict=True):
        for variant in variants:
            pts = sorted((r["loss_pct"], r["pesq_wb"]) for r in pesq if r["variant"] == variant
                         and r["loss_model"] in ("none", model))
            ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=variant)
        ax.axhline(4.0, ls=":", c="gray")
        ax.axhline(3.5, ls="--", c="r")
        ax.set_xlabel(f"{model} loss (%)")
        ax.set_title(f"PESQ-WB, {model} loss")
    axes[0].set_ylabel("PESQ-WB (MOS-LQO)")
    axes[0].legend(fontsize=7)


def _relay(records: list[Record], fig: Any) -> None:
    ax1, ax2 = fig.subplots(1, 2)
    labels = [f"{r['clients']}/{r['talkers']}\nflush {r.get('flush_ms')}"
              f"\nack {r.get('client_ack_ms')}"
              for r in records]
    ax1.bar(labels, [r["cpu_us_per_relayed"] or 0 for r in records])
    ax1.axhline(10.0, ls="--", c="r", label="target 10 µs")
    ax1.set_ylabel("server CPU µs per relayed datagram")
    ax1.tick_params(axis="x", labelsize=6)
    ax1.legend()
    ax2.bar([i - 0.2 for i in range(len(records))],
            [r["delay_ms_p50"] or 0 for r in records], 0.4, label="delay p50")
    ax2.bar([i + 0.2 for i in range(len(records))],
            [r["delay_ms_p99"] or 0 for r in records], 0.4, label="delay p99")
    ax2.set_xticks(range(len(records)), labels, fontsize=6)
    ax2.set_yscale("log")
    ax2.set_ylabel("relay delay (ms)")
    ax2.legend()


def _e2e(records: list[Record], fig: Any) -> None:
    ax = fig.subplots()
    labels = [str(r.get("case")) for r in records]
    x = range(len(records))
    ax.bar([i - 0.2 for i in x], [r.get("latency_ms_p50") or 0 for r in records], 0.4,
           label="p50")
    ax.bar([i + 0.2 for i in x], [r.get("latency_ms_p99") or 0 for r in records], 0.4,
           label="p99")
    ax.axhline(50.0, ls="--", c="r", label="target p50 50 ms")
    ax.set_xticks(list(x), labels)
    ax.set_ylabel("mouth-to-ear latency (ms)")
    ax.legend()


_PLOTTERS = {"jitter": _jitter, "mix": _mix, "quality": _quality, "relay": _relay, "e2e": _e2e}


def plot(name: str, records: list[Record], out_dir: Path) -> Path | None:
    """Draw ``<out_dir>/<name>.png``; a plotting problem is logged, never fatal."""
    plotter = _PLOTTERS.get(name)
    if plotter is None or not records:
        return None
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning("matplotlib is not installed; no plot for %s", name)
        return None
    fig = plt.figure(figsize=(11, 5))
    try:
        plotter(records, fig)
        fig.tight_layout()
        path = out_dir / f"{name}.png"
        fig.savefig(path, dpi=90)
        return path
    except Exception:
        log.exception("could not plot %s", name)
        return None
    finally:
        plt.close(fig)
