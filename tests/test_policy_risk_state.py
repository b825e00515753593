"""Risk state: drawdown windows, losing streak, rolling symbol performance."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskguard.model.errors import InputValidationError
from riskguard.policy.drawdown import DrawdownMonitor, DrawdownWindow, window_key
from riskguard.policy.risk_state import RiskState


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def test_daily_drawdown_is_measured_from_the_days_nav_peak() -> None:
    monitor = DrawdownMonitor()
    monitor.update(ms("2024-08-05T00:00"), 1000.0)
    monitor.update(ms("2024-08-05T01:00"), 1100.0)
    monitor.update(ms("2024-08-05T02:00"), 1045.0)
    assert monitor.drawdown_pct(DrawdownWindow.DAILY) == pytest.approx(0.05)


def test_new_utc_day_restarts_the_daily_peak_but_not_the_weekly_one() -> None:
    monitor = DrawdownMonitor()
    monitor.update(ms("2024-08-06T23:00"), 1000.0)  # a Tuesday
    rolled = monitor.update(ms("2024-08-07T00:00"), 950.0)
    assert rolled == (DrawdownWindow.DAILY,)
    assert monitor.drawdown_pct(DrawdownWindow.DAILY) == 0.0
    assert monitor.drawdown_pct(DrawdownWindow.WEEKLY) == pytest.approx(0.05)


def test_weekly_window_rolls_on_monday_utc() -> None:
    assert window_key(DrawdownWindow.WEEKLY, ms("2024-08-11T23:59")) != window_key(
        DrawdownWindow.WEEKLY, ms("2024-08-12T00:00"))  # Sunday -> Monday
    assert window_key(DrawdownWindow.WEEKLY, ms("2024-08-12T00:00")) == window_key(
        DrawdownWindow.WEEKLY, ms("2024-08-18T23:59"))  # Monday .. Sunday


def test_monthly_window_rolls_on_the_first_of_the_month() -> None:
    monitor = DrawdownMonitor()
    monitor.update(ms("2024-02-29T12:00"), 1000.0)
    monitor.update(ms("2024-02-29T13:00"), 900.0)
    rolled = monitor.update(ms("2024-03-01T00:00"), 900.0)
    assert DrawdownWindow.MONTHLY in rolled
    assert monitor.drawdown_pct(DrawdownWindow.MONTHLY) == 0.0


def test_first_mark_opens_every_window() -> None:
    assert set(DrawdownMonitor().update(ms("2024-01-01T00:00"), 1.0)) == set(DrawdownWindow)


def test_marks_going_back_in_time_are_refused() -> None:
    monitor = DrawdownMonitor()
    monitor.update(ms("2024-08-05T02:00"), 1000.0)
    with pytest.raises(InputValidationError) as err:
        monitor.update(ms("2024-08-05T01:00"), 1000.0)
    assert err.value.field == "ts_ms"


@pytest.mark.parametrize("nav", [0.0, -5.0, float("nan"), float("inf")])
def test_non_positive_or_non_finite_nav_is_refused(nav: float) -> None:
    with pytest.raises(InputValidationError) as err:
        DrawdownMonitor().update(0, nav)
    assert err.value.field == "nav"


@settings(max_examples=50, deadline=None)
@given(navs=st.lists(st.floats(1.0, 1e6), min_size=1, max_size=50))
def test_drawdown_within_one_day_matches_running_peak(navs: list[float]) -> None:
    monitor = DrawdownMonitor()
    start = ms("2024-05-01T00:00")
    for i, nav in enumerate(navs):
        monitor.update(start + i * 1000, nav)
    peak = max(navs)
    assert monitor.drawdown_pct(DrawdownWindow.DAILY) == pytest.approx((peak - navs[-1]) / peak)
    assert 0.0 <= monitor.drawdown_pct(DrawdownWindow.DAILY) < 1.0


def test_losing_streak_counts_consecutive_losses_and_a_win_ends_it() -> None:
    state = RiskState(window_trades=20)
    for i in range(3):
        state.record_trade("BTCUSDT", -10.0, -1.0, i)
    assert state.losing_streak == 3
    state.record_trade("ETHUSDT", 5.0, 0.5, 4)
    assert state.losing_streak == 0


def test_breakeven_trade_ends_a_losing_streak() -> None:
    state = RiskState(window_trades=20)
    state.record_trade("BTCUSDT", -10.0, -1.0, 0)
    state.record_trade("BTCUSDT", 0.0, 0.0, 1)
    assert state.losing_streak == 0


def test_symbol_performance_keeps_only_the_last_n_trades() -> None:
    state = RiskState(window_trades=3)
    for pnl, r in [(-1.0, -1.0), (2.0, 2.0), (2.0, 2.0), (-1.0, -1.0)]:
        state.record_trade("SOLUSDT", pnl, r, 0)
    perf = state.performance("SOLUSDT")
    assert (perf.trades, perf.win_rate, perf.avg_r) == (3, pytest.approx(2 / 3), pytest.approx(1.0))


def test_symbol_without_trades_has_zero_statistics() -> None:
    perf = RiskState(window_trades=5).performance("BNBUSDT")
    assert (perf.trades, perf.win_rate, perf.avg_r) == (0, 0.0, 0.0)


def test_symbol_spellings_share_one_record() -> None:
    state = RiskState(window_trades=5)
    state.record_trade("BTC/USDT:USDT", 1.0, 1.0, 0)
    assert state.performance("btcusdt").trades == 1


def test_a_spelling_looked_up_before_keeps_resolving_to_the_same_record() -> None:
    state = RiskState(window_trades=5)
    assert state.performance("BTC/USDT:USDT").trades == 0
    state.record_trade("btcusdt", 1.0, 1.0, 0)
    state.record_trade("BTC/USDT:USDT", -1.0, -1.0, 1)
    assert state.performance("BTC/USDT:USDT") == state.performance("BTCUSDT")
    assert state.performance("BTCUSDT").trades == 2


def test_a_malformed_symbol_is_refused_every_time_it_is_looked_up() -> None:
    state = RiskState(window_trades=5)
    for _ in range(2):
        with pytest.raises(InputValidationError) as err:
            state.performance("BTC-USDT")
        assert err.value.field == "symbol"


@pytest.mark.parametrize(("field", "args"), [
    ("pnl_usdt", ("BTCUSDT", float("nan"), 1.0, 0)),
    ("r_multiple", ("BTCUSDT", 1.0, float("inf"), 0)),
    ("ts_ms", ("BTCUSDT", 1.0, 1.0, -1)),
    ("symbol", ("", 1.0, 1.0, 0)),
])
def test_malformed_trade_is_refused_naming_the_field(field: str, args: tuple[str, float, float, int]) -> None:
    with pytest.raises(InputValidationError) as err:
        RiskState(window_trades=5).record_trade(*args)
    assert err.value.field == field


@settings(max_examples=60, deadline=None)
@given(window=st.integers(1, 8),
       trades=st.lists(st.tuples(st.floats(-100, 100), st.floats(-5, 5)), min_size=1, max_size=40))
def test_rolling_statistics_match_a_recomputation_over_the_window(
        window: int, trades: list[tuple[float, float]]) -> None:
    state = RiskState(window_trades=window)
    for pnl, r in trades:
        state.record_trade("XRPUSDT", pnl, r, 0)
    last = trades[-window:]
    perf = state.performance("XRPUSDT")
    assert perf.trades == len(last)
    assert perf.win_rate == pytest.approx(sum(p > 0 for p, _ in last) / len(last))
    assert perf.avg_r == pytest.approx(sum(r for _, r in last) / len(last), abs=1e-9)
