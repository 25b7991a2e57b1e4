"""The adaptive flush policy: send at once when cheap, batch when loaded."""

from __future__ import annotations

import pytest

from voip.server.hub import BATCH_FACTOR, flush_gap


def test_cheap_flushes_leave_almost_no_gap() -> None:
    # a flush of a few connections takes well under a millisecond: the next
    # datagram goes out practically at once instead of waiting for a timer
    assert flush_gap(0.0002, 0.020) == pytest.approx(BATCH_FACTOR * 0.0002)
    assert flush_gap(0.0002, 0.020) < 0.001


def test_expensive_flushes_batch_up_to_one_frame() -> None:
    assert flush_gap(0.005, 0.020) == pytest.approx(min(0.020, BATCH_FACTOR * 0.005))
    assert flush_gap(0.050, 0.020) == 0.020  # never more than the configured window


def test_zero_interval_disables_batching() -> None:
    assert flush_gap(0.050, 0.0) == 0.0


def test_gap_grows_with_flush_cost() -> None:
    gaps = [flush_gap(t, 0.020) for t in (0.0, 0.001, 0.003, 0.008, 0.02)]
    assert gaps == sorted(gaps)
    assert gaps[0] == 0.0
