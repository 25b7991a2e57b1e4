"""One PNG per benchmark (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.report import Record


def plot(name: str, records: list[Record], out_dir: Path) -> Path | None:
    return None
