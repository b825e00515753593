"""The pyramiding gates: an intent on the side of its strategy's open position is an add, and meets
every rule of the strategy's (or the account's) pyramiding section, long and short, at its
boundary; every other intent passes them."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import NAV, NOW_MS, PRICES, check_of, make_engine, posture_with, quote
from riskguard.book.reservation import Reservation
from riskguard.engine import RiskEngine
from riskguard.model.enums import Side, TradingState
from riskguard.model.intent import OrderIntent
from riskguard.model.position import Position, PositionLegs
from riskguard.model.signal import Signal

PRICE = PRICES["ETHUSDT"]  # 3,000
R = 60.0  # one R of the open position, USDT per ETH
QTY = 0.1  # 300 USDT, initial risk 6 USDT
HOUR_MS = 3_600_000
PYRAMID_GATES = ("pyramid_add_limit", "pyramid_not_in_profit", "pyramid_add_too_close", "pyramid_add_too_soon",
                 "pyramid_paused", "pyramid_stop_loosened", "pyramid_size_exceeded", "pyramid_risk_exceeded")


def _sign(side: str) -> float:
    return 1.0 if side == "LONG" else -1.0


def open_position(side: str = "LONG", *, profit_r: float = 2.0, adds: int = 0, last_distance_r: float | None = None,
                  last_age_ms: int = HOUR_MS, stop_r: float = 1.0, qty: float = QTY) -> Position:
    """An ETH position of eth_trend whose profit at the mark is ``profit_r`` R, its stop ``stop_r`` R
    below (long) its entry, its last leg ``last_distance_r`` R from the mark (default: the entry)."""
    sign = _sign(side)
    entry = PRICE - sign * profit_r * R
    last_price = entry if last_distance_r is None else PRICE - sign * last_distance_r * R
    legs = PositionLegs(R, qty if adds == 0 else qty / 2, adds, qty / 2 if adds else qty, last_price,
                        NOW_MS - last_age_ms)
    return Position("ETHUSDT", side, qty, entry, "eth_trend", leverage=2.0, stop_price=entry - sign * stop_r * R,
                    opened_ts_ms=NOW_MS - 2 * HOUR_MS, legs=legs)


def add(side: str = "LONG", notional: float = 300.0, *, stop: float | None = None, intent_id: str = "add-1",
        **fields: Any) -> OrderIntent:
    """An add of ``notional`` USDT to the ETH position, its stop ``stop`` (default: 1 R from the price)."""
    sign = _sign(side)
    return OrderIntent(intent_id=intent_id, strategy="eth_trend", symbol="ETHUSDT",
                       side="BUY" if side == "LONG" else "SELL", notional=notional, leverage=2.0,
                       stop_price=PRICE - sign * R if stop is None else stop,
                       take_profit_price=PRICE + sign * 3 * R, confidence=0.8, **fields)


def engine_holding(position: Position, **overrides: Any) -> RiskEngine:
    engine = make_engine(posture_with(**overrides) if overrides else None)
    engine.add_position(position)
    return engine


def gate_passes(engine: RiskEngine, intent: OrderIntent, gate: str) -> bool:
    return bool(check_of(engine.check_order(intent, commit=False)[1], gate)["passed"])


SIDES = pytest.mark.parametrize("side", ["LONG", "SHORT"])


@SIDES
def test_an_add_within_every_rule_is_approved(side: str) -> None:
    engine = engine_holding(open_position(side))
    veto, detail = engine.check_order(add(side, 150.0, stop=PRICE - _sign(side) * 0.5 * R))
    assert not veto, detail["reasons"]
    assert all(check_of(detail, g)["passed"] for g in PYRAMID_GATES)


@SIDES
def test_adds_stop_at_the_rules_max_adds(side: str) -> None:
    assert gate_passes(engine_holding(open_position(side, adds=1)), add(side), "pyramid_add_limit")
    assert not gate_passes(engine_holding(open_position(side, adds=2)), add(side), "pyramid_add_limit")


def test_a_reserved_add_counts_against_max_adds() -> None:
    engine = engine_holding(open_position(adds=1))
    first = add(stop=PRICE - 0.5 * R, notional=60.0)
    assert not engine.check_order(first)[0]
    engine.book.add_reservation(Reservation("r-1", first.intent_id, "eth_trend", "ETHUSDT", first.side, 60.0, 1.0,
                                            False, NOW_MS + 60_000))
    assert check_of(engine.check_order(add(intent_id="add-2"), commit=False)[1], "pyramid_add_limit")["observed"] == 3


def _reserve_add(engine: RiskEngine, notional: float, risk_usdt: float) -> None:
    """An add of ``notional`` USDT reserved (e.g. by another bot process) and not filled yet."""
    engine.book.add_reservation(Reservation("r-pending", "pending-add", "eth_trend", "ETHUSDT", Side.BUY,
                                            notional, risk_usdt, False, NOW_MS + 60_000))


def test_a_reserved_add_is_the_last_leg_the_next_add_is_measured_against() -> None:
    engine = engine_holding(open_position())
    _reserve_add(engine, 100.0, 1.0)
    check = check_of(engine.check_order(add(notional=60.0), commit=False)[1], "pyramid_size_exceeded")
    assert check["headroom_notional"] == pytest.approx(50.0) and not check["passed"]


def test_the_risk_of_a_reserved_add_counts_against_the_next_add_budget() -> None:
    engine = engine_holding(open_position())
    without = check_of(engine.check_order(add(notional=60.0), commit=False)[1], "pyramid_risk_exceeded")
    _reserve_add(engine, 100.0, 4.0)
    with_pending = check_of(engine.check_order(add(notional=60.0), commit=False)[1], "pyramid_risk_exceeded")
    assert with_pending["observed"] == pytest.approx(without["observed"] + 4.0)
    assert with_pending["headroom_notional"] < without["headroom_notional"]


def test_an_add_to_a_position_whose_fill_time_is_unknown_fails_closed() -> None:
    position = open_position()
    engine = engine_holding(Position("ETHUSDT", "LONG", position.qty, position.entry_price, "eth_trend",
                                     leverage=2.0, stop_price=position.stop_price))
    check = check_of(engine.check_order(add(), commit=False)[1], "pyramid_add_too_soon")
    assert not check["passed"] and "unknown" in check["note"]


@SIDES
def test_an_add_needs_the_position_min_profit_r_in_profit(side: str) -> None:
    at = engine_holding(open_position(side, profit_r=1.0, last_distance_r=5.0))
    below = engine_holding(open_position(side, profit_r=0.99, last_distance_r=5.0))
    assert check_of(at.check_order(add(side), commit=False)[1], "pyramid_not_in_profit")["observed"] == \
        pytest.approx(1.0)
    assert gate_passes(at, add(side), "pyramid_not_in_profit")
    assert not gate_passes(below, add(side), "pyramid_not_in_profit")


@SIDES
def test_an_add_never_averages_down(side: str) -> None:
    losing = engine_holding(open_position(side, profit_r=-0.5), **{"exits.pyramiding.min_profit_r": 0.0})
    assert not gate_passes(losing, add(side), "pyramid_not_in_profit")


@SIDES
def test_an_add_needs_min_add_distance_r_beyond_the_last_leg(side: str) -> None:
    assert gate_passes(engine_holding(open_position(side, last_distance_r=0.5)), add(side), "pyramid_add_too_close")
    assert not gate_passes(engine_holding(open_position(side, last_distance_r=0.49)), add(side),
                           "pyramid_add_too_close")


@SIDES
def test_an_add_needs_min_add_interval_s_after_the_last_leg(side: str) -> None:
    interval_ms = 900_000
    assert gate_passes(engine_holding(open_position(side, last_age_ms=interval_ms)), add(side), "pyramid_add_too_soon")
    assert not gate_passes(engine_holding(open_position(side, last_age_ms=interval_ms - 1)), add(side),
                           "pyramid_add_too_soon")


@pytest.mark.parametrize("state", [TradingState.REDUCING, TradingState.HALTED])
def test_no_add_while_the_account_is_reducing_or_halted(state: TradingState) -> None:
    engine = engine_holding(open_position())
    engine.set_trading_state(state, "test")
    assert not gate_passes(engine, add(), "pyramid_paused")


def test_no_add_while_position_size_is_reduced() -> None:
    engine = engine_holding(open_position())
    engine.operating_size_multiplier = 0.5
    assert not gate_passes(engine, add(), "pyramid_paused")


def test_a_posture_may_allow_adds_while_size_is_reduced() -> None:
    engine = engine_holding(open_position(), **{"exits.pyramiding.pause_when_size_reduced": False})
    engine.operating_size_multiplier = 0.5
    assert gate_passes(engine, add(), "pyramid_paused")


@SIDES
def test_an_add_may_not_loosen_the_position_stop(side: str) -> None:
    position = open_position(side)
    assert position.stop_price is not None
    engine = engine_holding(position)
    assert gate_passes(engine, add(side, stop=position.stop_price), "pyramid_stop_loosened")
    looser = position.stop_price - _sign(side) * 1.0
    assert not gate_passes(engine, add(side, stop=looser), "pyramid_stop_loosened")


@SIDES
def test_an_add_is_at_most_size_ratio_of_the_last_leg(side: str) -> None:
    engine = engine_holding(open_position(side))
    limit = 0.5 * QTY * PRICE  # 150 USDT
    check = check_of(engine.check_order(add(side, limit), commit=False)[1], "pyramid_size_exceeded")
    assert check["passed"] and check["headroom_notional"] == limit
    assert not gate_passes(engine, add(side, limit * 1.001), "pyramid_size_exceeded")


@SIDES
def test_an_add_that_would_raise_the_risk_at_the_stop_above_the_budget_is_vetoed(side: str) -> None:
    # At a stop 1 R below the price, the open 0.1 ETH (2 R in profit) locks in 0.1 x 60 = 6 USDT;
    # the budget is 1 x the initial risk = 6 USDT, so the add may risk 12 USDT: 0.2 ETH, 600 USDT.
    engine = engine_holding(open_position(side), **{"exits.pyramiding.size_ratio": 1.0,
                                                    "trade.max_trade_nav_pct": 1.0})
    check = check_of(engine.check_order(add(side, 300.0), commit=False)[1], "pyramid_risk_exceeded")
    assert check["threshold"] == pytest.approx(6.0)
    assert check["headroom_notional"] == pytest.approx(600.0)
    veto, detail = engine.check_order(add(side, 610.0), commit=False)
    assert veto and "pyramid_risk_exceeded" in detail["reasons"]


@SIDES
def test_the_risk_budget_is_never_above_the_per_trade_max_loss(side: str) -> None:
    # A 10 ETH position: 1 R = 600 USDT of initial risk, far above 1 % of NAV (44 USDT).
    engine = engine_holding(open_position(side, qty=10.0), **{"exits.pyramiding.max_combined_risk_r": 3.0})
    check = check_of(engine.check_order(add(side, 300.0), commit=False)[1], "pyramid_risk_exceeded")
    assert check["threshold"] == pytest.approx(0.01 * NAV)


@SIDES
def test_resize_to_fit_shrinks_an_add_to_the_largest_that_passes(side: str) -> None:
    engine = engine_holding(open_position(side), resize_to_fit=True)
    veto, detail = engine.check_order(add(side, 500.0, stop=PRICE - _sign(side) * 0.5 * R))
    assert not veto and detail["resized"]
    assert detail["clamped_by"] == "pyramid_size_exceeded"
    assert detail["sized"]["notional"] <= 0.5 * QTY * PRICE


def test_a_new_position_is_not_an_add() -> None:
    engine = make_engine()
    veto, detail = engine.check_order(add(), commit=False)
    assert not veto
    assert all(check_of(detail, g)["note"] == "not an add to an open position" for g in PYRAMID_GATES)
    assert detail["pyramid"] is None


def test_an_order_reducing_the_position_passes_every_pyramiding_gate() -> None:
    engine = engine_holding(open_position(adds=2, profit_r=-0.5))
    close = OrderIntent(intent_id="close", strategy="eth_trend", symbol="ETHUSDT", side="SELL", qty=QTY,
                        leverage=2.0, reduce_only=True)
    veto, detail = engine.check_order(close, commit=False)
    assert not veto and detail["reducing"]
    assert all(check_of(detail, g)["passed"] for g in PYRAMID_GATES)


def test_the_decision_reports_the_stop_the_position_must_carry() -> None:
    engine = engine_holding(open_position())
    stop = PRICE - 0.5 * R
    detail = engine.check_order(add(notional=150.0, stop=stop), commit=False)[1]
    pyramid = detail["pyramid"]
    assert pyramid["stop_price"] == stop
    assert pyramid["adds"] == 0 and pyramid["max_adds"] == 2
    assert pyramid["profit_r"] == pytest.approx(2.0)
    # 0.1 ETH from 2,880 plus 0.05 ETH from 3,000 average 2,920: within 6 USDT down to a stop of 2,880.
    assert pyramid["loosest_stop"] == pytest.approx(2_880.0)
    assert pyramid["risk_at_stop_usdt"] == pytest.approx((2_920.0 - stop) * 0.15)


def test_a_signal_sized_into_an_add_keeps_the_position_tighter_stop() -> None:
    position = open_position(stop_r=-1.5)  # the stop was trailed 1.5 R beyond entry: 2,970
    engine = engine_holding(position)
    signal = Signal(signal_id="sig-add", strategy="eth_trend", symbol="ETHUSDT", side="BUY", confidence=0.8,
                    price=PRICE, atr=40.0)
    detail = engine.check_order(signal, commit=False)[1]
    assert detail["intent"] is not None and detail["intent"]["stop_price"] == position.stop_price
    assert check_of(detail, "pyramid_stop_loosened")["passed"]


def loose_caps_engine(position: Position) -> RiskEngine:
    """Loose caps elsewhere, so that the pyramiding gates and the per-trade max loss decide."""
    engine = make_engine(posture_with(resize_to_fit=True, **{
        "exits.pyramiding.max_combined_risk_r": 3.0, "exits.pyramiding.max_adds": 6,
        "exits.pyramiding.min_add_interval_s": 0.0, "exits.pyramiding.min_add_distance_r": 0.0,
        "exits.pyramiding.size_ratio": 1.0, "symbols.ETHUSDT.max_nav_pct": 3.0, "trade.max_trade_nav_pct": 1.0,
        "trade.equity_clamp_nav_pct": 1.0, "portfolio.correlation_groups": {},
        "strategies.eth_trend.cooldown_flat_s": 0.0, "strategies.eth_trend.cooldown_open_s": 0.0}))
    engine.add_position(position)
    return engine


def large_position(side: str) -> Position:
    """0.6 ETH at 3,000 with a stop 1 R away: it risks 36 USDT, and 3 R (108 USDT) is above the per-trade
    max loss, 1 % of NAV (44 USDT)."""
    return Position("ETHUSDT", side, 0.6, PRICE, "eth_trend", leverage=2.0, stop_price=PRICE - _sign(side) * R,
                    opened_ts_ms=NOW_MS - HOUR_MS)


def add_at(side: str, price: float, stop_r: float, notional: float, intent_id: str = "add") -> OrderIntent:
    sign = _sign(side)
    return OrderIntent(intent_id=intent_id, strategy="eth_trend", symbol="ETHUSDT",
                       side="BUY" if side == "LONG" else "SELL", notional=notional, leverage=2.0,
                       stop_price=price - sign * stop_r * R, take_profit_price=price + sign * 3 * stop_r * R,
                       confidence=0.8)


@SIDES
def test_the_largest_add_brings_the_loss_at_the_stop_to_the_per_trade_max_loss(side: str) -> None:
    sign = _sign(side)
    position = large_position(side)
    engine = loose_caps_engine(position)
    price = PRICE + sign * 2 * R
    engine.update_market(quote("ETHUSDT", price))
    intent = add_at(side, price, 2.5, 3_000.0)  # the stop half an R short of the first entry
    veto, detail = engine.check_order(intent)
    assert not veto and detail["resized"] and detail["clamped_by"] == "pyramid_risk_exceeded"
    after = position.with_add(detail["sized"]["qty"], price, NOW_MS, intent.stop_price, 0.01)
    assert after.stop_price is not None
    loss = (after.entry_price - after.stop_price) * sign * after.qty
    # Up to the quantity step (0.001 ETH): the add is floored to it.
    assert loss == pytest.approx(0.01 * NAV, rel=5e-3) and loss <= 0.01 * NAV * (1 + 1e-9)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(side=st.sampled_from(["LONG", "SHORT"]),
       steps=st.lists(st.tuples(st.floats(-3.0, 6.0), st.floats(0.05, 2.5), st.floats(10.0, 3_000.0)),
                      min_size=1, max_size=6))
def test_no_sequence_of_adds_lets_the_loss_at_the_stop_exceed_the_per_trade_max_loss(
        side: str, steps: list[tuple[float, float, float]]) -> None:
    sign = _sign(side)
    position = large_position(side)
    engine = loose_caps_engine(position)
    max_loss = 0.01 * NAV
    for i, (move_r, stop_r, notional) in enumerate(steps):
        price = PRICE + sign * move_r * R
        engine.update_market(quote("ETHUSDT", price))
        intent = add_at(side, price, stop_r, notional, f"add-{i}")
        veto, detail = engine.check_order(intent)
        if veto:
            continue
        qty = detail["sized"]["qty"]
        position = position.with_add(qty, price, NOW_MS, intent.stop_price, 0.01)
        engine.add_position(position)
        assert position.stop_price is not None
        loss_at_stop = (position.entry_price - position.stop_price) * sign * position.qty
        assert loss_at_stop <= max_loss * (1 + 1e-9) + 1e-9
