"""Dynamic stop adjustment: a ratchet from a lock ladder in R and an ATR chandelier; it never
loosens, never crosses the price, and sends no move smaller than its minimum."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskguard.config.exits_schema import DynamicStopSection, ExitsSection, LockStepSection
from riskguard.exits import build_exit_plan, compile_exit_rules
from riskguard.exits.dynamic_stop import CHANDELIER, LOCK, UNCHANGED, adjust_stop, compile_dynamic_stop_rule
from riskguard.exits.plan import ExitPlan
from riskguard.model import InputValidationError, InstrumentRules

EXITS = compile_exit_rules(ExitsSection())
RULE = compile_dynamic_stop_rule(DynamicStopSection())
INSTRUMENT = InstrumentRules("TESTUSDT", tick_size=0.01, step_size=0.001, min_qty=0.001, min_notional=5.0)


def plan(side: str = "LONG") -> ExitPlan:
    """Entry 100, ATR 2: stop 3 USDT away (1.5 ATR), so one R = 3."""
    return build_exit_plan(EXITS, INSTRUMENT, side, 100.0, 1.0, 2.0)


def test_the_stop_holds_before_the_trade_moves_one_r() -> None:
    update = adjust_stop(RULE, plan(), 97.0, best_price=102.9, last_price=102.0, atr=2.0)
    assert (update.stop_price, update.moved, update.reason, update.order) == (97.0, False, UNCHANGED, None)


def test_one_r_in_favour_moves_the_stop_to_break_even() -> None:
    update = adjust_stop(RULE, plan(), 97.0, best_price=103.0, last_price=102.5, atr=2.0)
    assert (update.stop_price, update.moved, update.reason) == (100.0, True, LOCK)
    assert update.order is not None and update.order["params"]["stopPrice"] == 100.0


def test_two_r_in_favour_locks_one_r_of_profit() -> None:
    update = adjust_stop(RULE, plan(), 100.0, best_price=106.0, last_price=105.0, atr=2.0)
    assert (update.stop_price, update.reason) == (103.0, LOCK)


def test_the_chandelier_trails_the_best_price_by_three_atr_once_armed() -> None:
    update = adjust_stop(RULE, plan(), 103.0, best_price=115.0, last_price=114.0, atr=2.0)
    assert (update.stop_price, update.reason) == (109.0, CHANDELIER)


def test_a_wider_market_never_loosens_the_stop() -> None:
    update = adjust_stop(RULE, plan(), 109.0, best_price=115.0, last_price=112.0, atr=6.0)
    assert (update.stop_price, update.moved) == (109.0, False)


def test_the_stop_stays_a_tick_behind_the_last_price() -> None:
    update = adjust_stop(RULE, plan(), 100.0, best_price=120.0, last_price=103.5, atr=0.1)
    assert update.stop_price == 103.49


def test_a_short_stop_moves_down_only() -> None:
    update = adjust_stop(RULE, plan("SHORT"), 103.0, best_price=97.0, last_price=97.5, atr=2.0)
    assert (update.stop_price, update.reason) == (100.0, LOCK)
    assert update.order is not None and update.order["side"] == "buy"


def test_moves_smaller_than_the_minimum_are_not_sent() -> None:
    rule = compile_dynamic_stop_rule(DynamicStopSection(min_move_ticks=50))
    update = adjust_stop(rule, plan(), 99.9, best_price=103.0, last_price=102.5, atr=2.0)
    assert (update.stop_price, update.moved) == (99.9, False)


def test_the_replacement_order_uses_the_exchange_symbol_when_given() -> None:
    update = adjust_stop(RULE, plan(), 97.0, 103.0, 102.5, 2.0, symbol="TEST/USDT:USDT")
    assert update.order is not None and update.order["symbol"] == "TEST/USDT:USDT"


def test_lock_steps_must_lock_less_than_they_require() -> None:
    with pytest.raises(ValueError, match="lock_r must be below trigger_r"):
        LockStepSection(trigger_r=1.0, lock_r=1.0)


@pytest.mark.parametrize("field", ["current_stop", "best_price", "last_price", "atr"])
def test_a_bad_input_is_refused_naming_the_field(field: str) -> None:
    values = {"current_stop": 97.0, "best_price": 103.0, "last_price": 102.0, "atr": 2.0} | {field: float("nan")}
    with pytest.raises(InputValidationError) as error:
        adjust_stop(RULE, plan(), **values)
    assert error.value.field == field


@settings(max_examples=300, deadline=None)
@given(
    side=st.sampled_from(["LONG", "SHORT"]),
    path=st.lists(st.tuples(st.floats(-5.0, 5.0), st.floats(0.05, 8.0)), min_size=1, max_size=40),
)
def test_along_any_price_path_the_stop_only_tightens_and_never_crosses_the_price(
        side: str, path: list[tuple[float, float]]) -> None:
    exit_plan = plan(side)
    direction = exit_plan.direction
    stop = exit_plan.stop_price
    price = best = 100.0
    for move, atr in path:
        price = round(max(1.0, price + move), 2)
        if (price - stop) * direction <= 0:
            break  # stopped out: the adjuster is not asked any more
        best = max(best, price) if direction == 1 else min(best, price)
        update = adjust_stop(RULE, exit_plan, stop, best, price, atr)
        assert (update.stop_price - stop) * direction >= 0
        assert (price - update.stop_price) * direction > 0
        stop = update.stop_price
