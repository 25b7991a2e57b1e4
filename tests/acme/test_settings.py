"""AcmeSettings validation and the back-off schedule (no CA needed)."""

from __future__ import annotations

import datetime as dt

import pytest

from voip.errors import ConfigError
from voip.server.certs.acme_settings import LETSENCRYPT_DIRECTORY, AcmeSettings, Backoff


def test_no_acme_flags_means_no_acme() -> None:
    assert AcmeSettings.from_args(None, None) is None
    assert AcmeSettings.from_args("", "") is None


def test_domain_without_email_is_refused() -> None:
    with pytest.raises(ConfigError, match="--acme-domain needs --acme-email"):
        AcmeSettings.from_args("voice.example.org", None)


def test_email_without_domain_is_refused() -> None:
    with pytest.raises(ConfigError, match="--acme-email needs --acme-domain"):
        AcmeSettings.from_args(None, "ops@example.org")


def test_acme_options_without_domain_are_refused() -> None:
    with pytest.raises(ConfigError, match="--acme-http-port only makes sense"):
        AcmeSettings.from_args(None, None, http_port=8080)


def test_defaults_and_overrides() -> None:
    settings = AcmeSettings.from_args("Voice.Example.org.", "ops@example.org")
    assert settings is not None
    assert settings.domain == "voice.example.org"
    assert settings.directory_url == LETSENCRYPT_DIRECTORY
    assert (settings.challenge, settings.http_port, settings.tls_alpn_port) == ("http-01", 80, 443)
    assert settings.renew_before == dt.timedelta(days=30)
    other = AcmeSettings.from_args(
        "voice.example.org", "ops@example.org", "https://ca.test/dir", "tls-alpn-01", 8080, 8443
    )
    assert other is not None
    assert (other.directory_url, other.challenge, other.http_port, other.tls_alpn_port) == (
        "https://ca.test/dir",
        "tls-alpn-01",
        8080,
        8443,
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"challenge": "dns-01"}, "--acme-challenge 'dns-01' is not supported"),
        ({"http_port": 0}, "--acme-http-port 0 is not a TCP port"),
        ({"tls_port": 70000}, "--acme-tls-port 70000 is not a TCP port"),
        ({"directory": "letsencrypt"}, "--acme-directory 'letsencrypt' is not a URL"),
    ],
)
def test_bad_values_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        AcmeSettings.from_args("voice.example.org", "ops@example.org", **kwargs)  # type: ignore[arg-type]


def test_bad_domain_and_email() -> None:
    with pytest.raises(ConfigError, match="not a fully qualified domain name"):
        AcmeSettings.from_args("localhost", "ops@example.org")
    with pytest.raises(ConfigError, match="not an email address"):
        AcmeSettings.from_args("voice.example.org", "ops")


def test_backoff_grows_and_is_capped() -> None:
    backoff = Backoff()
    delays = [backoff.delay(n) for n in range(1, 20)]
    assert delays[0] == dt.timedelta(minutes=1)
    assert delays[1] == dt.timedelta(minutes=2)
    assert delays == sorted(delays)
    assert max(delays) == dt.timedelta(hours=6)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", dt.timedelta(seconds=90)),
        ("5m", dt.timedelta(minutes=5)),
        ("12h", dt.timedelta(hours=12)),
        ("30d", dt.timedelta(days=30)),
        ("1.5h", dt.timedelta(minutes=90)),
        ("300", dt.timedelta(seconds=300)),
        (280, dt.timedelta(seconds=280)),
    ],
)
def test_renewal_durations_from_flags_and_toml(text: str | int, expected: dt.timedelta) -> None:
    settings = AcmeSettings.from_args(
        "voice.example.org", "ops@example.org", renew_before=text, check_interval=text
    )
    assert settings is not None
    assert settings.renew_before == expected
    assert settings.renewal.margin == expected
    assert settings.renewal.check_interval == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"renew_before": "soon"}, "--acme-renew-before 'soon' is not a duration"),
        ({"renew_before": "0s"}, "--acme-renew-before must be positive"),
        ({"check_interval": "-5m"}, "--acme-check-interval '-5m' is not a duration"),
        ({"check_interval": 0}, "--acme-check-interval must be positive"),
    ],
)
def test_bad_renewal_durations_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        AcmeSettings.from_args("voice.example.org", "ops@example.org", **kwargs)  # type: ignore[arg-type]


def test_renewal_flags_need_a_domain() -> None:
    with pytest.raises(ConfigError, match="--acme-renew-before only makes sense"):
        AcmeSettings.from_args(None, None, renew_before="1d")
