"""Drawdown from equity marks: running, maximum, rolling windows (daily / weekly / monthly)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskguard.math.drawdown import (
    DAY_MS,
    MONTH_MS,
    WEEK_MS,
    drawdown_series,
    max_drawdown,
    rolling_drawdown,
    window_drawdown,
    window_drawdowns,
)
from riskguard.model.errors import InputValidationError

T0 = 1_722_816_000_000  # 2024-08-05T00:00Z
HOUR = 3_600_000


def test_drawdown_series_is_distance_from_running_peak() -> None:
    np.testing.assert_allclose(drawdown_series([100.0, 110.0, 99.0, 120.0]), [0.0, 0.0, 0.1, 0.0])


def test_max_drawdown_is_largest_peak_to_trough() -> None:
    assert max_drawdown([100.0, 80.0, 120.0, 90.0, 130.0]) == pytest.approx(0.25, rel=1e-12)


def test_rolling_drawdown_forgets_peaks_older_than_the_window() -> None:
    ts = np.array([T0, T0 + 12 * HOUR, T0 + 30 * HOUR])
    equity = [1000.0, 900.0, 880.0]
    out = rolling_drawdown(ts, equity, DAY_MS)
    # at +30h the 1000 peak (t0) is out of the 24h window; the peak is 900 at +12h
    np.testing.assert_allclose(out, [0.0, 0.1, 1 - 880 / 900], rtol=1e-12)


def test_rolling_drawdown_window_is_open_at_its_start() -> None:
    ts = np.array([T0, T0 + DAY_MS])
    np.testing.assert_allclose(rolling_drawdown(ts, [1000.0, 900.0], DAY_MS), [0.0, 0.0])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10 * HOUR), st.floats(50, 150)), min_size=1, max_size=80),
       st.integers(1, 2 * DAY_MS))
def test_rolling_drawdown_matches_brute_force(marks: list[tuple[int, float]], window: int) -> None:
    ts = np.cumsum([m[0] for m in marks]) + T0
    equity = np.array([m[1] for m in marks])
    # causal: only marks up to and including i (equal timestamps later in the list are not yet known)
    expected = [1 - equity[i] / equity[: i + 1][ts[: i + 1] > ts[i] - window].max() for i in range(len(ts))]
    np.testing.assert_allclose(rolling_drawdown(ts, equity, window), expected, rtol=1e-12, atol=1e-15)


def test_window_drawdowns_differ_by_window_length() -> None:
    ts = np.array([T0, T0 + 3 * DAY_MS, T0 + 20 * DAY_MS, T0 + 20 * DAY_MS + HOUR, T0 + 20 * DAY_MS + 2 * HOUR])
    equity = [1200.0, 1100.0, 1000.0, 1050.0, 970.0]
    w = window_drawdowns(ts, equity)
    assert w.daily == pytest.approx(1 - 970 / 1050, rel=1e-12)
    assert w.weekly == pytest.approx(1 - 970 / 1050, rel=1e-12)
    assert w.monthly == pytest.approx(1 - 970 / 1200, rel=1e-12)
    assert w.to_dict() == {"daily": w.daily, "weekly": w.weekly, "monthly": w.monthly}


def test_window_drawdown_at_an_earlier_now_ignores_later_marks() -> None:
    ts = np.array([T0, T0 + HOUR, T0 + 2 * HOUR])
    assert window_drawdown(ts, [100.0, 90.0, 50.0], DAY_MS, now_ms=T0 + HOUR) == pytest.approx(0.1, rel=1e-12)


def test_window_drawdown_of_a_stale_last_mark_is_zero() -> None:
    ts = np.array([T0, T0 + HOUR])
    assert window_drawdown(ts, [100.0, 90.0], DAY_MS, now_ms=T0 + 40 * DAY_MS) == 0.0


def test_window_constants_are_day_week_and_30_days() -> None:
    assert (DAY_MS, WEEK_MS, MONTH_MS) == (86_400_000, 7 * 86_400_000, 30 * 86_400_000)


def test_window_drawdown_refuses_now_before_first_mark() -> None:
    with pytest.raises(InputValidationError) as err:
        window_drawdown(np.array([T0]), [100.0], DAY_MS, now_ms=T0 - 1)
    assert err.value.field == "now_ms"


def test_drawdown_refuses_decreasing_timestamps() -> None:
    with pytest.raises(InputValidationError) as err:
        rolling_drawdown(np.array([T0, T0 - 1]), [100.0, 100.0], DAY_MS)
    assert err.value.field == "ts_ms"


def test_drawdown_refuses_float_timestamps() -> None:
    with pytest.raises(InputValidationError) as err:
        rolling_drawdown(np.array([1.5, 2.5]), [100.0, 100.0], DAY_MS)
    assert err.value.field == "ts_ms"


def test_drawdown_refuses_non_positive_equity() -> None:
    with pytest.raises(InputValidationError) as err:
        drawdown_series([100.0, 0.0])
    assert err.value.field == "equity"
