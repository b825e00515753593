"""Numbers at the edges of float range are refused by name at the model boundary, rounding never
overflows, and a float clock is taken when it is a whole number of milliseconds."""

from __future__ import annotations

import math

import pytest

from conftest import NOW_MS, buy, make_engine
from riskguard import AccountSnapshot, MarketSnapshot, OrderIntent, Signal
from riskguard.model.errors import InputValidationError
from riskguard.model.position import Position
from riskguard.model.rounding import ceil_to_step, floor_to_step

SUBNORMAL = 5e-324


@pytest.mark.parametrize(("build", "field"), [
    (lambda: MarketSnapshot("BTCUSDT", SUBNORMAL, NOW_MS), "mark_price"),
    (lambda: OrderIntent("i", "s", "BTCUSDT", "BUY", notional=100.0, price=SUBNORMAL), "price"),
    (lambda: OrderIntent("i", "s", "BTCUSDT", "BUY", notional=100.0, stop_price=SUBNORMAL), "stop_price"),
    (lambda: Position("BTCUSDT", "LONG", 0.1, SUBNORMAL, "s"), "entry_price"),
    (lambda: Signal("g", "s", "BTCUSDT", "BUY", atr=SUBNORMAL), "atr"),
    (lambda: AccountSnapshot(nav=SUBNORMAL, ts_ms=NOW_MS), "nav"),
])
def test_a_subnormal_number_is_a_validation_error_naming_the_field(build: object, field: str) -> None:
    with pytest.raises(InputValidationError) as caught:
        build()  # type: ignore[operator]
    assert caught.value.field == field


@pytest.mark.parametrize(("build", "field"), [
    (lambda: OrderIntent("i", "s", "BTCUSDT", "BUY", notional=10**400), "notional"),
    (lambda: AccountSnapshot(nav=10**309, ts_ms=NOW_MS), "nav"),
    (lambda: Position("BTCUSDT", "LONG", 10**400, 60_000.0, "s"), "qty"),
    (lambda: MarketSnapshot("BTCUSDT", 10**400, NOW_MS), "mark_price"),
])
def test_an_integer_beyond_float_range_is_a_validation_error_not_an_overflow(build: object, field: str) -> None:
    with pytest.raises(InputValidationError, match=f"^{field}: must be within float range") as caught:
        build()  # type: ignore[operator]
    assert "digits" in str(caught.value)  # the 400-digit number is not printed


def test_prices_and_sizes_outside_a_computable_range_are_refused() -> None:
    with pytest.raises(InputValidationError, match=r"^mark_price: must be a price within \[1e-12, 1e\+12\]"):
        MarketSnapshot("BTCUSDT", 1e-300, NOW_MS)
    with pytest.raises(InputValidationError, match=r"^notional: must be at most 1e\+15"):
        OrderIntent("i", "s", "BTCUSDT", "BUY", notional=1e300)


def test_the_smallest_and_largest_accepted_values_decide_without_error() -> None:
    engine = make_engine()
    engine.update_market(MarketSnapshot("BTCUSDT", 1e-12, NOW_MS, bid=1e-12, ask=1e-12))
    veto, detail = engine.check_order(OrderIntent("tiny", "btc_trend", "BTCUSDT", "BUY", notional=1e15))
    assert veto and detail["reasons"]


@pytest.mark.parametrize("value", [1e308, math.inf, -math.inf, 1e30])
def test_floor_and_ceil_to_step_never_overflow(value: float) -> None:
    assert floor_to_step(value, 1e-8) == value
    assert ceil_to_step(value, 1e-8) == value


@pytest.mark.parametrize("step", [5e-324, 1e-320, 1e-300])
def test_floor_to_step_never_overflows_on_a_tiny_step(step: float) -> None:
    assert floor_to_step(1.0, step) == 1.0
    assert floor_to_step(3 * step, step) == 3 * step


def test_floor_to_step_refuses_nan_clearly() -> None:
    with pytest.raises(ValueError, match="must be numbers"):
        floor_to_step(math.nan, 0.001)


def test_now_ms_as_an_integral_float_is_accepted() -> None:
    engine = make_engine()
    veto, detail = engine.check_order(buy(), now_ms=float(NOW_MS))
    assert not veto and detail["ts_ms"] == NOW_MS and type(detail["ts_ms"]) is int


@pytest.mark.parametrize("now_ms", [NOW_MS + 0.5, "1722556800000", NOW_MS * 1000, -1])
def test_now_ms_that_is_not_epoch_ms_is_refused_naming_it(now_ms: object) -> None:
    with pytest.raises(InputValidationError) as caught:
        make_engine().check_order(buy(), now_ms=now_ms)  # type: ignore[arg-type]
    assert caught.value.field == "now_ms"
