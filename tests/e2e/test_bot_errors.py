"""`voip-bot` failures: exit codes and sentences, against a real server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


def run_bot(server: Any, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "voip.bot",
            "--server",
            f"127.0.0.1:{server.port}",
            "--config-dir",
            str(tmp_path / "bot"),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (("--name", "bot"), 4, "--accept-new-certificate"),
        (("--name", "bot", "--trust-fingerprint", "SHA256:00:11"), 4, "not the SHA256:00:11"),
        (("--name", "bot", "--accept-new-certificate", "--room", "999"), 5, "no room with id 999"),
        (("--name", "", "--accept-new-certificate"), 3, "display name refused"),
        (("--name", "bot", "--play", "/nonexistent/voice.wav"), 6, "cannot read audio file"),
    ],
)
def test_failures_have_an_exit_code_and_a_sentence(
    server: Any, tmp_path: Path, args: tuple[str, ...], code: int, words: str
) -> None:
    result = run_bot(server, tmp_path, *args)
    assert result.returncode == code, result.stderr
    assert words in result.stderr
    assert "Traceback" not in result.stderr


def test_a_room_name_is_created_when_missing_and_the_fingerprint_can_be_given(
    server: Any, tmp_path: Path
) -> None:
    fingerprint = "SHA256:" + ":".join(f"{b:02X}" for b in server.fingerprint)
    result = run_bot(
        server,
        tmp_path,
        "--name",
        "bot",
        "--trust-fingerprint",
        fingerprint.lower(),
        "--room",
        "Bots only",
        "--seconds",
        "0.2",
    )
    assert result.returncode == 0, result.stderr
    assert "creating it" in result.stdout
    assert "in room 'Bots only'" in result.stdout


def test_a_closed_stdout_stops_the_bot_quietly(server: Any, tmp_path: Path) -> None:
    """`voip-bot ... | head -1`: the reader leaves after one line; no BrokenPipeError traceback.

    The bot would listen for 120 s; it stops as on Ctrl-C once its output is gone.
    """
    bot = subprocess.Popen(
        [
            sys.executable, "-m", "voip.bot",
            "--server", f"127.0.0.1:{server.port}",
            "--config-dir", str(tmp_path / "bot"),
            "--name", "bot", "--accept-new-certificate", "--seconds", "120",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert bot.stdout is not None and bot.stderr is not None
    first = bot.stdout.readline()
    assert first.startswith("voip-bot: trusting the new certificate")
    bot.stdout.close()  # what head does after its line
    try:
        code = bot.wait(timeout=60)
    finally:
        if bot.poll() is None:
            bot.kill()
    stderr = bot.stderr.read()
    assert code == 0, stderr
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr


@pytest.mark.parametrize("fault", ["name mismatch", "expired", "unknown CA"])
def test_the_bot_says_why_a_certificate_fails(tmp_path: Path, fault: str) -> None:
    """Real certificates with each fault, served by a real server; exit 4 and the reason."""
    import datetime as dt
    import runpy

    from voip.server.app import ServerOptions, start_server
    from voip.server.certs import bundle_from_pem

    pki = runpy.run_path(str(Path(__file__).resolve().parents[1] / "support" / "pki.py"))
    now = dt.datetime.now(dt.UTC)
    hour = dt.timedelta(hours=1)
    valid = (now - 50 * hour, now - 2 * hour) if fault == "expired" else (now - hour, now + hour)
    ca, leaf, key = pki["make_ca_and_leaf"]("Example Company CA", *valid)
    (tmp_path / "ca.pem").write_bytes(pki["cert_pem"](ca))
    bundle = bundle_from_pem(pki["cert_pem"](leaf), pki["key_pem"](key), "files")
    host = "127.0.0.2" if fault == "name mismatch" else "127.0.0.1"  # the certificate: 127.0.0.1
    ca_args = () if fault == "unknown CA" else ("--ca-file", str(tmp_path / "ca.pem"))
    with start_server(
        ServerOptions(data_dir=tmp_path / "server", bundle=bundle, host=host, port=0)
    ) as server:
        result = subprocess.run(
            [
                sys.executable, "-m", "voip.bot",
                "--server", f"{host}:{server.port}",
                "--config-dir", str(tmp_path / "bot"),
                "--name", "bot", *ca_args,
            ],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode == 4, result.stderr
    assert "Traceback" not in result.stderr
    words = {
        "name mismatch": "the certificate is for localhost, 127.0.0.1, not 127.0.0.2",
        "expired": "the certificate expired on " + (now - 2 * hour).strftime("%Y-%m-%d %H:%M"),
        "unknown CA": "issued by an authority (Example Company CA) this client does not trust",
    }[fault]
    assert words in result.stderr, result.stderr
    offers_pinning = "--accept-new-certificate" in result.stderr
    assert offers_pinning == (fault == "unknown CA"), result.stderr


def test_the_admin_token_makes_the_bot_admin_once(server: Any, tmp_path: Path) -> None:
    token = server.admin_token
    assert token, "a fresh server has a first-admin token"
    first = run_bot(
        server,
        tmp_path,
        "--name",
        "boss",
        "--accept-new-certificate",
        "--redeem-admin-token",
        token,
        "--room",
        "Office",
        "--seconds",
        "0.2",
    )
    assert first.returncode == 0, first.stderr
    assert "is now an admin" in first.stdout
    again = subprocess.run(
        [
            sys.executable,
            "-m",
            "voip.bot",
            "--server",
            f"127.0.0.1:{server.port}",
            "--config-dir",
            str(tmp_path / "other"),
            "--name",
            "late",
            "--accept-new-certificate",
            "--redeem-admin-token",
            token,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 7, again.stderr
    assert "already used" in again.stderr and "Traceback" not in again.stderr
