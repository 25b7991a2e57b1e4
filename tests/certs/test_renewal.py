"""The renewal schedule by a certificate's real lifetime, with a hand-driven clock."""

from __future__ import annotations

import datetime as dt

import pytest

from voip.server.certs.renewal import MIN_WAIT, RenewalPolicy, Validity

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
S = dt.timedelta(seconds=1)


def cert(lifetime: dt.timedelta) -> Validity:
    return Validity(T0, T0 + lifetime)


def test_ninety_day_certificate_renews_thirty_days_before_expiry() -> None:
    assert RenewalPolicy().renew_at(cert(90 * DAY)) == T0 + 60 * DAY


def test_long_certificate_renews_at_two_thirds_of_its_life() -> None:
    one_year = cert(365 * DAY)
    assert RenewalPolicy().renew_at(one_year) == T0 + 365 * DAY * 2 / 3
    assert "67% of its 365 days lifetime" in RenewalPolicy().explain(one_year)


def test_margin_comes_first_when_it_is_earlier_than_two_thirds() -> None:
    policy = RenewalPolicy(margin=280 * S)
    short = cert(300 * S)
    assert policy.renew_at(short) == T0 + 20 * S
    assert policy.explain(short) == "280 s before it expires"


def test_margin_longer_than_the_lifetime_does_not_make_every_certificate_due() -> None:
    """The 300 s certificate under the default 30-day margin: two thirds, not at once."""
    policy = RenewalPolicy()
    short = cert(300 * S)
    assert policy.renew_at(short) == T0 + 200 * S
    assert not policy.is_due(short, T0 + 199 * S)
    assert policy.is_due(short, T0 + 200 * S)
    assert "does not count" in policy.explain(short)


@pytest.mark.parametrize("lifetime", [300 * S, 6 * DAY, 90 * DAY, 5 * 365 * DAY])
@pytest.mark.parametrize("margin", [1 * S, 280 * S, 2 * DAY, 30 * DAY, 3650 * DAY])
def test_renewal_is_always_after_issuance_and_before_expiry(
    lifetime: dt.timedelta, margin: dt.timedelta
) -> None:
    validity = cert(lifetime)
    due = RenewalPolicy(margin=margin).renew_at(validity)
    assert validity.not_before < due < validity.not_after


def test_the_wait_never_passes_the_renewal_and_respects_the_check_interval() -> None:
    policy = RenewalPolicy(check_interval=dt.timedelta(hours=12))
    short = cert(300 * S)
    assert policy.wait(short, T0) == 200 * S  # not the 12 h check interval
    assert policy.wait(short, T0 + 150 * S) == 50 * S
    assert policy.wait(short, T0 + 200 * S) == MIN_WAIT  # due: look again soon, never spin
    long = cert(90 * DAY)
    assert policy.wait(long, T0) == dt.timedelta(hours=12)


def test_retry_after_failure_is_cut_to_fit_several_tries_before_expiry() -> None:
    policy = RenewalPolicy()
    short = cert(300 * S)
    minute = dt.timedelta(minutes=1)
    assert policy.retry_delay(20 * S, short, T0 + 200 * S) == 20 * S  # 100 s left: 20 s is fine
    assert policy.retry_delay(minute, short, T0 + 200 * S) == 50 * S  # half of what is left
    assert policy.retry_delay(4 * minute, short, T0 + 299.5 * S) == 0.5 * S  # wake at expiry
    assert policy.retry_delay(4 * minute, short, T0 + 301 * S) == 4 * minute  # expired: back-off
    assert policy.retry_delay(4 * minute, None, T0) == 4 * minute  # nothing in hand


def test_failing_renewals_of_a_short_certificate_retry_until_its_expiry() -> None:
    """Simulate a CA that refuses every renewal with a real back-off (1, 2, 4 ... min)."""
    policy = RenewalPolicy()
    short = cert(300 * S)
    now = policy.renew_at(short)
    tries: list[dt.datetime] = []
    failures = 0
    while not short.expired(now):
        tries.append(now)
        failures += 1
        backoff = dt.timedelta(minutes=2 ** (failures - 1))
        now += policy.retry_delay(backoff, short, now)
    assert now == short.not_after  # awake exactly when it runs out, not after
    assert len(tries) >= 4
    assert all(t < short.not_after for t in tries)
    urgent = [t for t in tries if policy.is_urgent(short, t)]
    assert urgent and urgent[0] >= T0 + 250 * S  # loud in the last half of the window


def test_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="margin"):
        RenewalPolicy(margin=dt.timedelta(0))
    with pytest.raises(ValueError, match="check interval"):
        RenewalPolicy(check_interval=-S)
