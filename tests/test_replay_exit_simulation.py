"""Exit simulation over OHLC bars: stops, gaps, ladder, break-even, trailing, time stop, both sides.

Plan used unless a test says otherwise: entry 100, ATR 1, stop 1.5 ATR (long 98.5 / short 101.5),
targets at 1R / 2R / 3R (long 101.5 / 103 / 104.5), a third each, break-even after the first.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskguard.config.exits_schema import (
    BreakEvenSection,
    ExitModeSection,
    ExitsSection,
    LadderStep,
    TimeStopSection,
    TrailingSection,
)
from riskguard.exits import ExitPlan, build_exit_plan, compile_exit_rules
from riskguard.model import InputValidationError, InstrumentRules
from riskguard.replay.exit_simulation import ExitResult, FillKind, simulate_exits

INSTRUMENT = InstrumentRules("TESTUSDT", tick_size=0.01, step_size=0.001, min_qty=0.001, min_notional=5.0)
THIRD = 1 / 3
HOUR_MS = 3_600_000


def make_plan(side: str = "LONG", mode: ExitModeSection | None = None, entry_time_ms: int | None = None,
              ) -> ExitPlan:
    section = ExitsSection() if mode is None else ExitsSection(modes={"standard": mode})
    return build_exit_plan(compile_exit_rules(section), INSTRUMENT, side, 100.0, 0.9, 1.0,
                           entry_time_ms=entry_time_ms)


def run(plan: ExitPlan, bars: list[tuple[float, float, float, float]], times: list[int] | None = None,
        ) -> ExitResult:
    o, h, low, c = (np.array(col, dtype=float) for col in zip(*bars, strict=True))
    return simulate_exits(plan, o, h, low, c, times)


def summary(result: ExitResult) -> list[tuple[int, float, float, str]]:
    return [(f.bar, round(f.price, 6), round(f.fraction, 6), f.kind.value) for f in result.fills]


def test_long_stop_fills_at_the_stop_price() -> None:
    result = run(make_plan("LONG"), [(100, 100.5, 99.0, 99.5), (99.5, 99.8, 98.0, 98.2)])
    assert summary(result) == [(1, 98.5, 1.0, "stop")]
    assert result.closed


def test_short_stop_fills_at_the_stop_price() -> None:
    result = run(make_plan("SHORT"), [(100, 101.0, 99.5, 100.5), (100.5, 102.0, 100.2, 101.8)])
    assert summary(result) == [(1, 101.5, 1.0, "stop")]


def test_long_stop_gapped_through_fills_at_the_worse_open() -> None:
    result = run(make_plan("LONG"), [(100, 100.5, 99.0, 99.5), (97.0, 97.5, 96.0, 96.5)])
    assert summary(result) == [(1, 97.0, 1.0, "stop")]


def test_short_stop_gapped_through_fills_at_the_worse_open() -> None:
    result = run(make_plan("SHORT"), [(100, 100.5, 99.5, 100.2), (103.0, 104.0, 102.5, 103.5)])
    assert summary(result) == [(1, 103.0, 1.0, "stop")]


def test_stop_wins_when_stop_and_target_are_touched_in_one_bar() -> None:
    result = run(make_plan("LONG"), [(100, 105.0, 98.0, 100.0)])
    assert summary(result) == [(0, 98.5, 1.0, "stop")]


def test_stop_wins_for_a_short_when_both_are_touched_in_one_bar() -> None:
    result = run(make_plan("SHORT"), [(100, 102.0, 95.0, 100.0)])
    assert summary(result) == [(0, 101.5, 1.0, "stop")]


def test_target_gapped_through_at_the_open_fills_first_then_the_stop_can_follow() -> None:
    result = run(make_plan("LONG"), [(100, 100.5, 99.8, 100.2), (102.0, 102.5, 98.0, 99.0)])
    assert summary(result) == [(1, 102.0, round(THIRD, 6), "take_profit"), (1, 98.5, round(2 * THIRD, 6), "stop")]


def test_long_ladder_fills_in_parts_up_to_the_last_target() -> None:
    bars = [(100, 101.6, 99.9, 101.5), (101.5, 103.2, 101.0, 103.0), (103.0, 104.6, 102.9, 104.5)]
    result = run(make_plan("LONG"), bars)
    assert summary(result) == [(0, 101.5, round(THIRD, 6), "take_profit"), (1, 103.0, round(THIRD, 6), "take_profit"),
                               (2, 104.5, round(THIRD, 6), "take_profit")]
    assert result.closed
    assert math.fsum(f.fraction for f in result.fills) == pytest.approx(1.0)


def test_short_ladder_fills_in_parts_down_to_the_last_target() -> None:
    bars = [(100, 100.1, 98.4, 98.5), (98.5, 99.0, 96.9, 97.0), (97.0, 97.1, 95.0, 95.2)]
    result = run(make_plan("SHORT"), bars)
    assert [(f.bar, f.price) for f in result.fills] == [(0, 98.5), (1, 97.0), (2, 95.5)]
    assert result.gross_r(make_plan("SHORT")) == pytest.approx(2.0)


def test_several_targets_can_fill_in_the_same_bar() -> None:
    result = run(make_plan("LONG"), [(100, 103.1, 99.9, 103.0)])
    assert summary(result) == [(0, 101.5, round(THIRD, 6), "take_profit"), (0, 103.0, round(THIRD, 6), "take_profit"),
                               (0, 103.0, round(THIRD, 6), "end_of_data")]
    assert not result.closed  # the last third is only marked out at the close


def test_stop_moves_to_break_even_after_the_first_target() -> None:
    bars = [(100, 101.6, 99.9, 101.0), (101.0, 101.2, 99.5, 99.8)]
    assert summary(run(make_plan("LONG"), bars)) == [(0, 101.5, round(THIRD, 6), "take_profit"),
                                                      (1, 100.0, round(2 * THIRD, 6), "break_even")]


def test_short_stop_moves_to_break_even_after_the_first_target() -> None:
    bars = [(100, 100.1, 98.4, 99.0), (99.0, 100.5, 98.9, 100.2)]
    assert summary(run(make_plan("SHORT"), bars))[-1] == (1, 100.0, round(2 * THIRD, 6), "break_even")


def test_without_break_even_the_original_stop_stays() -> None:
    no_be = ExitModeSection(break_even=BreakEvenSection(enabled=False))
    bars = [(100, 101.6, 99.9, 101.0), (101.0, 101.2, 99.5, 99.8)]
    result = run(make_plan("LONG", no_be), bars)
    assert [f.kind for f in result.fills] == [FillKind.TAKE_PROFIT, FillKind.END_OF_DATA]


def test_break_even_works_from_the_bar_after_the_target_fill() -> None:
    result = run(make_plan("LONG"), [(100, 101.6, 99.5, 100.0)])
    assert [f.kind for f in result.fills] == [FillKind.TAKE_PROFIT, FillKind.END_OF_DATA]


TRAIL_ONLY = ExitModeSection(
    take_profit=[LadderStep(r_multiple=10.0, fraction=1.0)],
    break_even=BreakEvenSection(enabled=False),
    trailing=TrailingSection(enabled=True, activation_r=1.0, distance_atr=1.0),
)


def test_long_trailing_stop_follows_the_best_high_once_armed() -> None:
    bars = [(100, 101.0, 99.5, 100.8), (100.8, 102.5, 100.7, 102.4), (102.4, 103.5, 101.0, 101.2)]
    # armed in bar 1 (high 102.5 >= 101.5); bar 2 works with 102.5 - 1 = 101.5
    assert summary(run(make_plan("LONG", TRAIL_ONLY), bars)) == [(2, 101.5, 1.0, "trailing")]


def test_short_trailing_stop_follows_the_best_low_once_armed() -> None:
    bars = [(100, 100.5, 99.0, 99.2), (99.2, 99.3, 97.5, 97.6), (97.6, 99.0, 96.5, 98.8)]
    assert summary(run(make_plan("SHORT", TRAIL_ONLY), bars)) == [(2, 98.5, 1.0, "trailing")]


def test_trailing_stop_is_not_armed_before_the_activation_move() -> None:
    bars = [(100, 101.4, 99.5, 101.3), (101.3, 101.4, 99.0, 99.2)]
    result = run(make_plan("LONG", TRAIL_ONLY), bars)
    assert [f.kind for f in result.fills] == [FillKind.END_OF_DATA]


def test_trailing_distance_in_percent_of_the_best_price() -> None:
    pct = TRAIL_ONLY.model_copy(update={"trailing": TrailingSection(
        enabled=True, activation_r=1.0, distance_atr=None, distance_pct=0.02)})
    bars = [(100, 110.0, 99.5, 109.0), (109.0, 109.5, 107.0, 107.5)]
    assert summary(run(make_plan("LONG", pct), bars)) == [(1, 107.8, 1.0, "trailing")]


def test_trailing_stop_gapped_through_fills_at_the_open() -> None:
    bars = [(100, 104.0, 99.5, 103.8), (101.0, 101.5, 100.5, 101.2)]
    assert summary(run(make_plan("LONG", TRAIL_ONLY), bars)) == [(1, 101.0, 1.0, "trailing")]


def test_time_stop_closes_at_the_open_after_max_bars() -> None:
    timed = ExitModeSection(time_stop=TimeStopSection(enabled=True, max_bars=3))
    bars = [(100, 100.5, 99.5, 100.0)] * 2 + [(100.0, 100.5, 99.5, 100.2), (100.3, 100.5, 99.5, 100.0)]
    result = run(make_plan("LONG", timed), bars)
    assert summary(result) == [(3, 100.3, 1.0, "time")]
    assert result.closed


def test_time_stop_in_ms_closes_at_the_first_bar_opening_after_the_deadline() -> None:
    timed = ExitModeSection(time_stop=TimeStopSection(enabled=True, max_ms=2 * HOUR_MS))
    plan = make_plan("SHORT", timed, entry_time_ms=0)
    bars = [(100, 100.5, 99.5, 100.0), (100.0, 100.5, 99.5, 100.2), (100.4, 100.5, 99.5, 100.0)]
    assert summary(run(plan, bars, [0, HOUR_MS, 2 * HOUR_MS])) == [(2, 100.4, 1.0, "time")]


def test_time_stop_in_ms_needs_bar_times() -> None:
    timed = ExitModeSection(time_stop=TimeStopSection(enabled=True, max_ms=HOUR_MS))
    with pytest.raises(InputValidationError) as info:
        run(make_plan("LONG", timed, entry_time_ms=0), [(100, 100.5, 99.5, 100.0)])
    assert info.value.field == "times_ms"


def test_open_position_at_the_end_of_data_is_marked_at_the_last_close() -> None:
    result = run(make_plan("LONG"), [(100, 100.5, 99.5, 100.1), (100.1, 100.6, 99.6, 100.4)])
    assert summary(result) == [(1, 100.4, 1.0, "end_of_data")]
    assert not result.closed


def test_exit_found_beyond_the_first_search_window() -> None:
    flat = [(100.0, 100.5, 99.5, 100.0)] * 500
    result = run(make_plan("LONG"), [*flat, (100.0, 100.2, 98.0, 98.2)])
    assert summary(result) == [(500, 98.5, 1.0, "stop")]


def test_nan_low_in_the_searched_bars_is_refused_naming_the_column() -> None:
    with pytest.raises(InputValidationError) as info:
        run(make_plan("LONG"), [(100, 100.5, 99.5, 100.0), (100.0, 100.5, math.nan, 100.0)])
    assert info.value.field == "low"


def test_mismatched_array_lengths_are_refused() -> None:
    with pytest.raises(InputValidationError):
        simulate_exits(make_plan(), [100.0, 100.0], [101.0], [99.0], [100.0])


# Reference model: the same rules written bar by bar, to check the vectorized search against.
def reference(plan: ExitPlan, o: np.ndarray, h: np.ndarray, low: np.ndarray, c: np.ndarray,
              ) -> list[tuple[int, float, float, FillKind]]:
    d = plan.direction
    op, hi, lo = (d * o, d * h, d * low) if d == 1 else (d * o, d * low, d * h)
    targets = [d * t.price for t in plan.targets]
    fractions = [t.steps / plan.steps for t in plan.targets]
    level, level_kind = d * plan.stop_price, FillKind.STOP
    best, k, left = d * plan.entry_price, 0, 1.0
    fills: list[tuple[int, float, float, FillKind]] = []
    tr = plan.trailing
    for i in range(len(o)):
        line, kind = level, level_kind
        if tr is not None and best >= d * tr.activation_price:
            trail = best - (tr.distance or 0.0) - abs(best) * (tr.distance_pct or 0.0)
            if trail > level:
                line, kind = trail, FillKind.TRAILING
        if op[i] <= line:
            fills.append((i, d * op[i], left, kind))
            return fills
        at_open = k < len(targets) and op[i] >= targets[k]
        if lo[i] <= line and not at_open:
            fills.append((i, d * line, left, kind))
            return fills
        while k < len(targets) and hi[i] >= targets[k]:
            fills.append((i, d * max(op[i], targets[k]), fractions[k], FillKind.TAKE_PROFIT))
            left -= fractions[k]
            be = plan.break_even_price
            if k == plan.break_even_after and be is not None and d * be > level:
                level, level_kind = d * be, FillKind.BREAK_EVEN
            k += 1
            if k == len(targets):
                return fills
        if lo[i] <= line:
            fills.append((i, d * line, left, kind))
            return fills
        best = max(best, hi[i])
    fills.append((len(o) - 1, float(c[-1]), left, FillKind.END_OF_DATA))
    return fills


MODES = {
    "ladder": None,
    "trail_atr": ExitModeSection(trailing=TrailingSection(enabled=True, activation_r=0.5, distance_atr=0.8)),
    "trail_pct": ExitModeSection(
        take_profit=[LadderStep(r_multiple=1.0, fraction=0.25), LadderStep(r_multiple=6.0, fraction=0.75)],
        trailing=TrailingSection(enabled=True, activation_r=1.0, distance_atr=None, distance_pct=0.01)),
}


def _random_bars(seed: int, n: int) -> tuple[Any, Any, Any, Any]:
    """``n`` random hourly OHLC bars (open, high, low, close) with occasional gaps, from ``seed``."""
    rng = np.random.default_rng(seed)
    gaps = rng.normal(0, 0.4, n) * (rng.random(n) < 0.1)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.004, n) + gaps / 100))
    open_ = np.concatenate(([100.0], close[:-1])) * np.exp(gaps / 100)
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.004, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.004, n)))
    return open_, high, low, close


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), side=st.sampled_from(["LONG", "SHORT"]),
       mode=st.sampled_from(sorted(MODES)), n=st.integers(1, 700))
def test_vectorized_search_matches_the_bar_by_bar_reference(seed: int, side: str, mode: str, n: int) -> None:
    open_, high, low, close = _random_bars(seed, n)
    plan = make_plan(side, MODES[mode])
    got = simulate_exits(plan, open_, high, low, close).fills
    want = reference(plan, open_, high, low, close)
    assert [(f.bar, f.kind) for f in got] == [(b, k) for b, _, _, k in want]
    assert [f.price for f in got] == pytest.approx([p for _, p, _, _ in want])
    assert [f.fraction for f in got] == pytest.approx([q for _, _, q, _ in want])


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), side=st.sampled_from(["LONG", "SHORT"]),
       mode=st.sampled_from(sorted(MODES)), n=st.integers(1, 120))
def test_bar_loop_of_the_first_window_is_exactly_the_vectorized_search(seed: int, side: str, mode: str,
                                                                       n: int) -> None:
    # simulate_exits scans the first window bar by bar (_scan) and only then switches to the
    # vectorized search (_Run): both must give the same fills to the last bit, closed or not.
    from riskguard.replay.exit_simulation import _Run, _scan

    open_, high, low, _ = _random_bars(seed, n)
    plan = make_plan(side, MODES[mode])
    entry = plan.direction * plan.entry_price
    got = _scan(plan, open_.tolist(), high.tolist(), low.tolist(), entry)
    assert got == _Run(plan, open_, high, low).run(entry)
