"""Stand-in for ``python -m voip.server`` until the server's CLI lands.

Same arguments as the CLI the benchmarks need (``--listen HOST:PORT
--data-dir DIR``), same starter (``start_server``), a self-signed
certificate in the data dir; logs "listening on ..." at start and stops
cleanly on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description="run a voip server (benchmark launcher)")
    parser.add_argument("--listen", default="127.0.0.1:7731")
    parser.add_argument("--data-dir", type=Path, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    from voip.server.app import ServerOptions, start_server
    from voip.server.certs import load_or_create_self_signed

    host, _, port = args.listen.rpartition(":")
    args.data_dir.mkdir(parents=True, exist_ok=True)
    bundle = load_or_create_self_signed(args.data_dir, ["localhost"])
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    with start_server(ServerOptions(data_dir=args.data_dir, bundle=bundle, host=host,
                                    port=int(port))):
        done.wait()


if __name__ == "__main__":
    main()
