"""The trust decision: real certificates examined against a real CA file, then the pure rules.

Each failure reason comes from a certificate that really has the fault (a
leaf for other names, an expired one, one not yet valid, one from a CA the
client was not given, a self-signed one), checked by OpenSSL and
service_identity as at connect time; the rules themselves are then walked
with a hand-set clock.
"""

from __future__ import annotations

import datetime as dt
import runpy
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography import x509

from voip.client.trust import examine
from voip.client.trust_policy import (
    AskUser,
    CertificateFacts,
    Mismatch,
    Pinned,
    Problem,
    Refused,
    Verified,
    decide,
    format_fingerprint,
    problems,
)
from voip.server.certs import generate_self_signed

pki = SimpleNamespace(
    **runpy.run_path(str(Path(__file__).resolve().parents[1] / "support" / "pki.py"))
)

NOW = dt.datetime.now(dt.UTC)  # re-read as each test starts (fresh_clock below)


@pytest.fixture(autouse=True)
def fresh_clock() -> None:
    """Each test judges at the moment it runs, not when the module was imported.

    ``generate_self_signed`` dates its certificates from the real clock (5 min
    back); a module-level instant taken at collection is older than that once a
    long suite reaches these tests, and the certificate reads "not yet valid".
    """
    global NOW
    NOW = dt.datetime.now(dt.UTC)
HOUR = dt.timedelta(hours=1)
ADDRESS = "localhost:7731"


def issued(tmp_path: Path, not_before: dt.datetime, not_after: dt.datetime) -> tuple[Any, str]:
    """A CA-signed leaf for localhost/127.0.0.1, and the CA file that vouches for it."""
    ca, leaf, _ = pki.make_ca_and_leaf("voip test CA", not_before, not_after)
    ca_file = tmp_path / f"ca-{leaf.serial_number}.pem"
    ca_file.write_bytes(pki.cert_pem(ca))
    return leaf, str(ca_file)


def self_signed() -> x509.Certificate:
    cert_pem, _ = generate_self_signed(["voice.test"])
    return x509.load_pem_x509_certificate(cert_pem)


def judge(
    leaf: x509.Certificate, server_name: str, ca_file: str | None, pinned: str | None = None
) -> tuple[CertificateFacts, Any]:
    facts = examine(leaf, [], server_name, ca_file, NOW)
    return facts, decide(f"{server_name}:7731", server_name, facts, pinned, NOW)


# --- real certificates -----------------------------------------------------------------


def test_a_certificate_from_the_given_ca_for_the_name_verifies(tmp_path: Path) -> None:
    leaf, ca_file = issued(tmp_path, NOW - HOUR, NOW + HOUR)
    for name in ("localhost", "127.0.0.1"):
        facts, decision = judge(leaf, name, ca_file)
        assert facts.issuer_trusted and facts.name_matches
        assert facts.names == ("localhost", "127.0.0.1")
        assert decision == Verified()


def test_name_mismatch_names_the_certificate_names_and_offers_no_pin(tmp_path: Path) -> None:
    leaf, ca_file = issued(tmp_path, NOW - HOUR, NOW + HOUR)
    facts, decision = judge(leaf, "127.0.0.2", ca_file)
    assert facts.issuer_trusted and not facts.name_matches
    assert isinstance(decision, Refused)
    assert "the certificate is for localhost, 127.0.0.1, not 127.0.0.2" in decision.message
    assert "connect by one of those names" in decision.message


def test_expired_says_since_when(tmp_path: Path) -> None:
    leaf, ca_file = issued(tmp_path, NOW - 30 * HOUR, NOW - 3 * HOUR)
    facts, decision = judge(leaf, "localhost", ca_file)
    assert facts.issuer_trusted  # judged apart from the leaf's dates
    assert isinstance(decision, Refused)
    expired_at = (NOW - 3 * HOUR).strftime("%Y-%m-%d %H:%M")
    assert f"the certificate expired on {expired_at}" in decision.message
    assert "(3 h ago)" in decision.message


def test_not_yet_valid_points_at_the_clock(tmp_path: Path) -> None:
    leaf, ca_file = issued(tmp_path, NOW + 2 * HOUR, NOW + 30 * HOUR)
    _, decision = judge(leaf, "localhost", ca_file)
    assert isinstance(decision, Refused)
    assert "is not valid before" in decision.message and "clock" in decision.message


def test_unknown_ca_offers_pinning(tmp_path: Path) -> None:
    leaf, _ = issued(tmp_path, NOW - HOUR, NOW + HOUR)
    other_ca, _ = issued(tmp_path, NOW - HOUR, NOW + HOUR)  # a CA that did not sign it
    facts, decision = judge(leaf, "localhost", other_ca)
    assert not facts.issuer_trusted
    assert isinstance(decision, AskUser)
    assert decision.fingerprint_text == facts.fingerprint_text
    assert "issued by an authority (voip test CA) this client does not trust" in decision.reason


def test_the_system_store_does_not_know_a_private_ca(tmp_path: Path) -> None:
    leaf, _ = issued(tmp_path, NOW - HOUR, NOW + HOUR)
    facts, decision = judge(leaf, "localhost", None)
    assert not facts.issuer_trusted and isinstance(decision, AskUser)


def test_self_signed_is_offered_for_pinning_at_any_address() -> None:
    """A self-signed certificate's names do not matter: its pin is per address."""
    facts, decision = judge(self_signed(), "192.0.2.7", None)
    assert facts.self_signed
    assert isinstance(decision, AskUser)
    assert decision.reason == (
        "the certificate is self-signed: no certificate authority vouches for it"
    )


def test_a_changed_self_signed_certificate_is_refused_naming_both(tmp_path: Path) -> None:
    first, second = self_signed(), self_signed()
    pinned = examine(first, [], "voice.test", None, NOW).fingerprint_text
    facts, decision = judge(second, "voice.test", None, pinned)
    assert isinstance(decision, Mismatch)
    assert pinned in decision.message and facts.fingerprint_text in decision.message
    assert "self-signed" in decision.message
    _, same = judge(first, "voice.test", None, pinned)
    assert isinstance(same, Pinned)


def test_a_verified_certificate_takes_over_the_pin_of_a_self_signed_one(tmp_path: Path) -> None:
    """The server's ACME certificate replaced the self-signed fallback the user pinned."""
    pinned = examine(self_signed(), [], "localhost", None, NOW).fingerprint_text
    leaf, ca_file = issued(tmp_path, NOW - HOUR, NOW + HOUR)
    _, with_ca = judge(leaf, "localhost", ca_file, pinned)
    assert with_ca == Verified(replaced_pin=pinned)
    _, without_ca = judge(leaf, "localhost", None, pinned)  # no CA: the pin still guards
    assert isinstance(without_ca, Mismatch)


# --- the rules, with a hand-set clock ------------------------------------------------------


def facts(**changes: Any) -> CertificateFacts:
    base: dict[str, Any] = {
        "fingerprint": bytes(range(32)),
        "names": ("voice.example.org",),
        "not_before": NOW - HOUR,
        "not_after": NOW + HOUR,
        "issuer_trusted": True,
        "name_matches": True,
        "issuer": "Example CA",
    }
    base.update(changes)
    return CertificateFacts(**base)


OTHER_PIN = format_fingerprint(bytes(range(1, 33)))


@pytest.mark.parametrize(
    ("changes", "pinned", "expected"),
    [
        ({}, None, Verified),
        ({}, OTHER_PIN, Verified),  # whatever is pinned
        ({"name_matches": False}, None, Refused),
        ({"not_after": NOW - HOUR, "not_before": NOW - 2 * HOUR}, None, Refused),
        ({"issuer_trusted": False}, None, AskUser),
        ({"issuer_trusted": False}, OTHER_PIN, Mismatch),
        ({"name_matches": False}, OTHER_PIN, Mismatch),
        ({"issuer_trusted": False, "not_after": NOW}, None, AskUser),
    ],
)
def test_rules(changes: dict[str, Any], pinned: str | None, expected: type) -> None:
    decision = decide("voice.example.org:7731", "voice.example.org", facts(**changes), pinned, NOW)
    assert type(decision) is expected


def test_the_pin_protects_only_what_does_not_verify() -> None:
    presented = facts(issuer_trusted=False)
    pin = presented.fingerprint_text
    assert isinstance(decide(ADDRESS, "localhost", presented, pin, NOW), Pinned)
    verified = decide(ADDRESS, "localhost", facts(), pin, NOW)
    assert verified == Verified(replaced_pin=None)  # the same certificate: nothing moves


def test_problems_are_listed_together() -> None:
    found = problems(facts(issuer_trusted=False, not_after=NOW - HOUR), NOW)
    assert found == (Problem.UNKNOWN_CA, Problem.EXPIRED)
    assert problems(facts(name_matches=False, not_before=NOW + HOUR), NOW) == (
        Problem.NAME_MISMATCH,
        Problem.NOT_YET_VALID,
    )
