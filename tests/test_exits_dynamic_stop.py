"""Dynamic stop adjustment: a ratchet from a lock ladder in R, a break-even lock after a target
fill, an ATR and/or percentage trail tightened in HIGH_VOL and while size is reduced; it never
loosens, never crosses the price, and sends no move smaller than its minimum."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from riskguard.config.exits_schema import DynamicStopSection, ExitsSection, LockStepSection
from riskguard.exits import build_exit_plan, compile_exit_rules
from riskguard.exits.dynamic_stop import (
    BREAK_EVEN_TARGET,
    CHANDELIER,
    HIGH_VOL,
    LOCK,
    REDUCED_SIZE,
    TRAIL_PCT,
    UNCHANGED,
    DynamicStopRule,
    adjust_stop,
    compile_dynamic_stop_rule,
)
from riskguard.exits.plan import ExitPlan
from riskguard.model import InputValidationError, InstrumentRules, Regime

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


def rule(**fields: object) -> DynamicStopRule:
    """A rule with no lock ladder and no trail unless ``fields`` add them (one rule at a time)."""
    base: dict[str, object] = {"lock_steps": [], "trailing": False, "atr_multiple": None}
    return compile_dynamic_stop_rule(DynamicStopSection(**(base | fields)))  # type: ignore[arg-type]


# -- break-even after a take-profit target filled -------------------------------------------------
@pytest.mark.parametrize(("side", "start", "locked"), [("LONG", 97.0, 100.0), ("SHORT", 103.0, 100.0)])
def test_the_stop_moves_to_break_even_once_the_named_target_filled(side: str, start: float, locked: float) -> None:
    update = adjust_stop(rule(break_even_after_target=0), plan(side), start, 100.5 if side == "LONG" else 99.5,
                         100.2 if side == "LONG" else 99.8, 2.0, targets_filled=1)
    assert (update.stop_price, update.moved, update.reason) == (locked, True, BREAK_EVEN_TARGET)


@pytest.mark.parametrize("side", ["LONG", "SHORT"])
def test_the_target_lock_waits_for_its_own_target(side: str) -> None:
    target_two = rule(break_even_after_target=1)
    start = plan(side).stop_price
    best, last = (100.5, 100.2) if side == "LONG" else (99.5, 99.8)
    before = adjust_stop(target_two, plan(side), start, best, last, 2.0, targets_filled=1)
    after = adjust_stop(target_two, plan(side), start, best, last, 2.0, targets_filled=2)
    assert (before.moved, after.moved, after.stop_price) == (False, True, 100.0)


@pytest.mark.parametrize(("side", "locked"), [("LONG", 100.3), ("SHORT", 99.7)])
def test_the_target_lock_keeps_its_offset_beyond_entry(side: str, locked: float) -> None:
    best, last = (101.0, 100.8) if side == "LONG" else (99.0, 99.2)
    update = adjust_stop(rule(break_even_after_target=0, break_even_offset_r=0.1), plan(side),
                         plan(side).stop_price, best, last, 2.0, targets_filled=1)
    assert update.stop_price == locked


def test_without_a_target_lock_a_target_fill_moves_nothing() -> None:
    update = adjust_stop(rule(), plan(), 97.0, 100.5, 100.2, 2.0, targets_filled=3)
    assert update.moved is False


def test_the_target_lock_needs_a_ladder_long_enough() -> None:
    with pytest.raises(ValidationError, match=r"dynamic_stop\.break_even_after_target 3"):
        ExitsSection(dynamic_stop=DynamicStopSection(break_even_after_target=3))


# -- percentage trail -----------------------------------------------------------------------------
@pytest.mark.parametrize(("side", "best", "last", "trailed"), [
    ("LONG", 103.0, 102.5, 97.85), ("SHORT", 97.0, 97.5, 101.85)])
def test_the_percentage_trail_arms_at_its_r_and_trails_the_best_price(
        side: str, best: float, last: float, trailed: float) -> None:
    pct = rule(trailing=True, trail_pct=0.05, chandelier_after_r=1.0)
    update = adjust_stop(pct, plan(side), plan(side).stop_price, best, last, 2.0)
    assert (update.stop_price, update.reason) == (trailed, TRAIL_PCT)


@pytest.mark.parametrize(("side", "best"), [("LONG", 102.99), ("SHORT", 97.01)])
def test_the_percentage_trail_is_not_armed_below_its_r(side: str, best: float) -> None:
    pct = rule(trailing=True, trail_pct=0.05, chandelier_after_r=1.0)
    update = adjust_stop(pct, plan(side), plan(side).stop_price, best, best, 2.0)
    assert update.moved is False


def test_with_both_trails_the_tighter_binds() -> None:
    both = rule(trailing=True, atr_multiple=3.0, trail_pct=0.02)
    assert adjust_stop(both, plan(), 97.0, 115.0, 114.0, 2.0).reason == TRAIL_PCT   # 112.7 beats 109
    assert adjust_stop(both, plan(), 97.0, 115.0, 114.0, 0.5).reason == CHANDELIER  # 113.5 beats 112.7


@pytest.mark.parametrize(("fields", "named"), [
    ({"atr_multiple": None}, "atr_multiple or trail_pct"),
    ({"trail_pct": 1.0}, "trail_pct"),
    ({"trail_pct": -0.01}, "trail_pct"),
    ({"atr_multiple": 0.0}, "atr_multiple"),
    ({"high_vol_tighten": 0.0}, "high_vol_tighten"),
    ({"high_vol_tighten": 1.2}, "high_vol_tighten"),
    ({"reduced_size_tighten": -0.5}, "reduced_size_tighten"),
    ({"break_even_offset_r": -0.1}, "break_even_offset_r"),
    ({"break_even_after_target": -1}, "break_even_after_target"),
])
def test_a_nonsense_setting_is_refused_naming_it(fields: dict[str, object], named: str) -> None:
    with pytest.raises(ValidationError, match=named):
        DynamicStopSection(**fields)  # type: ignore[arg-type]


def test_trailing_off_needs_no_distance_and_never_trails() -> None:
    off = compile_dynamic_stop_rule(DynamicStopSection(trailing=False, atr_multiple=None, lock_steps=[]))
    assert adjust_stop(off, plan(), 97.0, 130.0, 129.0, 2.0).moved is False


def test_without_a_trail_nothing_is_tightened() -> None:
    off = compile_dynamic_stop_rule(DynamicStopSection(trailing=False))
    update = adjust_stop(off, plan(), 97.0, 115.0, 114.0, 2.0, regime=Regime.HIGH_VOL, size_multiplier=0.5)
    assert (update.reason, update.tightened_by) == (LOCK, ())


def test_the_defaults_keep_the_original_rule() -> None:
    assert (RULE.atr_multiple, RULE.trail_pct, RULE.break_even_after_target, RULE.chandelier_after_r) == (
        3.0, None, None, 1.0)


# -- tightened in HIGH_VOL and while size is reduced ----------------------------------------------
@pytest.mark.parametrize(("side", "best", "last", "normal", "tight"), [
    ("LONG", 115.0, 114.0, 109.0, 112.0), ("SHORT", 85.0, 86.0, 91.0, 88.0)])
def test_a_high_vol_regime_halves_the_trail(side: str, best: float, last: float, normal: float,
                                            tight: float) -> None:
    start = 100.0
    calm = adjust_stop(RULE, plan(side), start, best, last, 2.0, regime=Regime.BULL)
    wild = adjust_stop(RULE, plan(side), start, best, last, 2.0, regime=Regime.HIGH_VOL)
    assert (calm.stop_price, calm.reason, calm.tightened_by) == (normal, CHANDELIER, ())
    assert (wild.stop_price, wild.reason, wild.tightened_by) == (tight, HIGH_VOL, (HIGH_VOL,))


def test_a_high_vol_tighten_of_one_changes_nothing() -> None:
    off = compile_dynamic_stop_rule(DynamicStopSection(high_vol_tighten=1.0))
    update = adjust_stop(off, plan(), 100.0, 115.0, 114.0, 2.0, regime="high_vol")
    assert (update.stop_price, update.reason) == (109.0, CHANDELIER)


@pytest.mark.parametrize(("side", "best", "last", "tight"), [
    ("LONG", 115.0, 114.0, 110.5), ("SHORT", 85.0, 86.0, 89.5)])
def test_a_reduced_size_tightens_the_trail_to_three_quarters(side: str, best: float, last: float,
                                                             tight: float) -> None:
    full = adjust_stop(RULE, plan(side), 100.0, best, last, 2.0, size_multiplier=1.0)
    reduced = adjust_stop(RULE, plan(side), 100.0, best, last, 2.0, size_multiplier=0.999)
    assert full.reason == CHANDELIER
    assert (reduced.stop_price, reduced.reason, reduced.tightened_by) == (tight, REDUCED_SIZE, (REDUCED_SIZE,))


def test_high_vol_and_reduced_size_tighten_together() -> None:
    update = adjust_stop(RULE, plan(), 100.0, 115.0, 114.0, 2.0, regime=Regime.HIGH_VOL, size_multiplier=0.5)
    assert (update.stop_price, update.reason, update.tightened_by) == (112.75, HIGH_VOL, (HIGH_VOL, REDUCED_SIZE))


def test_a_tightening_does_not_arm_the_trail_early() -> None:
    update = adjust_stop(RULE, plan(), 97.0, 102.9, 102.5, 0.1, regime=Regime.HIGH_VOL, size_multiplier=0.5)
    assert (update.moved, update.tightened_by) == (False, ())


def test_the_regime_calming_down_keeps_the_tightened_stop() -> None:
    wild = adjust_stop(RULE, plan(), 100.0, 115.0, 114.0, 2.0, regime=Regime.HIGH_VOL)
    calm = adjust_stop(RULE, plan(), wild.stop_price, 115.0, 114.0, 2.0, regime=Regime.NORMAL)
    assert (calm.stop_price, calm.moved) == (112.0, False)


@pytest.mark.parametrize(("field", "value"), [
    ("size_multiplier", 0.0), ("size_multiplier", 1.5), ("size_multiplier", float("nan")),
    ("regime", "SIDEWAYS"), ("targets_filled", -1), ("targets_filled", 1.5)])
def test_a_bad_keyword_is_refused_naming_it(field: str, value: object) -> None:
    with pytest.raises(InputValidationError) as error:
        adjust_stop(RULE, plan(), 97.0, 103.0, 102.0, 2.0, **{field: value})  # type: ignore[arg-type]
    assert error.value.field == field


# -- the ratchet ----------------------------------------------------------------------------------
RULES = {
    "default": RULE,
    "percent": compile_dynamic_stop_rule(DynamicStopSection(atr_multiple=None, trail_pct=0.03)),
    "both+target": compile_dynamic_stop_rule(DynamicStopSection(
        trail_pct=0.01, break_even_after_target=0, break_even_offset_r=0.2, chandelier_after_r=0.5)),
    "hard": compile_dynamic_stop_rule(DynamicStopSection(high_vol_tighten=0.1, reduced_size_tighten=0.2,
                                                         min_move_ticks=3)),
}


@settings(max_examples=300, deadline=None)
@given(
    side=st.sampled_from(["LONG", "SHORT"]),
    rule_name=st.sampled_from(sorted(RULES)),
    path=st.lists(st.tuples(st.floats(-5.0, 5.0), st.floats(0.05, 8.0), st.sampled_from([None, *Regime]),
                            st.sampled_from([1.0, 0.75, 0.5, 0.25]), st.booleans()), min_size=1, max_size=40),
)
def test_along_any_price_path_the_stop_only_tightens_and_never_crosses_the_price(
        side: str, rule_name: str, path: list[tuple[float, float, Regime | None, float, bool]]) -> None:
    """Whatever the regime, the size multiplier and the target fills do from one step to the next
    (HIGH_VOL coming and going, size cut then restored), the stop never loosens."""
    exit_plan = plan(side)
    direction = exit_plan.direction
    stop = exit_plan.stop_price
    price = best = 100.0
    targets = 0
    for move, atr, regime, multiplier, target_fills in path:
        price = round(max(1.0, price + move), 2)
        if (price - stop) * direction <= 0:
            break  # stopped out: the adjuster is not asked any more
        best = max(best, price) if direction == 1 else min(best, price)
        targets += int(target_fills)
        update = adjust_stop(RULES[rule_name], exit_plan, stop, best, price, atr, targets_filled=targets,
                             regime=regime, size_multiplier=multiplier)
        assert (update.stop_price - stop) * direction >= 0
        assert (price - update.stop_price) * direction > 0
        assert update.moved == (update.stop_price != stop)
        stop = update.stop_price
