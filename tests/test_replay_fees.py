"""Fees and funding of a simulated trade (USDT)."""

from __future__ import annotations

import numpy as np
import pytest

from riskguard.config.exits_schema import ExitsSection
from riskguard.exits import ExitPlan, build_exit_plan, compile_exit_rules
from riskguard.model import InputValidationError, InstrumentRules
from riskguard.replay.exit_simulation import ExitResult, simulate_exits
from riskguard.replay.fees import FeeSchedule, trade_cashflows

INSTRUMENT = InstrumentRules("TESTUSDT", tick_size=0.01, step_size=0.001, min_qty=0.001, min_notional=5.0)
HOUR = 3_600_000
TIMES = np.arange(4, dtype=np.int64) * HOUR
TAKER_ONLY = FeeSchedule(taker_bps=5.0, maker_bps=2.0)


def plan(side: str) -> ExitPlan:
    return build_exit_plan(compile_exit_rules(ExitsSection()), INSTRUMENT, side, 100.0, 0.9, 1.0)


def stopped_long() -> tuple[ExitPlan, ExitResult, np.ndarray]:
    p = plan("LONG")
    o = np.array([100.0, 99.5, 99.0, 99.0])
    result = simulate_exits(p, o, np.array([100.5, 99.8, 99.2, 99.2]), np.array([99.0, 98.0, 98.9, 98.9]),
                            np.array([99.5, 98.2, 99.0, 99.0]))
    return p, result, o


def test_taker_fees_on_entry_and_exit_notional() -> None:
    p, result, o = stopped_long()
    flows = trade_cashflows(p, result, TIMES, o, TAKER_ONLY)
    assert flows.fees_usdt == pytest.approx((100.0 + 98.5) * 0.9 * 5e-4)
    assert flows.gross_usdt == pytest.approx(-1.5 * 0.9)
    assert flows.net_usdt == pytest.approx(flows.gross_usdt - flows.fees_usdt)
    assert flows.net_r == pytest.approx(flows.net_usdt / (1.5 * 0.9))


def test_maker_entry_pays_the_maker_rate() -> None:
    p, result, o = stopped_long()
    maker_entry = FeeSchedule(taker_bps=5.0, maker_bps=2.0, entry_maker=True)
    flows = trade_cashflows(p, result, TIMES, o, maker_entry)
    assert flows.fees_usdt == pytest.approx(100.0 * 0.9 * 2e-4 + 98.5 * 0.9 * 5e-4)


def test_long_pays_positive_funding_while_open() -> None:
    p, result, o = stopped_long()  # stopped in bar 1, which opens at the funding time
    flows = trade_cashflows(p, result, TIMES, o, TAKER_ONLY, np.array([HOUR, 3 * HOUR]), np.array([1e-4, 1e-4]))
    assert flows.funding_usdt == pytest.approx(-1e-4 * 0.9 * 99.5)


def test_short_receives_positive_funding() -> None:
    p = plan("SHORT")
    o = np.array([100.0, 100.2, 100.4, 100.6])
    result = simulate_exits(p, o, o + 0.1, o - 0.1, o)
    flows = trade_cashflows(p, result, TIMES, o, TAKER_ONLY, np.array([HOUR, 2 * HOUR]), np.array([1e-4, 2e-4]))
    assert flows.funding_usdt == pytest.approx(1e-4 * 0.9 * 100.2 + 2e-4 * 0.9 * 100.4)


def test_funding_is_charged_only_on_what_is_still_open() -> None:
    p = plan("LONG")
    o = np.array([100.0, 100.0, 101.0, 101.0])
    high = np.array([100.5, 101.6, 101.2, 101.2])  # first target (101.5) fills in bar 1
    result = simulate_exits(p, o, high, o - 0.2, o)
    flows = trade_cashflows(p, result, TIMES, o, TAKER_ONLY, np.array([2 * HOUR]), np.array([1e-3]))
    assert flows.funding_usdt == pytest.approx(-1e-3 * 0.9 * (2 / 3) * 101.0)


def test_funding_before_entry_is_not_charged() -> None:
    p, result, o = stopped_long()
    flows = trade_cashflows(p, result, TIMES, o, TAKER_ONLY, np.array([0]), np.array([1e-2]))
    assert flows.funding_usdt == 0.0


def test_funding_times_without_rates_are_refused() -> None:
    p, result, o = stopped_long()
    with pytest.raises(InputValidationError) as info:
        trade_cashflows(p, result, TIMES, o, TAKER_ONLY, funding_times_ms=np.array([HOUR]))
    assert info.value.field == "funding_rates"


def test_negative_taker_fee_is_refused() -> None:
    with pytest.raises(InputValidationError):
        FeeSchedule(taker_bps=-1.0, maker_bps=0.0)


def _numpy_funding(p: ExitPlan, result: ExitResult, times: np.ndarray, opens: np.ndarray,
                   f_times: np.ndarray, rates: np.ndarray, start: int) -> float:
    # The NumPy formulation trade_cashflows used before its plain-float fast path (the reference).
    last = int(times[result.exit_bar])
    lo = int(np.searchsorted(f_times, start, side="right"))
    hi = int(np.searchsorted(f_times, last, side="right"))
    if hi <= lo:
        return 0.0
    window_t = f_times[lo:hi]
    fill_times = times[[f.bar for f in result.fills]]
    closed_before = np.concatenate(([0.0], np.cumsum([f.fraction for f in result.fills])))
    open_share = 1.0 - closed_before[np.searchsorted(fill_times, window_t, side="left")]
    bar_of = np.clip(np.searchsorted(times, window_t, side="right") - 1, 0, None)
    return -p.direction * float(np.sum(rates[lo:hi] * open_share * p.qty * opens[bar_of]))


@pytest.mark.parametrize("seed", range(40))
def test_funding_sum_is_bit_for_bit_the_numpy_sum(seed: int) -> None:
    # Windows of 0 to ~100 funding times, partial fills, both sides: the plain-float sum must equal
    # NumPy's (a plain loop below 8 terms, pairwise from 8 on) to the last bit.
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 400))
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.002 if seed % 3 else 0.008, n)))
    o = np.concatenate(([100.0], close[:-1]))
    high, low = np.maximum(o, close) * 1.001, np.minimum(o, close) * 0.999
    times = np.arange(n, dtype=np.int64) * HOUR + 5 * HOUR
    p = plan("LONG" if seed % 2 else "SHORT")
    result = simulate_exits(p, o, high, low, close, times)
    f_times = np.arange(-2, n + 3, dtype=np.int64) * HOUR + int(rng.integers(0, HOUR))  # hourly: long windows
    rates = rng.normal(1e-4, 3e-4, f_times.shape[0])
    flows = trade_cashflows(p, result, times, o, TAKER_ONLY, f_times, rates)
    assert repr(flows.funding_usdt) == repr(_numpy_funding(p, result, times, o, f_times, rates, int(times[0])))
