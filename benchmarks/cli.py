"""``voip-bench``: run one benchmark or all of them.

Each sub-command prints one JSON object per result line, then a readable
table (``--json`` prints the JSON lines alone). ``--short`` is the CI mode:
seconds, not minutes, and numbers that are indicative only. ``all`` also
writes ``<out>/<name>.json`` and ``<out>/<name>.png`` per benchmark.
Benchmarks never fail on a timing; they exit non-zero only when they could
not run.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.report import Record, Unavailable, emit, save

RESULTS_DIR = Path(__file__).resolve().parent / "results"
BENCHMARKS = (
    "jitter", "mix", "quality", "resample", "dsp", "acl", "relay_path", "relay", "e2e", "gui",
    "soak", "share",
)

Runner = Callable[[argparse.Namespace], list[Record]]


def _runner(name: str) -> Runner:
    module = importlib.import_module(f"benchmarks.{name}")
    run: Runner = module.run
    return run


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--short", action="store_true", help="CI mode: seconds, not minutes")
    parser.add_argument("--json", action="store_true", help="print JSON lines only, no table")
    parser.add_argument("--out", type=Path, default=None,
                        help="also write <out>/<name>.json and a PNG plot there")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voip-bench", description="voip benchmarks (numbers, never pass/fail on timing)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _common(sub.add_parser("jitter", help="jitter buffer cost, delay and losses under traces"))
    _common(sub.add_parser("mix", help="decode+mix cost for 1..32 talkers per 20 ms frame"))
    quality = sub.add_parser("quality", help="PESQ-WB of speech through loss, FEC and PLC")
    _common(quality)
    quality.add_argument("--wav", type=Path, default=None,
                         help="speech WAV to use instead of espeak-ng's")
    dsp = sub.add_parser("dsp", help="noise suppression, gain, echo: PESQ-WB, STOI, ERLE, CPU")
    _common(dsp)
    dsp.add_argument("--voices", type=int, default=None,
                     help="use the first N of the five voices (default all)")
    dsp.add_argument("--snr", type=int, action="append", default=None,
                     help="an SNR in dB to test (repeatable; default 0, 5, 10, 20)")
    _common(sub.add_parser("resample", help="resampling cost and quality (libsoxr, scipy)"))
    _common(sub.add_parser("acl", help="server core: permission checks and ACL changes at scale"))
    _common(sub.add_parser("relay_path", help="the relay's own code per datagram, no QUIC"))
    relay = sub.add_parser("relay", help="server CPU per relayed datagram, real QUIC clients")
    _common(relay)
    _relay_options(relay)
    e2e = sub.add_parser("e2e", help="mouth-to-ear latency bot to bot through a real server")
    _common(e2e)
    e2e.add_argument("--seconds", type=float, default=None, help="talk time per case")
    gui = sub.add_parser("gui", help="CPU of the desktop client: idle, talking room, typing")
    _common(gui)
    gui.add_argument("--chat-field-from-bottom", type=int, default=None, metavar="PX",
                     help="click this many pixels above the window's bottom edge for the "
                          "chat field instead of pressing Ctrl+L (for an older layout)")
    soak = sub.add_parser("soak", help="many clients for minutes: churn, talkers, attackers")
    _common(soak)
    soak.add_argument("--clients", type=int, default=None,
                      help="well-behaved clients (default 200; short 24)")
    soak.add_argument("--talkers", type=int, default=None,
                      help="stable clients sending voice, one per room (default 5; short 2)")
    soak.add_argument("--seconds", type=float, default=None,
                      help="length of the run (default 600; short 6; in `all` 120)")
    soak.add_argument("--hostile", type=int, default=None,
                      help="attacking clients cycling through the attacks (default 9)")
    soak.add_argument("--churn-share", type=float, default=None,
                      help="share of the clients that keep leaving and coming back (0.25)")
    share = sub.add_parser(
        "share", help="one file to 1, 3, 5 downloaders: throughput, server CPU and bytes, voice"
    )
    _common(share)
    share.add_argument("--size-mb", type=float, default=None, help="file size (200; short 8)")
    share.add_argument("--downloaders", type=int, nargs="+", default=None,
                       help="downloader counts, one case each (1 3 5)")
    every = sub.add_parser("all", help="every benchmark; writes JSON and PNG per benchmark")
    _common(every)
    every.add_argument("--skip", action="append", default=[], choices=BENCHMARKS,
                       help="leave a benchmark out (repeatable)")
    every.set_defaults(wav=None, seconds=None)
    _relay_options(every, for_all=True)
    return parser


def _relay_options(parser: argparse.ArgumentParser, for_all: bool = False) -> None:
    parser.add_argument("--clients", type=int, default=None,
                        help="QUIC clients in the room (default 100; short 20)")
    parser.add_argument("--talkers", type=int, default=None,
                        help="clients sending voice (default 5; short 2)")
    if not for_all:
        parser.add_argument("--seconds", type=float, default=None,
                            help="measurement window (default 20; short 3)")
    parser.add_argument("--client-procs", type=int, default=None,
                        help="client processes the clients are spread over (default 1)")
    parser.add_argument("--client-ack-delay-ms", type=float, default=None,
                        help="load clients' QUIC ACK delay (default: aioquic's 1 ms, as the "
                             "real client)")
    parser.add_argument("--flush-ms", type=float, default=None,
                        help="server flush_interval_ms (config file); default: the server's")
    if not for_all:
        parser.add_argument("--profile", type=Path, default=None,
                            help="py-spy the server during the window; raw stacks to this file")


def _run_one(name: str, args: argparse.Namespace) -> list[Record]:
    started = time.monotonic()
    records = _runner(name)(args)
    logging.getLogger("benchmarks").info("%s took %.1f s", name, time.monotonic() - started)
    return records


def _finish(name: str, records: list[Record], args: argparse.Namespace) -> None:
    emit(name, records, json_only=args.json)
    if args.out is not None:
        save(args.out, name, records, short=args.short)
        from benchmarks import plots

        plots.plot(name, records, args.out)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr,
    )
    if args.command != "all":
        try:
            records = _run_one(args.command, args)
        except Unavailable as exc:
            print(f"voip-bench: {args.command} cannot run here: {exc}", file=sys.stderr)
            return 2
        _finish(args.command, records, args)
        return 0
    if args.out is None:
        args.out = RESULTS_DIR
    failed = []
    for name in BENCHMARKS:
        if name in args.skip:
            continue
        try:
            records = _run_one(name, args)
        except Unavailable as exc:
            print(f"voip-bench: {name} skipped: {exc}", file=sys.stderr)
            continue
        except Exception as exc:  # one broken benchmark must not hide the others
            logging.getLogger("benchmarks").exception("benchmark %s failed", name)
            print(f"voip-bench: {name} could not run: {exc}", file=sys.stderr)
            failed.append(name)
            continue
        _finish(name, records, args)
    if failed:
        print(f"voip-bench: failed to run: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
