"""Network traces for the jitter benchmark: synthetic models and replayed files.

A trace says, for each voice packet a sender emits every 20 ms, when it left
and when (or whether) it arrived. The jitter benchmark replays it into a real
``JitterBuffer`` with a free-running 20 ms playout clock.

Synthetic models (all seeded, so a run is reproducible):

- ``gaussian``: one-way delay = base + N(0, sigma), floored at 1 ms. With sigma
  near the frame length packets also reorder by themselves.
- ``gilbert_elliott``: bursty loss from a two-state Markov chain (good: no
  loss, bad: every packet lost), parameterised by the mean loss rate and the
  mean burst length in packets.
- ``reorder``: a fraction of packets held back by 1-3 extra frames.

Trace file format (``benchmarks/traces/*.csv``, version 1): UTF-8 text;
lines starting with ``#`` are comments, ``# key: value`` comments are
metadata (``name``, ``description``); then a header ``seq,send_ms,arrival_ms``
and one line per packet sent: the sequence number (0, 1, 2, ...), the send
time and the arrival time in milliseconds on one clock; an empty arrival
means the packet was lost. ``python -m benchmarks.traces`` regenerates the
shipped files (their models are described in ``benchmarks/README.md``).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

FRAME = 0.020
TRACE_DIR = Path(__file__).resolve().parent / "traces"
HEADER = "seq,send_ms,arrival_ms"

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Trace:
    """Send and arrival time (seconds) of packet ``i``; arrival NaN = lost."""

    name: str
    send: FloatArray
    arrival: FloatArray
    description: str = ""

    def __len__(self) -> int:
        return int(self.send.size)

    @property
    def loss_fraction(self) -> float:
        return float(np.isnan(self.arrival).mean()) if len(self) else 0.0


def _sends(n: int) -> FloatArray:
    return np.arange(n, dtype=np.float64) * FRAME


def gaussian(n: int, sigma: float, base: float = 0.030, seed: int = 1) -> FloatArray:
    """Arrival times with Gaussian one-way delay jitter (no loss)."""
    rng = np.random.default_rng(seed)
    delay = np.maximum(base + sigma * rng.standard_normal(n), 0.001)
    return _sends(n) + delay


def gilbert_elliott(n: int, loss: float, burst: float, seed: int = 2) -> npt.NDArray[np.bool_]:
    """A loss mask with mean loss rate ``loss`` in bursts of mean length ``burst``.

    Bad->good probability is 1/burst; good->bad is chosen so the chain spends
    the fraction ``loss`` of its time in the bad (losing) state.
    """
    if loss <= 0:
        return np.zeros(n, dtype=bool)
    rng = np.random.default_rng(seed)
    p_bg = 1.0 / max(burst, 1.0)
    p_gb = min(1.0, loss * p_bg / (1.0 - loss))
    u = rng.random(n)
    lost = np.zeros(n, dtype=bool)
    bad = rng.random() < loss
    for i in range(n):
        bad = (u[i] >= p_bg) if bad else (u[i] < p_gb)
        lost[i] = bad
    return lost


def random_loss(n: int, loss: float, seed: int = 3) -> npt.NDArray[np.bool_]:
    """Independent (Bernoulli) losses."""
    return np.random.default_rng(seed).random(n) < loss


def reorder(arrival: FloatArray, fraction: float, seed: int = 4) -> FloatArray:
    """Hold a ``fraction`` of packets back by 1-3 extra frames (they overtake-reorder)."""
    rng = np.random.default_rng(seed)
    held = rng.random(arrival.size) < fraction
    extra = rng.integers(1, 4, arrival.size) * FRAME + rng.uniform(0, 0.005, arrival.size)
    return np.where(held, arrival + extra, arrival)


def synthetic(name: str, n: int, seed: int = 1) -> Trace:
    """The named synthetic traces the jitter benchmark runs."""
    send = _sends(n)
    if name == "clean":
        arrival = send + 0.030
        desc = "constant 30 ms delay, no loss"
    elif name == "gauss-5ms":
        arrival = gaussian(n, 0.005, seed=seed)
        desc = "30 ms + N(0, 5 ms) delay, no loss"
    elif name == "gauss-20ms":
        arrival = gaussian(n, 0.020, base=0.060, seed=seed)
        desc = "60 ms + N(0, 20 ms) delay (reorders), no loss"
    elif name == "ge-5pct":
        arrival = gaussian(n, 0.005, seed=seed)
        arrival[gilbert_elliott(n, 0.05, 3.0, seed=seed + 1)] = np.nan
        desc = "30 ms + N(0, 5 ms); Gilbert-Elliott loss 5 %, mean burst 3"
    elif name == "reorder-5pct":
        arrival = reorder(send + 0.030, 0.05, seed=seed)
        desc = "30 ms delay; 5 % of packets held back 1-3 frames"
    else:
        raise ValueError(f"unknown synthetic trace {name!r}")
    return Trace(name, send, arrival, desc)


SYNTHETIC = ("clean", "gauss-5ms", "gauss-20ms", "ge-5pct", "reorder-5pct")


# -- files -------------------------------------------------------------------


def save(trace: Trace, path: Path) -> None:
    lines = [
        "# voip jitter trace v1",
        f"# name: {trace.name}",
        f"# description: {trace.description}",
        HEADER,
    ]
    for i, (s, a) in enumerate(zip(trace.send, trace.arrival, strict=True)):
        lines.append(f"{i},{s * 1e3:.3f}," + ("" if np.isnan(a) else f"{a * 1e3:.3f}"))
    path.write_text("\n".join(lines) + "\n")


def load(path: Path) -> Trace:
    """Read a version-1 trace file (see the module docstring)."""
    meta: dict[str, str] = {}
    seqs: list[int] = []
    send: list[float] = []
    arrival: list[float] = []
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            key, sep, value = line[1:].partition(":")
            if sep:
                meta[key.strip()] = value.strip()
            continue
        if line == HEADER:
            continue
        fields = line.split(",")
        if len(fields) != 3:
            raise ValueError(f"{path}:{number}: expected seq,send_ms,arrival_ms, got {raw!r}")
        seqs.append(int(fields[0]))
        send.append(float(fields[1]) / 1e3)
        arrival.append(float(fields[2]) / 1e3 if fields[2] else float("nan"))
    if seqs != list(range(len(seqs))):
        raise ValueError(f"{path}: sequence numbers must run 0, 1, 2, ... without gaps")
    return Trace(
        meta.get("name", path.stem),
        np.asarray(send),
        np.asarray(arrival),
        meta.get("description", ""),
    )


def shipped() -> list[Path]:
    return sorted(TRACE_DIR.glob("*.csv"))


# -- the shipped files -------------------------------------------------------


def wifi_spikes(n: int = 1500, seed: int = 11) -> Trace:
    """Wi-Fi-like: a quiet link with occasional stalls that release a burst.

    15 ms base + N(0, 2 ms); every 4-7 s a stall of 80-250 ms during which
    packets queue and then arrive back to back (0.3 ms apart); 0.5 % random
    loss.
    """
    rng = np.random.default_rng(seed)
    send = _sends(n)
    arrival = send + np.maximum(0.015 + 0.002 * rng.standard_normal(n), 0.001)
    t = rng.uniform(2.0, 4.0)
    while t < send[-1]:
        stall_end = t + rng.uniform(0.080, 0.250)
        queued = np.nonzero((arrival >= t) & (arrival < stall_end))[0]
        for k, i in enumerate(queued):
            arrival[i] = stall_end + 0.0003 * k
        t = stall_end + rng.uniform(4.0, 7.0)
    arrival[random_loss(n, 0.005, seed + 1)] = np.nan
    return Trace("wifi-spikes", send, arrival, "15 ms + N(0,2 ms); 80-250 ms stalls every "
                 "4-7 s released as a burst; 0.5 % random loss (synthetic model)")


def mobile_bursty(n: int = 1500, seed: int = 12) -> Trace:
    """Mobile-like: a wandering base delay, strong jitter and bursty loss.

    Base delay a bounded random walk between 40 and 120 ms; N(0, 8 ms) per
    packet; Gilbert-Elliott loss 4 % with mean burst 4 packets; packets may
    not overtake each other by more than the jitter allows (FIFO-ish queue).
    """
    rng = np.random.default_rng(seed)
    send = _sends(n)
    walk = np.clip(0.070 + np.cumsum(rng.normal(0, 0.0015, n)), 0.040, 0.120)
    arrival = send + walk + np.abs(rng.normal(0, 0.008, n))
    arrival[gilbert_elliott(n, 0.04, 4.0, seed + 1)] = np.nan
    return Trace("mobile-bursty", send, arrival, "40-120 ms wandering delay + |N(0,8 ms)|; "
                 "Gilbert-Elliott loss 4 %, mean burst 4 (synthetic model)")


def main() -> None:
    parser = argparse.ArgumentParser(description="regenerate the shipped jitter trace files")
    parser.add_argument("--dir", type=Path, default=TRACE_DIR)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    for trace in (wifi_spikes(), mobile_bursty()):
        path = args.dir / f"{trace.name}.csv"
        save(trace, path)
        print(f"wrote {path} ({len(trace)} packets, {trace.loss_fraction:.1%} lost)")


if __name__ == "__main__":
    main()
