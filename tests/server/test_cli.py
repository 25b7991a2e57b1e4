"""`voip-server` as a real subprocess, and its config handling."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from voip_tests_server_client import Client
from voip_tests_server_process import FINGERPRINT, LISTENING, PYTHON, ServerProcess

from voip.errors import ConfigError
from voip.proto import voip_pb2
from voip.server.config import build_config, load_config_file, parse_listen


@pytest.fixture
def spawn() -> Iterator[type[ServerProcess]]:
    started: list[ServerProcess] = []

    class Tracked(ServerProcess):
        def __init__(self, *args: str) -> None:
            super().__init__(*args)
            started.append(self)

    yield Tracked
    for p in started:
        p.kill()


def test_sigterm_says_goodbye_and_exits_0(tmp_path: Path, spawn: type[ServerProcess]) -> None:
    server = spawn("--listen", "127.0.0.1:0", "--data-dir", str(tmp_path), "--name", "Test")
    port = int(server.wait_line(LISTENING).group(2))
    fingerprint = server.wait_line(FINGERPRINT).group(1)

    async def scenario() -> None:
        client = await Client.join(port, name="a")
        assert fingerprint.replace("SHA256:", "").replace(":", "").lower() == (
            client.fingerprint.hex()
        )
        server.proc.send_signal(signal.SIGTERM)
        bye = await client.wait_envelope("goodbye")
        assert bye.goodbye.code == voip_pb2.SERVER_SHUTDOWN
        await client.wait_closed()
        await client.close()

    asyncio.run(scenario())
    assert server.proc.wait(timeout=30) == 0


def test_second_server_on_the_same_data_dir_fails_clearly(
    tmp_path: Path, spawn: type[ServerProcess]
) -> None:
    first = spawn("--listen", "127.0.0.1:0", "--data-dir", str(tmp_path))
    first.wait_line(LISTENING)
    second = spawn("--listen", "127.0.0.1:0", "--data-dir", str(tmp_path))
    assert second.proc.wait(timeout=30) == 1
    second.wait_line(re.compile(r"voip-server: error: .*another voip-server"))
    first.proc.send_signal(signal.SIGINT)
    assert first.proc.wait(timeout=30) == 0


def test_bad_flags_are_usage_errors(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(PYTHON), "-m", "voip.server", "--listen", "nonsense", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "HOST:PORT" in result.stderr


def test_config_file_then_flags(tmp_path: Path) -> None:
    path = tmp_path / "server.toml"
    path.write_text(
        'listen = "[::1]:9000"\nname = "From file"\npassword = "pw"\n'
        'data_dir = "data"\nflush_interval_ms = 5\n'
    )
    config = build_config(load_config_file(path), {"name": "From flag", "password": None})
    assert (config.host, config.port) == ("::1", 9000)
    assert config.name == "From flag"
    assert config.password == "pw"
    assert config.data_dir == tmp_path / "data"
    assert config.flush_interval_ms == 5


def test_acme_settings_from_the_config_file_and_flags(tmp_path: Path) -> None:
    (tmp_path / "roots.pem").write_text("placeholder")
    path = tmp_path / "server.toml"
    path.write_text(
        'acme_domain = "voice.example.org"\nacme_email = "ops@example.org"\n'
        'acme_challenge = "tls-alpn-01"\nacme_tls_port = 8443\nacme_ca_bundle = "roots.pem"\n'
    )
    config = build_config(load_config_file(path), {"acme_directory": "https://ca.test/dir"})
    settings = config.acme_settings()
    assert settings is not None
    assert (settings.domain, settings.email) == ("voice.example.org", "ops@example.org")
    assert (settings.challenge, settings.tls_alpn_port) == ("tls-alpn-01", 8443)
    assert settings.ca_bundle == tmp_path / "roots.pem"
    assert settings.directory_url == "https://ca.test/dir"
    assert settings.renew_before == dt.timedelta(days=30)  # defaults
    assert settings.check_interval == dt.timedelta(hours=12)
    assert build_config({}, {}).acme_settings() is None


def test_acme_renewal_timing_from_the_config_file_and_flags(tmp_path: Path) -> None:
    path = tmp_path / "server.toml"
    path.write_text(
        'acme_domain = "voice.example.org"\nacme_email = "ops@example.org"\n'
        'acme_renew_before = "2d"\nacme_check_interval = 600\n'
    )
    from_file = build_config(load_config_file(path), {}).acme_settings()
    assert from_file is not None
    assert from_file.renew_before == dt.timedelta(days=2)
    assert from_file.check_interval == dt.timedelta(minutes=10)
    flags = {"acme_renew_before": "6h", "acme_check_interval": "90s"}
    from_flags = build_config(load_config_file(path), flags).acme_settings()
    assert from_flags is not None
    assert from_flags.renew_before == dt.timedelta(hours=6)
    assert from_flags.check_interval == dt.timedelta(seconds=90)


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"acme_domain": "voice.example.org"}, "--acme-domain needs --acme-email"),
        ({"acme_email": "ops@example.org"}, "--acme-email needs --acme-domain"),
        ({"acme_http_port": 8080}, "only makes sense with --acme-domain"),
        (
            {
                "acme_domain": "voice.example.org",
                "acme_email": "ops@example.org",
                "cert": Path("c.pem"),
                "key": Path("k.pem"),
            },
            "give only one",
        ),
    ],
)
def test_acme_config_errors(overrides: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        build_config({}, overrides)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('colour = "blue"\n', "unknown setting 'colour'"),
        ("name = \n", "not valid TOML"),
        ('cert = "a.pem"\n', "both --cert and --key"),
        ("ack_delay_ms = 80\n", "ack_delay_ms"),
    ],
)
def test_config_file_errors(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "server.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        build_config(load_config_file(path), {})


def test_parse_listen() -> None:
    assert parse_listen("0.0.0.0:7731") == ("0.0.0.0", 7731)
    assert parse_listen("[::]:0") == ("::", 0)
    with pytest.raises(ConfigError):
        parse_listen("7731")
