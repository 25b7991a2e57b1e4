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
            "voip.client.bot",
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
