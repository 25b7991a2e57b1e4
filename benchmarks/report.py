"""Printing and saving benchmark records: JSON lines, a readable table, files.

Every benchmark yields flat dicts (one per result) so a record is a JSON line
that ``jq`` or a spreadsheet reads as is; the table is the same data for eyes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

Record = dict[str, Any]


class Unavailable(Exception):
    """A benchmark cannot run here (a part it measures is missing); not a failure of it."""


def machine() -> dict[str, Any]:
    """What the numbers were measured on; saved next to them."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        if abs(value) >= 1000 or value == 0:
            return f"{value:.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        if abs(value) >= 0.01:
            return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"
        return f"{value:.2g}"
    if value is None:
        return "-"
    return str(value)


def table(records: Sequence[Record], skip: Iterable[str] = ("benchmark",)) -> str:
    """Records as an aligned text table (columns: union of keys in order)."""
    skipped = set(skip)
    columns: list[str] = []
    for record in records:
        for key in record:
            if key not in skipped and key not in columns:
                columns.append(key)
    rows = [[_cell(r.get(c)) for c in columns] for r in records]
    widths = [max([len(c)] + [len(row[i]) for row in rows]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)))
    return "\n".join(lines)


def clean(record: Record) -> Record:
    """NaN and infinities become None, so every line is strict JSON."""
    return {
        k: (None if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))) else v)
        for k, v in record.items()
    }


def emit(
    name: str, records: Sequence[Record], json_only: bool, stream: TextIO | None = None
) -> None:
    """Print one JSON object per record, then (unless ``json_only``) the table."""
    out = stream or sys.stdout
    for record in records:
        out.write(json.dumps(clean(record), allow_nan=False) + "\n")
    if not json_only and records:
        groups: dict[str, list[Record]] = {}
        for record in records:  # one table per kind of record, in order of appearance
            groups.setdefault(str(record.get("kind", "")), []).append(record)
        for kind, group in groups.items():
            title = f"{name} ({kind})" if kind else name
            out.write(f"\n== {title}\n{table(group, skip=('benchmark', 'kind'))}\n")
        out.write("\n")
    out.flush()


def save(out_dir: Path, name: str, records: Sequence[Record], short: bool) -> Path:
    """Write ``<out_dir>/<name>.json`` with the records and where/when they came from."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    document = {
        "benchmark": name,
        "mode": "short" if short else "full",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "results": [clean(r) for r in records],
    }
    path.write_text(json.dumps(document, indent=1, allow_nan=False) + "\n")
    return path


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), NaN for no values (JSON writes it as NaN)."""
    if not values:
        return float("nan")
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=np.float64), q))
