"""Pyramiding rules: adds only behind a winning trend, each smaller than the last, never more risk
than the original trade, and the combined stop raised to hold that."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskguard.config import preset
from riskguard.config.exits_schema import PyramidingSection
from riskguard.exits.pyramiding import (
    MAX_ADDS_REACHED,
    NO_ROOM_FOR_RISK,
    NOT_IN_PROFIT,
    PyramidPosition,
    PyramidRule,
    compile_pyramid_rule,
    plan_add,
)
from riskguard.model import InputValidationError, InstrumentRules, PositionSide

RULE = compile_pyramid_rule(PyramidingSection())
INSTRUMENT = InstrumentRules("TESTUSDT", tick_size=0.01, step_size=0.001, min_qty=0.001, min_notional=5.0)


def long_position() -> PyramidPosition:
    """1 unit long at 100 with its stop at 98: one R = 2 USDT, initial risk 2 USDT."""
    return PyramidPosition.opened("TESTUSDT", "LONG", 1.0, 100.0, 98.0)


def short_position() -> PyramidPosition:
    return PyramidPosition.opened("TESTUSDT", "SHORT", 1.0, 100.0, 102.0)


def test_the_presets_carry_the_default_pyramiding_rules() -> None:
    assert compile_pyramid_rule(preset("moderate").exits.pyramiding) == PyramidRule(2, 1.0, 0.5, 1.0, 0.5, 900_000.0)


def test_an_add_before_price_moved_one_r_is_refused() -> None:
    answer = plan_add(RULE, INSTRUMENT, long_position(), 101.99)
    assert (answer.allowed, answer.reason, answer.max_qty) == (False, NOT_IN_PROFIT, 0.0)


def test_an_add_on_a_losing_position_is_refused() -> None:
    assert plan_add(RULE, INSTRUMENT, long_position(), 99.0).reason == NOT_IN_PROFIT


def test_an_add_one_r_in_profit_is_at_most_half_the_last_leg() -> None:
    answer = plan_add(RULE, INSTRUMENT, long_position(), 102.0)
    assert answer.allowed
    assert answer.max_qty == 0.5


def test_an_add_raises_the_combined_stop_so_the_position_risks_no_more_than_the_first_leg() -> None:
    answer = plan_add(RULE, INSTRUMENT, long_position(), 102.0)
    # 1.5 units at an average of 100.667: a 2 USDT budget puts the stop at 99.333, rounded up.
    assert answer.stop_price == 99.34
    assert answer.risk_usdt <= 2.0
    assert answer.stop_order is not None
    assert answer.stop_order["params"] == {"stopPrice": 99.34, "closePosition": True, "workingType": "MARK_PRICE"}
    assert answer.stop_order["side"] == "sell"


def test_a_short_add_lowers_the_stop_above_the_price() -> None:
    answer = plan_add(RULE, INSTRUMENT, short_position(), 98.0)
    assert answer.allowed
    assert answer.stop_price == 100.66
    assert answer.stop_order is not None and answer.stop_order["side"] == "buy"


def test_a_smaller_requested_add_is_kept_as_asked() -> None:
    assert plan_add(RULE, INSTRUMENT, long_position(), 102.0, qty=0.2).max_qty == 0.2


def test_the_third_add_is_refused_after_two() -> None:
    position = long_position().with_add(0.5, 102.0, 99.34).with_add(0.25, 104.0, 101.0)
    assert plan_add(RULE, INSTRUMENT, position, 110.0).reason == MAX_ADDS_REACHED


def test_zero_adds_allowed_refuses_every_add() -> None:
    rule = compile_pyramid_rule(PyramidingSection(max_adds=0))
    assert plan_add(rule, INSTRUMENT, long_position(), 150.0).reason == MAX_ADDS_REACHED


def test_an_add_that_cannot_keep_its_stop_one_r_away_within_budget_is_refused() -> None:
    # Half an R up, a stop one R below the add sits at 99: the held leg alone loses 1 USDT there,
    # more than the 0.2 USDT budget.
    rule = compile_pyramid_rule(PyramidingSection(min_profit_r=0.5, max_combined_risk_r=0.1))
    answer = plan_add(rule, INSTRUMENT, long_position(), 101.0)
    assert (answer.allowed, answer.reason) == (False, NO_ROOM_FOR_RISK)


def test_a_tighter_current_stop_is_kept_after_an_add() -> None:
    trailed = PyramidPosition("TESTUSDT", PositionSide.LONG, long_position().legs, 101.5, 2.0)
    answer = plan_add(RULE, INSTRUMENT, trailed, 104.0)
    assert answer.allowed and answer.stop_price == 101.5


def test_a_stop_at_the_entry_price_is_refused_naming_the_field() -> None:
    with pytest.raises(InputValidationError) as error:
        PyramidPosition.opened("TESTUSDT", "LONG", 1.0, 100.0, 100.0)
    assert error.value.field == "stop_price"


@pytest.mark.parametrize("price", [0.0, -1.0, float("nan"), float("inf")])
def test_a_bad_add_price_is_refused_naming_the_field(price: float) -> None:
    with pytest.raises(InputValidationError) as error:
        plan_add(RULE, INSTRUMENT, long_position(), price)
    assert error.value.field == "price"


@settings(max_examples=300, deadline=None)
@given(
    side=st.sampled_from(["LONG", "SHORT"]),
    stop_distance=st.floats(0.05, 20.0),
    moves=st.lists(st.tuples(st.floats(-10.0, 40.0), st.floats(0.001, 5.0)), min_size=1, max_size=6),
    budget_r=st.floats(0.1, 3.0),
    ratio=st.floats(0.05, 1.0),
)
def test_no_sequence_of_adds_ever_risks_more_than_the_budget_or_loosens_the_stop(
        side: str, stop_distance: float, moves: list[tuple[float, float]], budget_r: float, ratio: float) -> None:
    rule = PyramidRule(max_adds=4, min_profit_r=0.5, size_ratio=ratio, max_combined_risk_r=budget_r)
    direction = 1 if side == "LONG" else -1
    entry = 100.0
    stop = round(entry - direction * stop_distance, 2)
    position = PyramidPosition.opened("TESTUSDT", side, 1.0, entry, stop)
    budget = budget_r * position.initial_risk_usdt
    price = entry
    for move, wanted in moves:
        price = round(max(1.0, price + direction * move), 2)
        answer = plan_add(rule, INSTRUMENT, position, price, qty=wanted)
        if not answer.allowed:
            continue
        assert answer.max_qty <= min(wanted, ratio * position.legs[-1].qty) + 1e-12
        assert (answer.stop_price - position.stop_price) * direction >= 0  # only ratchets
        assert (price - answer.stop_price) * direction > 0  # the stop stays on the safe side
        position = position.with_add(answer.max_qty, price, answer.stop_price)
        # The whole position's loss at the new stop stays within the budget (or the stop was
        # already tighter than the budget asked).
        assert position.risk_at(position.stop_price) <= max(budget, position.risk_at(stop)) + 1e-9
        stop = position.stop_price
