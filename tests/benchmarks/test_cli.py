"""voip-bench runs each sub-command and prints well-formed JSON (behaviour, never speed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

EXPECTED = {
    "jitter": {"benchmark", "kind", "case"},
    "mix": {"benchmark", "kind"},
    "quality": {"benchmark", "kind"},
    "relay": {"benchmark", "kind", "clients", "talkers", "cpu_us_per_relayed", "relayed_per_s",
              "loss_pct", "delay_ms_p50", "delay_ms_p99", "server_cpu_s"},
    "e2e": {"benchmark", "kind", "case", "latency_ms_p50", "latency_ms_p99", "clicks_heard"},
    "dsp": {"benchmark", "kind"},
    "resample": {"benchmark", "kind", "impl", "rate_in", "rate_out", "ms_per_s", "sine_err_db"},
    "gui": {"benchmark", "kind", "case", "cpu_pct", "seconds", "loadavg_1m"},
    "acl": {"benchmark", "kind", "case", "rooms", "sessions", "cpu_us"},
    "relay_path": {"benchmark", "kind", "case", "members", "ns_per_datagram"},
}
BY_KIND = {
    ("jitter", "cost"): {"us_per_packet", "packets"},
    ("jitter", "trace"): {"buffer_ms_p50", "buffer_ms_p99", "late", "fec", "plc", "net_lost",
                          "gap_frames"},
    ("mix", "cost"): {"talkers", "decode_us", "mix_us", "total_us"},
    ("mix", "fit"): {"per_talker_us", "fixed_us"},
    ("quality", "pesq"): {"loss_model", "loss_pct", "variant", "pesq_wb"},
    ("quality", "codec"): {"bitrate", "fec", "pesq_wb"},
    ("quality", "voices"): {"voice", "level", "loss_model", "loss_pct", "pesq_wb", "adaptive"},
    ("dsp", "ns"): {"candidate", "voice", "noise", "snr_db", "pesq_wb", "pesq_gain", "stoi"},
    ("dsp", "ns_cost"): {"candidate", "cpu_ms_per_frame", "delay_ms"},
    ("dsp", "agc"): {"input_dbfs", "output_dbfs"},
    ("dsp", "echo"): {"talk", "erle_db", "converge_s", "erle_db_after_2s", "cpu_ms_per_frame"},
}


def run_bench(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks.cli", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout,
    )


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_subcommand_prints_json_records(name: str) -> None:
    result = run_bench(name, "--short", "--json")
    if result.returncode == 2 and "cannot run here" in result.stderr:
        pytest.skip(result.stderr.strip())
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert lines, "no output"
    records = [json.loads(line) for line in lines]  # --json: every line is one JSON object
    for record in records:
        assert record["benchmark"] == name
        missing = EXPECTED[name] - record.keys()
        missing |= BY_KIND.get((name, record["kind"]), set()) - record.keys()
        assert not missing, f"{record} lacks {missing}"
    if name == "mix":
        assert sorted(r["talkers"] for r in records if r["kind"] == "cost") == [1, 2, 4, 8, 16, 32]
    if name == "quality":
        cases = {(r["loss_model"], r["loss_pct"]) for r in records if r["kind"] == "pesq"}
        assert {("random", 10), ("bursty", 20), ("none", 0)} <= cases
        variants = {r["variant"] for r in records if r["kind"] == "pesq"}
        assert {"fec+plc", "plc", "fec+silence", "silence"} <= variants
    if name == "dsp":
        kinds = {r["kind"] for r in records}
        assert kinds == {"ns", "ns_cost", "agc", "echo"}
        candidates = {r["candidate"] for r in records if r["kind"] == "ns_cost"}
        assert {"off", "rnnoise", "speex", "chain"} <= candidates
    if name == "resample":
        pairs = {(r["rate_in"], r["rate_out"]) for r in records if r["impl"] == "pipeline"}
        assert {(16_000, 48_000), (44_100, 48_000), (48_000, 16_000)} <= pairs
    if name == "relay":
        (record,) = records
        assert record["relayed"] > 0 and record["server_cpu_s"] > 0
    if name == "e2e":
        assert {r["jitter_ms"] for r in records} >= {0.0}
        assert all(r["clicks_heard"] > 0 for r in records)
    if name == "gui":
        by_case = {r["case"]: r for r in records}
        assert set(by_case) == {"idle", "talking", "typing", "hidden"}
        assert by_case["typing"]["typed_ok"] is True, "typed keys did not reach the chat"
        assert all(r["cpu_pct"] > 0 for r in records)


def test_table_mode_prints_json_then_a_table() -> None:
    result = run_bench("jitter", "--short")
    assert result.returncode == 0, result.stderr
    assert "== jitter (cost)" in result.stdout
    first = result.stdout.splitlines()[0]
    assert json.loads(first)["benchmark"] == "jitter"


def test_trace_files_load(tmp_path: Path) -> None:
    from benchmarks import traces

    shipped = traces.shipped()
    assert len(shipped) >= 2
    for path in shipped:
        trace = traces.load(path)
        assert len(trace) > 100
    copy = tmp_path / "t.csv"
    traces.save(traces.load(shipped[0]), copy)
    assert len(traces.load(copy)) == len(traces.load(shipped[0]))
