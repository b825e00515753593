"""fraction_to_qty: step rounding never exceeds a cap; min qty / notional; leverage brackets; margin."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskguard.model.errors import InputValidationError
from riskguard.model.instrument import InstrumentRules, LeverageBracket
from riskguard.sizing.quantity import exchange_leverage_notional_cap, floor_to_step, fraction_to_qty

BRACKETS = (LeverageBracket(50_000, 125, 0.004), LeverageBracket(600_000, 100, 0.005, 50.0),
            LeverageBracket(3_000_000, 75, 0.0065, 950.0))
BTC = InstrumentRules("BTCUSDT", tick_size=0.1, step_size=0.001, min_qty=0.001, min_notional=100.0,
                      max_qty=1000.0, brackets=BRACKETS)


def test_notional_is_fraction_of_nav_times_leverage_floored_to_step() -> None:
    r = fraction_to_qty(0.1, 4_400.0, 60_000.0, 4.0, BTC)
    assert r.target_notional_usdt == pytest.approx(1_760.0)
    assert r.qty == 0.029  # 1760 / 60000 = 0.02933 -> floor to 0.001
    assert r.notional_usdt == pytest.approx(0.029 * 60_000.0)
    assert r.margin_usdt == pytest.approx(0.029 * 60_000.0 / 4.0)
    assert r.executable and r.capped_by == ()


def test_floor_to_step_absorbs_binary_noise_without_rounding_up() -> None:
    assert floor_to_step(0.3, 0.1) == 0.3
    assert floor_to_step(0.0999999999, 0.1) == 0.0
    assert floor_to_step(0.75, 0.25) == 0.75
    assert floor_to_step(7.0, 5.0) == 5.0


@given(st.floats(0, 1e4), st.sampled_from([1.0, 0.1, 0.01, 0.001, 0.0001, 0.25, 5.0]))
def test_floor_to_step_never_exceeds_input_and_loses_less_than_a_step(qty: float, step: float) -> None:
    out = floor_to_step(qty, step)
    assert out <= qty
    assert qty - out < step * (1 + 1e-9)


@given(st.floats(0, 2), st.floats(10, 1e6), st.floats(1, 1e5), st.floats(1, 125))
def test_result_never_exceeds_target_or_caps(fraction: float, nav: float, price: float, lev: float) -> None:
    r = fraction_to_qty(fraction, nav, price, lev, BTC, available_margin=nav / 2, max_notional=nav * 3)
    assert r.qty * price <= min(r.target_notional_usdt, r.cap_notional_usdt) * (1 + 1e-12)
    assert r.margin_usdt <= nav / 2 * (1 + 1e-12)
    assert r.qty == 0.0 or (r.qty >= BTC.min_qty and r.notional_usdt >= BTC.min_notional)


def test_below_min_notional_is_not_executable() -> None:
    r = fraction_to_qty(0.005, 4_400.0, 60_000.0, 4.0, BTC)  # 88 USDT -> 0.001 BTC = 60 USDT < 100
    assert not r.executable and r.below_min_notional and not r.below_min_qty
    assert r.qty == 0.0 and r.rounded_qty == 0.001


def test_below_min_qty_is_not_executable() -> None:
    r = fraction_to_qty(0.0001, 4_400.0, 60_000.0, 1.0, BTC)
    assert r.below_min_qty and not r.executable and r.qty == 0.0


def test_leverage_above_a_bracket_limits_notional_to_that_bracket() -> None:
    assert exchange_leverage_notional_cap(BTC, 110.0) == math.nextafter(50_000, 0.0)  # caps are exclusive
    assert exchange_leverage_notional_cap(BTC, 20.0) == math.nextafter(3_000_000, 0.0)
    r = fraction_to_qty(1.0, 100_000.0, 50_000.0, 110.0, BTC)
    assert r.notional_usdt <= 50_000 and "exchange_leverage_bracket" in r.capped_by


def test_leverage_above_every_bracket_gives_nothing() -> None:
    r = fraction_to_qty(0.1, 4_400.0, 60_000.0, 150.0, BTC)
    assert r.qty == 0.0 and "exchange_leverage_bracket" in r.capped_by


def test_available_margin_caps_notional() -> None:
    r = fraction_to_qty(0.5, 4_400.0, 60_000.0, 5.0, BTC, available_margin=200.0)
    assert r.margin_usdt <= 200.0 and r.capped_by == ("available_margin",)


def test_max_qty_caps_quantity() -> None:
    rules = InstrumentRules("SOLUSDT", 0.01, 1.0, 1.0, 5.0, max_qty=10.0)
    r = fraction_to_qty(1.0, 10_000.0, 100.0, 1.0, rules)
    assert r.qty == 10.0 and "max_qty" in r.capped_by


def test_to_dict_is_json() -> None:
    data = json.loads(json.dumps(fraction_to_qty(0.1, 4_400.0, 60_000.0, 4.0, BTC).to_dict()))
    assert data["qty"] == 0.029 and data["capped_by"] == []


def test_negative_fraction_is_refused() -> None:
    with pytest.raises(InputValidationError) as err:
        fraction_to_qty(-0.1, 4_400.0, 60_000.0, 4.0, BTC)
    assert err.value.field == "fraction"


def test_zero_leverage_is_refused() -> None:
    with pytest.raises(InputValidationError) as err:
        fraction_to_qty(0.1, 4_400.0, 60_000.0, 0.0, BTC)
    assert err.value.field == "leverage"
