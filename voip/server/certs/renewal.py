"""When to renew a certificate: by its real lifetime, and never by sleeping past its expiry.

A fixed "30 days before expiry" breaks with short-lived certificates (public
CAs are moving to days, test CAs issue minutes): a certificate shorter than
the margin is due the moment it arrives, and a fixed re-check interval longer
than its life lets it expire unnoticed. So renewal is due at two thirds of
the certificate's lifetime (certbot's default), or ``margin`` before expiry
if that comes first. A margin as long as the lifetime or longer cannot be
kept by any certificate this CA issues (every new one would be due at once),
so then the fraction alone counts.

Pure: every entry takes ``now``; the ACME manager's thread only sleeps for
what this module says.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

#: certbot's default for certificates of ten days or more: renew with a third left.
RENEW_FRACTION = 2 / 3
DEFAULT_MARGIN = dt.timedelta(days=30)
DEFAULT_CHECK_INTERVAL = dt.timedelta(hours=12)
#: Shortest sleep between two looks, so that a clock at the boundary cannot spin.
MIN_WAIT = dt.timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class Validity:
    """The part of a certificate the schedule needs: when it starts and stops being valid."""

    not_before: dt.datetime
    not_after: dt.datetime

    @property
    def lifetime(self) -> dt.timedelta:
        return self.not_after - self.not_before

    def remaining(self, now: dt.datetime) -> dt.timedelta:
        return self.not_after - now

    def expired(self, now: dt.datetime) -> bool:
        return now >= self.not_after


@dataclass(frozen=True, slots=True)
class RenewalPolicy:
    """Renew at ``fraction`` of the lifetime or ``margin`` before expiry, whichever is first."""

    margin: dt.timedelta = DEFAULT_MARGIN
    #: Longest sleep while a certificate is not due (a clock step cannot hide a renewal).
    check_interval: dt.timedelta = DEFAULT_CHECK_INTERVAL
    fraction: float = RENEW_FRACTION

    def __post_init__(self) -> None:
        if self.margin <= dt.timedelta(0):
            raise ValueError("the renewal margin must be positive")
        if self.check_interval <= dt.timedelta(0):
            raise ValueError("the check interval must be positive")
        if not 0 < self.fraction < 1:
            raise ValueError("the renewal fraction must be between 0 and 1")

    def margin_counts(self, validity: Validity) -> bool:
        """False when the margin is at least the lifetime (then only the fraction counts)."""
        return self.margin < validity.lifetime

    def renew_at(self, validity: Validity) -> dt.datetime:
        """When renewal is due; always before expiry."""
        by_fraction = validity.not_before + validity.lifetime * self.fraction
        if not self.margin_counts(validity):
            return by_fraction
        return min(by_fraction, validity.not_after - self.margin)

    def is_due(self, validity: Validity, now: dt.datetime) -> bool:
        return now >= self.renew_at(validity)

    def wait(self, validity: Validity, now: dt.datetime) -> dt.timedelta:
        """How long to sleep before looking at a certificate again (not past its renewal)."""
        until_due = self.renew_at(validity) - now
        return max(MIN_WAIT, min(until_due, self.check_interval))

    def retry_delay(
        self, backoff: dt.timedelta, validity: Validity | None, now: dt.datetime
    ) -> dt.timedelta:
        """After a failed order: the back-off, cut so that several tries fit before expiry.

        At most half the remaining validity, and never past the expiry itself,
        so the manager is awake when the certificate runs out.
        """
        if validity is None or validity.expired(now):
            return backoff
        remaining = validity.remaining(now)
        delay = min(backoff, max(remaining / 2, MIN_WAIT))
        return max(min(delay, remaining), dt.timedelta(0))

    def is_urgent(self, validity: Validity, now: dt.datetime) -> bool:
        """Renewal keeps failing and half of the time between renewal and expiry is gone."""
        window = validity.not_after - self.renew_at(validity)
        return validity.remaining(now) <= window / 2

    def explain(self, validity: Validity) -> str:
        """Why renewal is due when it is, in words for the log."""
        by_fraction = validity.not_before + validity.lifetime * self.fraction
        if self.renew_at(validity) < by_fraction:
            return f"{human_duration(self.margin)} before it expires"
        reason = f"at {self.fraction:.0%} of its {human_duration(validity.lifetime)} lifetime"
        if not self.margin_counts(validity):
            reason += (
                f"; the renewal margin {human_duration(self.margin)} is not shorter than "
                "the certificate's whole lifetime, so it does not count"
            )
        return reason


def human_duration(delta: dt.timedelta) -> str:
    """``45 s``, ``12 min``, ``3.5 h``, ``30 days``: durations as the log says them."""
    seconds = int(delta.total_seconds())
    if seconds < 600:
        return f"{max(delta.total_seconds(), 0):.3g} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds // 86400} days"
