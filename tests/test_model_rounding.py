"""Grid rounding (riskguard.model.rounding): exact in decimal terms, never crossing the input, and the
one implementation behind InstrumentRules.floor_qty, sizing and exits."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskguard.exits import rounding as exit_rounding
from riskguard.model.errors import InputValidationError
from riskguard.model.instrument import InstrumentRules
from riskguard.model.rounding import ceil_to_step, decimals_of, floor_to_step
from riskguard.sizing import quantity, stabilizer

STEPS = [100.0, 10.0, 5.0, 1.0, 0.5, 0.25, 0.1, 0.05, 0.01, 0.001, 0.0001, 0.00001, 1e-8, 0.0025]


def _rules(step: float) -> InstrumentRules:
    return InstrumentRules("TESTUSDT", tick_size=0.1, step_size=step, min_qty=step, min_notional=5.0)


def _dec(value: float) -> Fraction:
    """The number as written (shortest repr), exactly: grid multiples are decimal, not binary."""
    return Fraction(repr(value))


@st.composite
def on_or_near_grid(draw: st.DrawFn) -> tuple[float, float]:
    """A step and a quantity on its grid, or a few ulps off it (where float quotients mislead)."""
    step = draw(st.sampled_from(STEPS))
    k = draw(st.integers(0, 10_000_000))
    qty = float(Decimal(k) * Decimal(repr(step)))
    for _ in range(draw(st.integers(0, 3))):
        qty = math.nextafter(qty, draw(st.sampled_from([math.inf, 0.0])))
    return qty, step


quantities = st.one_of(
    on_or_near_grid(),
    st.tuples(st.floats(0, 1e6, allow_nan=False), st.sampled_from(STEPS)),
)


@given(quantities)
def test_floor_qty_is_a_multiple_of_the_step_at_or_below_qty_within_one_step(case: tuple[float, float]) -> None:
    qty, step = case
    out = _rules(step).floor_qty(qty)
    assert out <= qty
    assert _dec(out) % _dec(step) == 0
    assert _dec(qty) - _dec(out) < _dec(step)


@given(quantities)
def test_ceil_to_step_is_a_multiple_at_or_above_within_one_step(case: tuple[float, float]) -> None:
    value, step = case
    out = ceil_to_step(value, step)
    assert out >= value
    assert _dec(out) % _dec(step) == 0
    assert _dec(out) - _dec(value) < _dec(step)


@given(st.floats(-1e6, 1e6, allow_nan=False), st.sampled_from(STEPS))
def test_floor_and_ceil_bracket_negative_and_positive_values(value: float, step: float) -> None:
    low, high = floor_to_step(value, step), ceil_to_step(value, step)
    assert low <= value <= high
    assert high == low or _dec(high) - _dec(low) == _dec(step)


@pytest.mark.parametrize(("qty", "expected"), [
    (0.75, 0.75), (0.8, 0.75), (0.99, 0.75), (1.0, 1.0), (0.5, 0.5), (0.2499999999, 0.0), (12.25, 12.25)])
def test_quarter_steps_floor_to_quarters(qty: float, expected: float) -> None:
    # log10-based decimals gave 1 place for 0.25, so 0.75 came out as 0.8.
    assert _rules(0.25).floor_qty(qty) == expected


def test_a_hair_below_the_step_floors_to_zero_not_to_the_step() -> None:
    # The old +1e-9 nudge rounded 0.0999999999 up to 0.1, above the quantity (and any cap it met).
    assert _rules(0.1).floor_qty(0.0999999999) == 0.0
    assert _rules(0.1).floor_qty(math.nextafter(0.1, 0.0)) == 0.0


def test_binary_noise_on_the_grid_stays_on_its_grid_point() -> None:
    assert _rules(0.1).floor_qty(0.3) == 0.3  # 0.3 / 0.1 = 2.9999999999999996
    assert _rules(0.1).floor_qty(0.1 + 0.2) == 0.3  # 0.30000000000000004
    assert _rules(0.001).floor_qty(0.029333333) == 0.029


def test_zero_floors_to_positive_zero() -> None:
    assert math.copysign(1.0, ceil_to_step(-0.0, 0.1)) == 1.0
    assert math.copysign(1.0, floor_to_step(0.05, 0.1)) == 1.0


@pytest.mark.parametrize("qty", [float("nan"), float("inf"), -0.001])
def test_floor_qty_refuses_non_finite_or_negative_quantities(qty: float) -> None:
    with pytest.raises(InputValidationError) as err:
        _rules(0.001).floor_qty(qty)
    assert err.value.field == "qty"


@pytest.mark.parametrize(("step", "places"), [
    (0.25, 2), (0.1, 1), (0.0005, 4), (5.0, 0), (100.0, 0), (1e-8, 8), (0.0025, 4)])
def test_decimals_of_counts_the_written_decimals(step: float, places: int) -> None:
    assert decimals_of(step) == places


def test_sizing_and_exits_use_the_model_implementation() -> None:
    assert quantity.floor_to_step is floor_to_step
    assert exit_rounding.floor_to is floor_to_step
    assert exit_rounding.ceil_to is ceil_to_step
    assert exit_rounding.decimals_of is decimals_of
    assert stabilizer.floor_to_step is floor_to_step
