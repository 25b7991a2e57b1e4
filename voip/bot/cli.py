"""`voip-bot`'s command line: options in, a `Bot` run, its exit code out.

See docs/BOT.md for the options, exit codes and examples.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from voip.bot.run import EXIT_CONNECTION, EXIT_FAILURE, Bot, BotOptions
from voip.errors import VoipError


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def _percent(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError("must be a percentage between 0 and 100")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="voip-bot",
        description="A headless voip client: connects, joins a room, plays an audio file as "
        "its voice and/or records what it hears. See docs/BOT.md.",
    )
    p.add_argument("--server", required=True, metavar="HOST:PORT", help="server address")
    p.add_argument("--name", required=True, help="display name")
    p.add_argument("--password", default="", help="server password, if it has one")
    p.add_argument(
        "--room",
        metavar="NAME|ID",
        help="room to join: an id, or a name (created under the root room if missing)",
    )
    p.add_argument(
        "--play",
        type=Path,
        metavar="FILE",
        help="transmit this audio file (WAV, FLAC, Ogg, MP3; any rate)",
    )
    p.add_argument("--record", type=Path, metavar="FILE.wav", help="record what is heard")
    p.add_argument(
        "--seconds",
        type=_positive,
        metavar="N",
        help="stay N seconds after joining (default: until --play is done, else until interrupted)",
    )
    trust = p.add_mutually_exclusive_group()
    trust.add_argument(
        "--trust-fingerprint",
        metavar="SHA256:..",
        help="accept the server's self-signed certificate only if it has this fingerprint",
    )
    trust.add_argument(
        "--accept-new-certificate",
        action="store_true",
        help="trust an unknown certificate on first use (and pin it)",
    )
    p.add_argument("--ca-file", metavar="PEM", help="extra CA bundle to verify the server with")
    p.add_argument(
        "--config-dir",
        type=Path,
        metavar="DIR",
        help="key, settings and pinned certificates (default: <config>/voip/bots/NAME)",
    )
    p.add_argument(
        "--simulate-loss",
        type=_percent,
        default=0.0,
        metavar="PCT",
        help="testing: lose this percentage of arriving voice datagrams (seeded)",
    )
    p.add_argument("--loss-seed", type=int, default=1, metavar="N", help="seed for --simulate-loss")
    p.add_argument(
        "--report",
        type=Path,
        metavar="FILE.json",
        help="write a JSON summary at exit (counters, start times on the monotonic clock)",
    )
    p.add_argument(
        "--reconnect",
        action="store_true",
        help="after a lost connection, try again (1, 2, 4 ... 30 s apart) and rejoin the room, "
        "instead of exiting with code 3",
    )
    p.add_argument(
        "--redeem-admin-token",
        metavar="TOKEN",
        help="after connecting, redeem the first-admin token the server logged "
        "(this bot's key becomes admin; exit 7 if refused)",
    )
    files = p.add_argument_group("file sharing (docs/SHARING.md)")
    files.add_argument(
        "--share", type=Path, action="append", default=[], metavar="FILE",
        help="offer this file in the room and seed it until interrupted (repeatable)",
    )
    files.add_argument(
        "--fetch", action="append", default=[], metavar="NAME|HASH|all",
        help="fetch a file offered in the room, by name or v2 info-hash, or all of them; "
        "without --seconds the bot exits once it has them",
    )
    files.add_argument("--downloads", type=Path, metavar="DIR", help="where fetched files go")
    files.add_argument(
        "--server-only", action="store_true",
        help="fetch from the server's seed alone: other members never learn this address",
    )
    p.add_argument("-v", "--verbose", action="count", default=0, help="more logging on stderr")
    return p


def parse_options(argv: Sequence[str] | None = None) -> tuple[BotOptions, int]:
    args = build_parser().parse_args(argv)
    return (
        BotOptions(
            server=args.server,
            name=args.name,
            password=args.password,
            room=args.room,
            play=args.play,
            record=args.record,
            seconds=args.seconds,
            trust_fingerprint=args.trust_fingerprint,
            accept_new_certificate=args.accept_new_certificate,
            config_dir=args.config_dir,
            ca_file=args.ca_file,
            simulate_loss=args.simulate_loss,
            loss_seed=args.loss_seed,
            report=args.report,
            redeem_admin_token=args.redeem_admin_token,
            reconnect=args.reconnect,
            share=tuple(args.share),
            fetch=tuple(args.fetch),
            downloads=args.downloads,
            server_only=args.server_only,
        ),
        args.verbose,
    )


def main(argv: Sequence[str] | None = None) -> int:
    options, verbose = parse_options(argv)
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    bot = Bot(options)

    def stop(signum: int, frame: FrameType | None) -> None:
        bot.stop_requested.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
    try:
        return bot.run()
    except VoipError as exc:
        print(f"voip-bot: error: {exc}", file=sys.stderr, flush=True)
        return EXIT_FAILURE
    except TimeoutError as exc:
        print(f"voip-bot: error: timed out: {exc}", file=sys.stderr, flush=True)
        return EXIT_CONNECTION


if __name__ == "__main__":
    sys.exit(main())
