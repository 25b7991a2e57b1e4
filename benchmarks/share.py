"""``voip-bench share``: one file to 1, 3 and 5 downloaders, and voice in the same room.

Everything is a real process on loopback: a ``voip-server`` (tracker and
seed), one ``voip-bot --share FILE``, N ``voip-bot --fetch all``, and a pair
of load clients (one talker, one listener) in the same room. Per case:

- throughput: file size over the time until the last downloader has it
  (and the mean per downloader);
- the server's CPU seconds, and the bytes its seed uploaded (its own
  count, logged at shutdown; its copy is complete before the downloaders
  start, so all of it went to them) against the sum the downloaders
  received: the point of BitTorrent is that the server sends less;
- voice loss and delay (p50/p99) of the talker heard by the listener while
  the file moves, next to the same measurement with nothing moving.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.relay import _percentile_from_hist, _read_json
from benchmarks.report import Record
from benchmarks.serverproc import ServerProcess

FETCHED = re.compile(r"fetched (\S+) \(.*\) to (\S+), sha256 ([0-9a-f]{64})")
FETCHING = re.compile(r"fetching (\S+) \(.*\) shared by")
UPLOADED = re.compile(r"seed store: uploaded (\d+) bytes")
SEEDING = re.compile(r"seeding ")
SEEDED = re.compile(r"seed store: has all of")
TIMEOUT = 600.0


class _Lines:
    """Lines of a child's stdout, pumped on a thread."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.queue: queue.Queue[tuple[float, str]] = queue.Queue()  # (arrival, line)
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.queue.put((time.monotonic(), line))

    def wait(self, pattern: re.Pattern[str], timeout: float = TIMEOUT) -> float:
        """When the first line matching `pattern` arrived (monotonic seconds)."""
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        while time.monotonic() < deadline:
            try:
                arrived, line = self.queue.get(timeout=0.5)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            seen.append(line)
            if pattern.search(line):
                return arrived
        raise RuntimeError(f"no line matching {pattern.pattern}: {''.join(seen[-20:])}")


def _bot(port: int, home: Path, name: str, *args: str) -> _Lines:
    proc = subprocess.Popen(
        [sys.executable, "-m", "voip.bot", "--server", f"127.0.0.1:{port}",
         "--name", name, "--config-dir", str(home / name), "--accept-new-certificate", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    return _Lines(proc)


def _server_log_wait(server: ServerProcess, pattern: re.Pattern[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(pattern.search(line) for line in list(server.lines)):
            return
        time.sleep(0.2)
    raise RuntimeError(f"the server never logged {pattern.pattern}")


def _voice(port: int, seconds: float, prefix: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "benchmarks.loadclients", "--port", str(port), "--clients", "2",
         "--talkers", "1", "--prefix", prefix, "--seed", "7"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )


def _voice_plan(child: subprocess.Popen[str], seconds: float) -> float:
    """Start the talker now; returns when the measurement window ends."""
    assert child.stdin is not None
    start = time.monotonic() + 0.2
    plan = {"start": start, "measure_from": start + 1.0, "measure_to": start + 1.0 + seconds,
            "stop": start + 2.0 + seconds}
    child.stdin.write(json.dumps(plan) + "\n")
    child.stdin.flush()
    return float(plan["stop"])


def _voice_result(child: subprocess.Popen[str]) -> dict[str, float]:
    assert child.stdout is not None
    result = _read_json(child.stdout, child, "reporting")["result"]
    child.wait(timeout=60)
    sent = sum(result["sent"])
    received = result["received"]  # 2 clients: the listener hears each datagram once
    hist = {int(k): v for k, v in result["hist"].items()}
    bin_us = int(result["hist_bin_us"])
    return {
        "voice_sent": sent,
        "voice_loss_pct": 100.0 * (1 - received / sent) if sent else float("nan"),
        "voice_delay_ms_p50": _percentile_from_hist(hist, 50, bin_us),
        "voice_delay_ms_p99": _percentile_from_hist(hist, 99, bin_us),
    }


def measure(tmp: Path, size: int, downloaders: int, voice_seconds: float) -> Record:
    data_file = tmp / "share" / "payload.bin"
    if not data_file.exists():
        data_file.parent.mkdir(parents=True, exist_ok=True)
        with data_file.open("wb") as fh:
            for _ in range(size // (1 << 20)):
                fh.write(os.urandom(1 << 20))
            fh.write(os.urandom(size % (1 << 20)))
    case = tmp / f"case{downloaders}"
    bots: list[_Lines] = []
    with ServerProcess(case / "server", ["--announce-interval", "2"]) as server:
        try:
            voice = _voice(server.port, voice_seconds, "quiet")
            assert voice.stdout is not None
            _read_json(voice.stdout, voice, "connecting")
            stop = _voice_plan(voice, voice_seconds)
            time.sleep(max(0.0, stop - time.monotonic()))
            quiet = _voice_result(voice)

            sharer = _bot(server.port, case, "sharer", "--share", str(data_file))
            bots.append(sharer)
            sharer.wait(SEEDING)
            _server_log_wait(server, SEEDED, TIMEOUT)

            voice = _voice(server.port, voice_seconds, "busy")
            assert voice.stdout is not None
            _read_json(voice.stdout, voice, "connecting")
            cpu0 = server.cpu_seconds()
            started = time.monotonic()
            stop = _voice_plan(voice, voice_seconds)
            fetchers = [
                _bot(server.port, case, f"dl{i}", "--fetch", "all", "--downloads",
                     str(case / f"dl{i}"))
                for i in range(downloaders)
            ]
            bots += fetchers
            times, transfer = [], []
            for f in fetchers:
                began = f.wait(FETCHING)
                done = f.wait(FETCHED)
                times.append(done - started)
                transfer.append(done - began)
            cpu = server.cpu_seconds() - cpu0
            time.sleep(max(0.0, stop - time.monotonic()))
            busy = _voice_result(voice)
            server.stop()
            server._reader.join(timeout=5.0)
            uploads = [int(m.group(1)) for line in server.lines if (m := UPLOADED.search(line))]
            written = uploads[-1] if uploads else 0
        finally:
            for bot in bots:
                if bot.proc.poll() is None:
                    bot.proc.terminate()
                    try:
                        bot.proc.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        bot.proc.kill()
    total = size * downloaders
    last = max(times)
    record: Record = {
        "benchmark": "share",
        "size_mb": size / 1e6,
        "downloaders": downloaders,
        "last_done_s": last,
        "mean_done_s": sum(times) / len(times),
        "throughput_mb_s": total / last / 1e6,
        "transfer_s_max": max(transfer),
        "transfer_mb_s_mean": sum(size / t for t in transfer) / len(transfer) / 1e6,
        "server_cpu_s": cpu,
        "server_cpu_pct": 100.0 * cpu / last,
        "server_sent_mb": written / 1e6,
        "received_mb": total / 1e6,
        "server_share_pct": 100.0 * written / total,
    }
    record.update({f"quiet_{k}": v for k, v in quiet.items()})
    record.update({f"busy_{k}": v for k, v in busy.items()})
    return record


def run(args: argparse.Namespace) -> list[Record]:
    short = bool(getattr(args, "short", False))
    size = int((getattr(args, "size_mb", None) or (8 if short else 200)) * 1e6)
    counts = (1,) if short else tuple(getattr(args, "downloaders", None) or (1, 3, 5))
    seconds = 2.0 if short else 8.0
    records = []
    with tempfile.TemporaryDirectory(prefix="voip-bench-share-") as tmp:
        for n in counts:
            records.append(measure(Path(tmp), size, n, seconds))
    return records


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--size-mb", type=float, default=None, help="file size (200; short: 8)")
    parser.add_argument("--downloaders", type=int, nargs="+", default=None,
                        help="downloader counts (1 3 5)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    options(parser)
    parser.add_argument("--short", action="store_true")
    for record in run(parser.parse_args(argv)):
        print(json.dumps(record))


if __name__ == "__main__":
    main()


__all__: list[Any] = ["measure", "run"]
