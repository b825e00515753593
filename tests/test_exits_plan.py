"""Exit plans: ATR stop with volatility / regime / mode multipliers, ladder, rounding, order params."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskguard.config.exits_schema import ExitModeSection, ExitsSection, LadderStep, TimeStopSection
from riskguard.exits import (
    ExitPlan,
    VolState,
    build_exit_plan,
    compile_exit_rules,
    stop_distance,
    stop_price,
)
from riskguard.model import InputValidationError, InstrumentRules, PositionSide, Regime

RULES = compile_exit_rules(ExitsSection())
INSTRUMENT = InstrumentRules("TESTUSDT", tick_size=0.01, step_size=0.001, min_qty=0.001, min_notional=5.0)


def plan(side: str = "LONG", **kwargs: object) -> ExitPlan:
    params: dict[str, object] = {"entry_price": 100.0, "qty": 0.9, "atr": 1.0} | kwargs
    return build_exit_plan(RULES, INSTRUMENT, side, **params)  # type: ignore[arg-type]


def on_grid(value: float, increment: float) -> bool:
    return abs(value / increment - round(value / increment)) < 1e-6


def test_long_stop_is_one_and_a_half_atr_below_entry() -> None:
    p = plan("LONG")
    assert p.stop_price == 98.5
    assert p.risk_per_unit == pytest.approx(1.5)


def test_short_stop_is_one_and_a_half_atr_above_entry() -> None:
    assert plan("SHORT").stop_price == 101.5


def test_high_volatility_widens_the_stop_to_two_atr() -> None:
    assert plan(volatility=VolState.HIGH).stop_price == 98.0


def test_low_volatility_tightens_the_stop_to_one_atr() -> None:
    assert plan(volatility="low").stop_price == 99.0


def test_regime_multiplies_the_stop_distance() -> None:
    assert plan(regime=Regime.BULL).stop_price == pytest.approx(100 - 1.5 * 0.8)
    assert plan(regime=Regime.BEAR).stop_price == pytest.approx(100 - 1.5 * 1.2)
    assert plan(regime="CHOP").stop_price == 98.5


def test_high_vol_regime_implies_high_volatility_unless_told_otherwise() -> None:
    assert plan(regime="HIGH_VOL").stop_price == 97.0  # 2.0 ATR x 1.5
    assert plan(regime="HIGH_VOL", volatility="normal").stop_price == pytest.approx(100 - 1.5 * 1.5)
    assert plan(regime=Regime.LOW_VOL).stop_price == 99.0


def test_stop_price_alone_matches_the_plan_so_sizing_can_use_it_first() -> None:
    for side in ("LONG", "SHORT"):
        for regime in Regime:
            alone = stop_price(RULES, INSTRUMENT, side, 100.0, 0.77, regime=regime, mode="tight")
            assert alone == plan(side, atr=0.77, regime=regime, mode="tight").stop_price
    assert stop_distance(RULES, 2.0, regime=Regime.BEAR) == pytest.approx(2.0 * 1.5 * 1.2)


def test_long_ladder_takes_thirds_at_one_two_and_three_r() -> None:
    p = plan("LONG")
    assert [t.price for t in p.targets] == [101.5, 103.0, 104.5]
    assert [t.qty for t in p.targets] == [0.3, 0.3, 0.3]


def test_short_ladder_targets_sit_below_entry() -> None:
    assert [t.price for t in plan("SHORT").targets] == [98.5, 97.0, 95.5]


def test_regime_take_profit_multiplier_scales_target_r() -> None:
    bull = plan(regime=Regime.BULL)
    assert [t.r_multiple for t in bull.targets] == pytest.approx([1.5, 3.0, 4.5])
    assert bull.targets[0].price == pytest.approx(100 + 1.5 * bull.risk_per_unit, abs=0.01)


def test_tight_mode_shrinks_stop_and_targets_and_sets_a_time_stop() -> None:
    tight = plan(mode="tight")
    assert tight.stop_price == 98.88  # 100 - 1.125 = 98.875, rounded toward entry
    assert tight.targets[0].r_multiple == pytest.approx(0.75)
    assert tight.time_stop_bars == 48


def test_trailing_mode_arms_a_trailing_stop_at_one_r() -> None:
    p = plan(mode="trailing")
    assert p.trailing is not None
    assert p.trailing.activation_price == 101.5
    assert p.trailing.distance == pytest.approx(1.5)


def test_break_even_defaults_to_entry_after_the_first_target() -> None:
    p = plan()
    assert p.break_even_after == 0
    assert p.break_even_price == 100.0


def test_stops_round_toward_entry_so_rounding_never_adds_risk() -> None:
    assert plan(atr=0.3337).stop_price == 99.5  # 1.5 ATR = 0.50055 -> 99.49945 rounds up to 99.50
    assert plan("SHORT", atr=0.3337).stop_price == 100.5


def test_quantities_that_do_not_split_evenly_give_the_rest_to_the_last_leg() -> None:
    p = plan(qty=1.0)
    assert [t.steps for t in p.targets] == [333, 333, 334]
    assert sum(t.steps for t in p.targets) == p.steps


def test_legs_below_the_minimum_quantity_merge_into_the_next_target() -> None:
    coarse = InstrumentRules("TESTUSDT", tick_size=0.01, step_size=0.001, min_qty=0.002, min_notional=5.0)
    p = build_exit_plan(RULES, coarse, "LONG", 100.0, 0.004, 1.0)
    assert [t.steps for t in p.targets] == [2, 2]
    assert [t.price for t in p.targets] == [103.0, 104.5]


def test_quantity_off_the_step_grid_is_refused() -> None:
    with pytest.raises(InputValidationError) as info:
        plan(qty=0.0005)
    assert info.value.field == "qty"


def test_stop_closer_than_one_tick_is_refused() -> None:
    with pytest.raises(InputValidationError) as info:
        plan(atr=0.001)
    assert info.value.field == "atr"


def test_nan_atr_is_refused() -> None:
    with pytest.raises(InputValidationError) as info:
        plan(atr=math.nan)
    assert info.value.field == "atr"


def test_unknown_regime_is_refused() -> None:
    with pytest.raises(InputValidationError) as info:
        plan(regime="SIDEWAYS")
    assert info.value.field == "regime"


def test_time_stop_in_ms_needs_the_entry_time() -> None:
    section = ExitsSection(modes={"standard": ExitModeSection(
        time_stop=TimeStopSection(enabled=True, max_ms=3_600_000))})
    rules = compile_exit_rules(section)
    with pytest.raises(InputValidationError) as info:
        build_exit_plan(rules, INSTRUMENT, "LONG", 100.0, 0.9, 1.0)
    assert info.value.field == "entry_time_ms"
    timed = build_exit_plan(rules, INSTRUMENT, "LONG", 100.0, 0.9, 1.0, entry_time_ms=1_000)
    assert timed.time_stop_deadline_ms == 3_601_000


def test_long_order_params_are_sell_side_reduce_only_on_mark_price() -> None:
    orders = plan("LONG").to_order_params("TEST/USDT:USDT")
    stop, *targets = orders
    assert stop == {"symbol": "TEST/USDT:USDT", "type": "STOP_MARKET", "side": "sell", "amount": 0.9,
                    "price": None,
                    "params": {"stopPrice": 98.5, "closePosition": True, "workingType": "MARK_PRICE"}}
    assert [o["type"] for o in targets] == ["TAKE_PROFIT_MARKET"] * 3
    assert all(o["side"] == "sell" and o["params"]["reduceOnly"] is True for o in targets)
    assert [o["params"]["stopPrice"] for o in targets] == [101.5, 103.0, 104.5]


def test_short_order_params_buy_back_and_trail_with_a_callback_rate() -> None:
    orders = plan("SHORT", mode="trailing").to_order_params()
    assert {o["side"] for o in orders} == {"buy"}
    trailing = orders[-1]
    assert trailing["type"] == "TRAILING_STOP_MARKET"
    assert trailing["params"]["activationPrice"] == 98.5
    assert trailing["params"]["callbackRate"] == pytest.approx(1.5)  # 1.5 ATR of 1.0 at 98.5 ≈ 1.52 %
    assert trailing["params"]["reduceOnly"] is True
    assert orders[0]["symbol"] == "TESTUSDT"


def test_callback_rate_outside_binance_limits_is_refused() -> None:
    wide = plan(mode="trailing", atr=8.0, entry_price=100.0)  # 12 ATR-units of 100 -> 15 %
    with pytest.raises(InputValidationError) as info:
        wide.to_order_params()
    assert info.value.field == "trailing.callback_rate"


def test_break_even_replacement_stop_keeps_close_position() -> None:
    p = plan()
    assert p.break_even_price is not None
    order = p.stop_order_params(p.break_even_price)
    assert order["params"] == {"stopPrice": 100.0, "closePosition": True, "workingType": "MARK_PRICE"}


TICKS = (0.0001, 0.001, 0.01, 0.1, 0.5, 1.0)
STEPS = (0.001, 0.01, 0.1, 1.0)


@st.composite
def ladders(draw: st.DrawFn) -> list[LadderStep]:
    n = draw(st.integers(1, 5))
    weights = draw(st.lists(st.integers(1, 100), min_size=n, max_size=n))
    increments = draw(st.lists(st.floats(0.1, 3.0), min_size=n, max_size=n))
    total = sum(weights)
    r, steps = 0.0, []
    for w, inc in zip(weights, increments, strict=True):
        r += inc
        steps.append(LadderStep(r_multiple=r, fraction=w / total))
    return steps


@settings(max_examples=150, deadline=None)
@given(
    ladder=ladders(),
    tick=st.sampled_from(TICKS),
    step=st.sampled_from(STEPS),
    entry_ticks=st.integers(10_000, 10_000_000),
    atr_share=st.floats(0.002, 0.1),
    qty_steps=st.integers(1, 1_000_000),
    min_steps=st.integers(1, 5),
    side=st.sampled_from([PositionSide.LONG, PositionSide.SHORT]),
    regime=st.sampled_from(list(Regime)),
    volatility=st.sampled_from(list(VolState)),
)
def test_ladder_legs_sum_to_the_position_and_every_price_is_on_the_tick(
    ladder: list[LadderStep], tick: float, step: float, entry_ticks: int, atr_share: float, qty_steps: int,
    min_steps: int, side: PositionSide, regime: Regime, volatility: VolState,
) -> None:
    rules = compile_exit_rules(ExitsSection(take_profit=ladder, break_even={"enabled": False}))
    instrument = InstrumentRules("PROPUSDT", tick_size=tick, step_size=step, min_qty=min_steps * step,
                                 min_notional=5.0)
    entry = round(entry_ticks * tick, 6)
    qty = round(max(qty_steps, min_steps) * step, 6)
    p = build_exit_plan(rules, instrument, side, entry, qty, entry * atr_share, regime=regime,
                        volatility=volatility)
    assert sum(t.steps for t in p.targets) == p.steps == round(qty / step)
    assert math.fsum(t.qty for t in p.targets) == pytest.approx(qty, abs=step * 1e-6)
    assert all(t.steps >= min_steps for t in p.targets)
    assert all(on_grid(t.qty, step) for t in p.targets)
    assert on_grid(p.stop_price, tick)
    assert all(on_grid(t.price, tick) for t in p.targets)
    d = p.direction
    assert (entry - p.stop_price) * d > 0
    prices = [entry] + [t.price for t in p.targets]
    assert all((b - a) * d > 0 for a, b in itertools.pairwise(prices))
