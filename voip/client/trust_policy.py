"""Whether to trust a server's certificate: browsers' rules and SSH's together, as a pure function.

A certificate that verifies (a trusted CA vouches for it, it names the
address connected to, and it is valid now) is accepted whatever is pinned,
as a browser would; if another certificate was pinned for the address, the
pin is moved to this one and the user is told once. A pin protects only
certificates that do not verify: the pinned one is accepted (SSH's
known_hosts), any other is refused naming both fingerprints. With nothing
pinned, a certificate no trusted CA vouches for (typically a server's
self-signed one) is offered for pinning; one that a CA vouches for but that
is for other names, expired or not yet valid is refused with the reason,
because pinning it would only hide the mistake.

The facts about the certificate come from ``voip.client.trust``
(``examine``), which reads the CA store; here everything is given,
including ``now``, so each rule is tested without a socket or a clock.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from voip.errors import FingerprintMismatch
from voip.protocol.fingerprint import format_fingerprint


@dataclass(frozen=True, slots=True)
class CertificateFacts:
    """What the client found out about the certificate a server presented."""

    fingerprint: bytes
    #: DNS names and IP addresses the certificate is for (its subject alternative names).
    names: tuple[str, ...]
    not_before: dt.datetime
    not_after: dt.datetime
    #: It chains to a trusted CA (its own dates and names aside).
    issuer_trusted: bool
    #: The name or address connected to is one the certificate is for.
    name_matches: bool
    self_signed: bool = False
    #: Who issued it, for the message (the issuer's common name).
    issuer: str = ""

    @property
    def fingerprint_text(self) -> str:
        return format_fingerprint(self.fingerprint)


class Problem(enum.Enum):
    """Why a certificate does not verify, in the order a user should fix them."""

    UNKNOWN_CA = "unknown CA"
    NAME_MISMATCH = "name mismatch"
    EXPIRED = "expired"
    NOT_YET_VALID = "not yet valid"


def problems(facts: CertificateFacts, now: dt.datetime) -> tuple[Problem, ...]:
    """Everything that keeps the certificate from verifying; empty if it verifies.

    Names count only for a certificate a trusted CA vouches for: a
    self-signed certificate is trusted by its pinned fingerprint, for the
    address it was pinned for, whatever names it carries.
    """
    found: list[Problem] = []
    if not facts.issuer_trusted:
        found.append(Problem.UNKNOWN_CA)
    elif not facts.name_matches:
        found.append(Problem.NAME_MISMATCH)
    if now >= facts.not_after:
        found.append(Problem.EXPIRED)
    elif now < facts.not_before:
        found.append(Problem.NOT_YET_VALID)
    return tuple(found)


def explain(problem: Problem, facts: CertificateFacts, server_name: str, now: dt.datetime) -> str:
    """One problem in plain words, saying what to do where there is something to do."""
    if problem is Problem.NAME_MISMATCH:
        names = ", ".join(facts.names) or "no name at all"
        return (
            f"the certificate is for {names}, not {server_name}; connect by "
            + ("that name" if len(facts.names) == 1 else "one of those names")
            + (" instead" if facts.names else "")
        )
    if problem is Problem.EXPIRED:
        return (
            f"the certificate expired on {_when(facts.not_after)} "
            f"({_ago(now - facts.not_after)} ago); the server's operator must renew it"
        )
    if problem is Problem.NOT_YET_VALID:
        return (
            f"the certificate is not valid before {_when(facts.not_before)}; "
            "check the clock of this computer (and of the server)"
        )
    if facts.self_signed:
        return "the certificate is self-signed: no certificate authority vouches for it"
    issuer = f" ({facts.issuer})" if facts.issuer else ""
    return f"the certificate is issued by an authority{issuer} this client does not trust"


def explain_all(
    found: tuple[Problem, ...], facts: CertificateFacts, server_name: str, now: dt.datetime
) -> str:
    return "; ".join(explain(p, facts, server_name, now) for p in found)


# --- decisions -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verified:
    """Accept: a trusted CA vouches for it. ``replaced_pin``: the pin it takes over, if any."""

    replaced_pin: str | None = None


@dataclass(frozen=True, slots=True)
class Pinned:
    """Accept: it does not verify (``reason`` says why) but it is the one pinned."""

    reason: str


@dataclass(frozen=True, slots=True)
class AskUser:
    """No trusted CA vouches for it and nothing is pinned: offer to pin ``fingerprint_text``."""

    fingerprint_text: str
    reason: str


@dataclass(frozen=True, slots=True)
class Refused:
    """Refuse; ``message`` says why and what to do. Pinning is not offered."""

    message: str


@dataclass(frozen=True, slots=True)
class Mismatch:
    """Refuse: it does not verify, and another certificate is pinned for the address."""

    error: FingerprintMismatch
    reason: str

    @property
    def message(self) -> str:
        return f"{self.error} (the presented certificate does not verify: {self.reason})"


TrustDecision = Verified | Pinned | AskUser | Refused | Mismatch


def decide(
    address: str,
    server_name: str,
    facts: CertificateFacts,
    pinned: str | None,
    now: dt.datetime,
) -> TrustDecision:
    """The decision for the certificate described by ``facts`` at ``address``.

    ``server_name`` is the host part connected to (what the certificate must
    name); ``pinned`` the fingerprint text pinned for ``address``, if any.
    """
    presented = facts.fingerprint_text
    found = problems(facts, now)
    if not found:
        return Verified(replaced_pin=pinned if pinned not in (None, presented) else None)
    reason = explain_all(found, facts, server_name, now)
    if pinned is not None:
        if pinned == presented:
            return Pinned(reason)
        return Mismatch(FingerprintMismatch(address, pinned, presented), reason)
    if Problem.UNKNOWN_CA in found:
        return AskUser(presented, reason)
    return Refused(f"the server at {address} cannot be trusted: {reason}")


def pin_moved_notice(address: str, old: str, new: str) -> str:
    """What the user is told once when a verified certificate takes over a pin."""
    return (
        f"the server at {address} now has a certificate a trusted authority vouches for "
        f"({new}); the pin of its earlier certificate {old} was moved to it"
    )


def _when(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _ago(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{max(seconds, 0)} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"
