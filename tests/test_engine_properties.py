"""Invariants under arbitrary sequences: caps are never exceeded; bad input never approves;
max_notional_allowed always passes the size-bound gates."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import NAV, NOW_MS, PRICES, make_engine, posture_with, quote
from riskguard import AccountSnapshot, InputValidationError, OrderIntent, Position
from riskguard.gates import SIZE_BOUND_GATES

SYMBOLS = list(PRICES)
STRATEGIES = ["btc_trend", "eth_trend", "sol_trend", "scalper", "swing"]

intents = st.fixed_dictionaries({
    "symbol": st.sampled_from(SYMBOLS),
    "strategy": st.sampled_from(STRATEGIES),
    "side": st.sampled_from(["BUY", "SELL"]),
    # Mostly approvable sizes, so that sequences really fill the book up to the caps.
    "notional": st.one_of(st.floats(min_value=150.0, max_value=900.0), st.floats(min_value=1.0, max_value=5_000.0)),
    "leverage": st.floats(min_value=1.0, max_value=5.0),
    "stop_pct": st.floats(min_value=0.003, max_value=0.05),
    "confidence": st.one_of(st.floats(min_value=0.6, max_value=1.0), st.floats(min_value=0.0, max_value=1.0)),
    "advance_ms": st.sampled_from([0, 1_000, 50_000, 400_000]),
})


def _intent(n: int, spec: dict[str, Any]) -> OrderIntent:
    price = PRICES[spec["symbol"]]
    sign = 1.0 if spec["side"] == "BUY" else -1.0
    return OrderIntent(intent_id=f"i{n}", strategy=spec["strategy"], symbol=spec["symbol"], side=spec["side"],
                       notional=spec["notional"], leverage=spec["leverage"],
                       stop_price=price * (1 - sign * spec["stop_pct"]),
                       take_profit_price=price * (1 + sign * 2 * spec["stop_pct"]),
                       confidence=spec["confidence"])


def _assert_within_caps(engine: Any) -> None:
    limits, book = engine.limits, engine.book
    tolerance = 1e-6
    assert book.open_count <= limits.max_open_positions_high_confidence
    for strategy, count in book.strategy_open.items():
        assert count <= limits.strategy(strategy).max_concurrent_positions
    for symbol in book.symbols:
        assert book.symbol_gross(symbol) <= limits.symbol(symbol).max_nav_pct * NAV + tolerance
    assert book.gross_notional <= limits.max_gross_nav_multiple * NAV + tolerance
    assert book.direction_notional(True) <= limits.max_same_direction_nav_pct * NAV + tolerance
    assert book.direction_notional(False) <= limits.max_same_direction_nav_pct * NAV + tolerance
    for group, cap in limits.group_caps.items():
        assert book.group_gross(group) <= cap * NAV + tolerance
    assert book.total_risk_usdt <= limits.max_total_risk_nav_pct * NAV + tolerance


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(intents, min_size=20, max_size=60), st.booleans())
def test_no_sequence_of_intents_and_fills_leaves_the_book_above_any_cap(specs: list[dict[str, Any]],
                                                                       resize: bool) -> None:
    now = NOW_MS
    engine = make_engine(posture_with(resize_to_fit=resize), now_ms=NOW_MS)
    engine.clock = lambda: now
    for n, spec in enumerate(specs):
        now += spec["advance_ms"]
        engine.update_account(AccountSnapshot(nav=NAV, ts_ms=now))
        for symbol, price in PRICES.items():
            engine.update_market(quote(symbol, price, ts_ms=now))
        intent = _intent(n, spec)
        veto, detail = engine.check_order(intent, now_ms=now)
        if veto:
            continue
        if detail["reducing"]:
            engine.close_position(intent.symbol, intent.strategy)
            continue
        existing = engine.book.position(intent.strategy, intent.symbol)
        qty = detail["sized"]["qty"] + (existing.qty if existing else 0.0)
        engine.add_position(Position(symbol=intent.symbol, side="LONG" if intent.is_buy else "SHORT", qty=qty,
                                     entry_price=PRICES[intent.symbol], strategy=intent.strategy,
                                     stop_price=intent.stop_price, opened_ts_ms=now))
        _assert_within_caps(engine)


@settings(max_examples=80, deadline=None)
@given(intents)
def test_rechecking_at_max_notional_allowed_passes_every_size_bound_gate(spec: dict[str, Any]) -> None:
    engine = make_engine()
    engine.add_position(Position(symbol="ETHUSDT", side="LONG", qty=0.1, entry_price=3_000.0, strategy="swing",
                                 stop_price=2_950.0))
    intent = _intent(0, spec)
    _, detail = engine.check_order(intent, commit=False)
    allowed = detail["max_notional_allowed"]
    if allowed <= 0.0:
        return
    retry = _intent(1, {**spec, "notional": allowed})
    _, again = engine.check_order(retry, commit=False)
    failing = {c["gate"] for c in again["checks"] if not c["passed"]}
    assert not failing & SIZE_BOUND_GATES


bad_numbers = st.sampled_from([math.nan, math.inf, -math.inf, -1.0, 0.0, -1e-9])


@given(st.sampled_from(["notional", "leverage", "stop_price", "take_profit_price", "price", "qty"]), bad_numbers)
def test_nan_infinite_negative_or_zero_inputs_raise_a_validation_error_naming_the_field(field: str,
                                                                                         value: float) -> None:
    fields: dict[str, Any] = {"intent_id": "bad", "strategy": "s", "symbol": "BTCUSDT", "side": "BUY",
                              "notional": 500.0, field: value}
    try:
        OrderIntent(**fields)
    except InputValidationError as error:
        assert error.field == field
    else:
        raise AssertionError(f"{field}={value} was accepted")


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=10),
       st.floats(min_value=1e3, max_value=1e15))
def test_unknown_symbols_and_huge_notionals_never_approve(symbol: str, notional: float) -> None:
    engine = make_engine()
    intent = OrderIntent(intent_id="x", strategy="s", symbol=symbol + "USDT", side="BUY", notional=notional,
                         leverage=1.0, expected_rr=3.0, confidence=0.9)
    veto, detail = engine.check_order(intent)
    assert veto is True and detail["reasons"]


@given(st.sampled_from(["confidence"]), st.sampled_from([math.nan, -0.1, 1.5, math.inf]))
def test_confidence_outside_zero_one_is_refused(field: str, value: float) -> None:
    try:
        OrderIntent(intent_id="c", strategy="s", symbol="BTCUSDT", side="BUY", notional=500.0, confidence=value)
    except InputValidationError as error:
        assert error.field == field
    else:
        raise AssertionError("accepted")
