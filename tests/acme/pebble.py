"""Start Let's Encrypt's test CA (pebble + pebble-challtestsrv) on loopback.

Shared by tests/acme/conftest.py (loaded by path) and usable by hand:
``python tests/acme/pebble.py`` prints the directory URL and waits (see
tools/pebble-up.sh).

pebble-challtestsrv is only the DNS server here: it answers every name with
127.0.0.1, so pebble's validation authority connects to our own HTTP-01 /
TLS-ALPN-01 responders on the ports written into pebble's config.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import runpy
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import requests

# tests/ is not a package (and this file also runs by hand): shared helpers by path.
pki = SimpleNamespace(
    **runpy.run_path(str(Path(__file__).resolve().parents[1] / "support" / "pki.py"))
)


def free_port(kind: int = socket.SOCK_STREAM, also_udp: bool = False) -> int:
    """A port free on 127.0.0.1 for TCP (and UDP if asked); racy, but fine for tests."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            port: int = s.getsockname()[1]
        if not also_udp:
            return port
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                u.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port found")


def make_tls_files(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a localhost/127.0.0.1 certificate for pebble's own HTTPS."""
    now = dt.datetime.now(dt.UTC)
    ca, leaf, key = pki.make_ca_and_leaf(
        "voip test pebble TLS CA",
        now - dt.timedelta(days=1),
        now + dt.timedelta(days=30),
        ca_path_length=0,
        key_ids=True,
        server_auth=True,
    )
    ca_file, cert_file, key_file = (
        directory / "pebble-tls-ca.pem",
        directory / "pebble-tls-cert.pem",
        directory / "pebble-tls-key.pem",
    )
    ca_file.write_bytes(pki.cert_pem(ca))
    cert_file.write_bytes(pki.cert_pem(leaf))
    key_file.write_bytes(pki.key_pem(key))
    key_file.chmod(0o600)
    return ca_file, cert_file, key_file


@dataclass
class Pebble:
    """A running pebble; ``tls_ca`` verifies its HTTPS, ``issuing_root_pem`` its certificates."""

    workdir: Path
    directory_url: str
    management_url: str
    tls_ca: Path
    http_port: int
    tls_port: int
    dns_port: int
    issuing_root_pem: bytes = b""
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def stop(self) -> None:
        for proc in reversed(self.processes):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self.processes):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        self.processes.clear()

    def log_text(self) -> str:
        parts = []
        for name in ("pebble.log", "challtestsrv.log"):
            path = self.workdir / name
            if path.exists():
                parts.append(f"--- {name} ---\n" + path.read_text(errors="replace")[-20000:])
        return "\n".join(parts)


def binaries_available() -> bool:
    return bool(shutil.which("pebble") and shutil.which("pebble-challtestsrv"))


def start_pebble(
    workdir: Path, *, timeout: float = 30.0, validity_seconds: int | None = None
) -> Pebble:
    """Start challtestsrv (DNS only) and pebble in ``workdir``; return once both answer.

    ``validity_seconds``: how long the certificates pebble issues last (its
    ``certificateValidityPeriod``); None keeps pebble's default of five years.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    tls_ca, cert_file, key_file = make_tls_files(workdir)
    dns_port = free_port(also_udp=True)
    chall_mgmt = free_port()
    acme_port, mgmt_port = free_port(), free_port()
    http_port, tls_port = free_port(), free_port()
    config = {
        "pebble": {
            "listenAddress": f"127.0.0.1:{acme_port}",
            "managementListenAddress": f"127.0.0.1:{mgmt_port}",
            "certificate": str(cert_file),
            "privateKey": str(key_file),
            "httpPort": http_port,
            "tlsPort": tls_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": False,
        }
    }
    if validity_seconds is not None:
        config["pebble"]["certificateValidityPeriod"] = validity_seconds
    config_file = workdir / "pebble-config.json"
    config_file.write_text(json.dumps(config, indent=2))
    pebble = Pebble(
        workdir=workdir,
        directory_url=f"https://127.0.0.1:{acme_port}/dir",
        management_url=f"https://127.0.0.1:{mgmt_port}",
        tls_ca=tls_ca,
        http_port=http_port,
        tls_port=tls_port,
        dns_port=dns_port,
    )
    env = dict(os.environ)
    env.update(
        PEBBLE_VA_NOSLEEP="1",
        PEBBLE_VA_ALWAYS_VALID="0",
        # Deterministic tests: no random bad-nonce rejections, no authz reuse.
        PEBBLE_WFE_NONCEREJECT="0",
        PEBBLE_AUTHZREUSE="0",
    )
    try:
        chall_log = (workdir / "challtestsrv.log").open("wb")
        pebble.processes.append(
            subprocess.Popen(
                [
                    "pebble-challtestsrv",
                    "-defaultIPv4",
                    "127.0.0.1",
                    "-defaultIPv6",
                    "",
                    "-dns01",
                    f"127.0.0.1:{dns_port}",
                    "-http01",
                    "",
                    "-https01",
                    "",
                    "-tlsalpn01",
                    "",
                    "-management",
                    f"127.0.0.1:{chall_mgmt}",
                ],
                stdout=chall_log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        )
        pebble_log = (workdir / "pebble.log").open("wb")
        pebble.processes.append(
            subprocess.Popen(
                [
                    "pebble",
                    "-config",
                    str(config_file),
                    "-dnsserver",
                    f"127.0.0.1:{dns_port}",
                    "-strict=false",
                ],
                stdout=pebble_log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=workdir,
            )
        )
        deadline = time.monotonic() + timeout
        _wait_http(f"http://127.0.0.1:{chall_mgmt}/", None, deadline, pebble, any_status=True)
        _wait_http(pebble.directory_url, tls_ca, deadline, pebble)
        root = _wait_http(f"{pebble.management_url}/roots/0", tls_ca, deadline, pebble)
        pebble.issuing_root_pem = root.content
    except BaseException:
        pebble.stop()
        raise
    return pebble


def _wait_http(
    url: str, ca: Path | None, deadline: float, pebble: Pebble, any_status: bool = False
) -> requests.Response:
    last: Exception | None = None
    while time.monotonic() < deadline:
        for proc in pebble.processes:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{proc.args!r} exited with {proc.returncode}\n{pebble.log_text()}"
                )
        try:
            response = requests.get(url, verify=str(ca) if ca else True, timeout=2)
            if any_status or response.ok:
                return response
            last = RuntimeError(f"{url} answered {response.status_code}")
        except requests.RequestException as exc:
            last = exc
        time.sleep(0.05)
    raise RuntimeError(f"pebble did not answer {url} in time: {last}\n{pebble.log_text()}")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    import signal
    import sys
    import tempfile

    signal.signal(signal.SIGTERM, _interrupt)

    work = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="pebble-"))
    running = start_pebble(work)
    (work / "pebble-root.pem").write_bytes(running.issuing_root_pem)
    print(
        json.dumps(
            {
                "directory_url": running.directory_url,
                "tls_ca": str(running.tls_ca),
                "issuing_root": str(work / "pebble-root.pem"),
                "http_port": running.http_port,
                "tls_port": running.tls_port,
                "dns_port": running.dns_port,
                "workdir": str(work),
            },
            indent=2,
        ),
        flush=True,
    )
    try:
        while all(p.poll() is None for p in running.processes):
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()
