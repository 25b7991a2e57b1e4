"""``voip-server``: run a server until SIGINT/SIGTERM.

Usage errors and start-up failures (database in use, bad certificate, port
taken) are printed as one clear line and exit non-zero; a signal stops the
server cleanly (goodbye to clients, database closed) and exits 0.
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

from voip.errors import CertificateError, ConfigError, StorageError
from voip.server.app import ServerOptions, start_server
from voip.server.certs.acme_settings import CHALLENGES
from voip.server.config import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    ServerConfig,
    build_config,
    load_config_file,
    parse_listen,
)
from voip.server.history import HistorySettings
from voip.server.sharing import SharingSettings

logger = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="voip-server",
        description="Run a voip voice chat server (QUIC, ALPN voip/1). "
        "'voip-server admin --help': grant or revoke admin offline.",
    )
    p.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help=f"address to listen on (default {DEFAULT_HOST}:{DEFAULT_PORT}; "
        "[::]:PORT for IPv6; port 0 picks a free one)",
    )
    p.add_argument("--data-dir", type=Path, help="database and generated certificate directory")
    p.add_argument("--password", help="server password (default: none, anyone may join)")
    p.add_argument("--cert", type=Path, help="PEM certificate chain, leaf first")
    p.add_argument("--key", type=Path, help="PEM private key for --cert")
    p.add_argument("--config", type=Path, help="TOML config file; flags override it")
    p.add_argument("--name", help="server name, shown to clients (also the root room's name)")
    p.add_argument("--log-level", help="DEBUG, INFO (default), WARNING, ERROR")
    web = p.add_argument_group("browsers (docs/WEB.md)")
    web.add_argument(
        "--web-listen",
        metavar="HOST:PORT",
        help="serve the browser client here (HTTPS with the server's certificate; "
        "plain HTTP on a loopback address, for development)",
    )
    web.add_argument(
        "--public-address",
        metavar="HOST:PORT",
        help="the server's address as browsers reach it, written in join links "
        "(default: the listen address)",
    )
    web.add_argument(
        "--no-web", action="store_true", help="do not accept browsers (HTTP/3) on the QUIC port"
    )
    hist = p.add_argument_group("room history", "each room's chat, kept in the database")
    hist.add_argument(
        "--history-lines", type=int, metavar="N", help="lines kept per room (500; 0: none)"
    )
    hist.add_argument(
        "--history-bytes", type=int, metavar="BYTES", help="text kept per room (524288)"
    )
    hist.add_argument(
        "--history-days", type=float, metavar="DAYS", help="drop older lines (30; 0: never)"
    )
    hist.add_argument(
        "--history-on-entry",
        type=int,
        metavar="N",
        help="lines sent to a member entering a room (50)",
    )
    p.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="serve Prometheus metrics on http://127.0.0.1:PORT/metrics (default: off)",
    )
    acme = p.add_argument_group(
        "ACME certificates (docs/ACME.md)",
        "get and renew a certificate clients trust without pinning; "
        "--acme-domain and --acme-email go together",
    )
    acme.add_argument("--acme-domain", metavar="DOMAIN", help="public DNS name of this server")
    acme.add_argument("--acme-email", metavar="EMAIL", help="contact for the CA account")
    acme.add_argument(
        "--acme-directory",
        metavar="URL",
        help="ACME directory of the CA (default: Let's Encrypt production)",
    )
    acme.add_argument(
        "--acme-challenge",
        choices=CHALLENGES,
        help="how to prove control of the domain (default http-01)",
    )
    acme.add_argument(
        "--acme-http-port", type=int, metavar="PORT", help="TCP port of the HTTP-01 responder (80)"
    )
    acme.add_argument(
        "--acme-tls-port",
        type=int,
        metavar="PORT",
        help="TCP port of the TLS-ALPN-01 responder (443)",
    )
    acme.add_argument(
        "--acme-ca-bundle",
        type=Path,
        metavar="FILE",
        help="PEM roots to trust for the CA's own HTTPS (private or test CAs)",
    )
    acme.add_argument(
        "--acme-renew-before",
        metavar="DURATION",
        help="renew at the latest this long before expiry, e.g. 30d (default), 12h, 90s; "
        "renewal comes earlier at two thirds of the certificate's lifetime",
    )
    acme.add_argument(
        "--acme-check-interval",
        metavar="DURATION",
        help="longest sleep while the certificate is not due (default 12h)",
    )
    _add_sharing_flags(p)
    return p


def _add_sharing_flags(p: argparse.ArgumentParser) -> None:
    share = p.add_argument_group("file sharing (docs/SHARING.md)")
    share.add_argument(
        "--share-max-bytes", type=int, metavar="BYTES", help="largest shared file (1 GiB; 0: off)"
    )
    share.add_argument(
        "--share-days", type=float, metavar="DAYS", help="forget shares after (7; 0: never)"
    )
    share.add_argument(
        "--no-seed",
        dest="seed",
        action="store_const",
        const=False,
        help="do not keep and seed copies of shared files",
    )
    share.add_argument(
        "--seed-store-bytes", type=int, metavar="BYTES", help="seed store size in all (8 GiB)"
    )
    share.add_argument(
        "--announce-interval",
        dest="announce_interval_s",
        type=int,
        metavar="SECONDS",
        help="how often clients announce again (10)",
    )


def options_from_config(config: ServerConfig) -> ServerOptions:
    return ServerOptions(
        data_dir=config.resolved_data_dir,
        certificates=config.certificate_settings(),
        host=config.host,
        port=config.port,
        name=config.name,
        password=config.password or "",
        motd=config.motd,
        history=HistorySettings(
            lines=config.history_lines,
            max_bytes=config.history_bytes,
            days=config.history_days,
            sent_on_entry=config.history_on_entry,
        ),
        sharing=SharingSettings(
            max_file_bytes=config.share_max_bytes,
            days=config.share_days,
            seed=config.seed,
            seed_store_bytes=config.seed_store_bytes,
            announce_interval_s=config.announce_interval_s,
        ),
        flush_interval=config.flush_interval_ms / 1000,
        ack_delay=None if config.ack_delay_ms is None else config.ack_delay_ms / 1000,
        web=config.web,
        web_page=parse_listen(config.web_listen) if config.web_listen is not None else None,
        public_address=(
            parse_listen(config.public_address) if config.public_address is not None else None
        ),
        limits=config.limits,
        metrics_port=config.metrics_port,
        metrics_host=config.metrics_host,
    )


def load_config(args: argparse.Namespace) -> ServerConfig:
    file_values = load_config_file(args.config) if args.config else {}
    overrides: dict[str, object] = {
        "data_dir": args.data_dir,
        "password": args.password,
        "cert": args.cert,
        "key": args.key,
        "name": args.name,
        "log_level": args.log_level,
        "history_lines": args.history_lines,
        "history_bytes": args.history_bytes,
        "history_days": args.history_days,
        "history_on_entry": args.history_on_entry,
        "metrics_port": args.metrics_port,
        "share_max_bytes": args.share_max_bytes,
        "share_days": args.share_days,
        "seed": args.seed,
        "seed_store_bytes": args.seed_store_bytes,
        "announce_interval_s": args.announce_interval_s,
        "acme_domain": args.acme_domain,
        "acme_email": args.acme_email,
        "acme_directory": args.acme_directory,
        "acme_challenge": args.acme_challenge,
        "acme_http_port": args.acme_http_port,
        "acme_tls_port": args.acme_tls_port,
        "acme_ca_bundle": args.acme_ca_bundle,
        "acme_renew_before": args.acme_renew_before,
        "acme_check_interval": args.acme_check_interval,
        "web_listen": args.web_listen,
        "public_address": args.public_address,
        "web": False if args.no_web else None,
    }
    if args.listen is not None:
        overrides["host"], overrides["port"] = parse_listen(args.listen)
    return build_config(file_values, overrides)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["admin"]:
        from voip.server.admin_cli import main as admin_main

        return admin_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = load_config(args)
    except ConfigError as exc:
        parser.error(str(exc))  # exits 2
    logging.basicConfig(
        level=config.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if config.password is None:
        logger.warning("no server password is set: anyone who can reach this server may join")

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        logger.info("received %s; shutting down", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    try:
        config.resolved_data_dir.mkdir(parents=True, exist_ok=True)
        server = start_server(options_from_config(config))
    except (StorageError, CertificateError, ConfigError, OSError) as exc:
        print(f"voip-server: error: {exc}", file=sys.stderr)
        return 1
    try:
        if server.web is not None:
            print(f"browsers join with this link: {server.web.join_link()}", flush=True)
        while not stop.wait(1.0):
            pass
    finally:
        server.stop()  # ACME first, then the network, then the database
    return 0
