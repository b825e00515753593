"""The ledger keeps each position's legs (migration 0004), so that every process's engine applies the
pyramiding rules to adds: one R fixed at the opening fill, the adds, the last leg; an add restates
the position's stop unless its own is tighter."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine, insert

from ledger_fixtures import PRICES, T0, Clock, buy, db_url, make_gate, mark_markets, posture
from riskguard.ledger import Ledger
from riskguard.ledger import tables as t
from riskguard.ledger.migrate import upgrade
from riskguard.model.position import Position
from riskguard.runtime import RiskGate

__all__ = ["db_url"]

ETH = PRICES["ETHUSDT"]  # 3,000
MINUTE_MS = 60_000


def _gate(db_url: str, clock: Clock) -> RiskGate:
    return make_gate(db_url, clock, posture(**{"exits.pyramiding": {
        "max_adds": 2, "min_profit_r": 1.0, "min_add_distance_r": 0.5, "min_add_interval_s": 60.0,
        "size_ratio": 0.5, "max_combined_risk_r": 1.0}}))


def _position(gate: RiskGate) -> Position:
    (position,) = gate.ledger.positions()
    return position


def _open_eth(gate: RiskGate, qty: float = 0.1) -> None:
    _, detail, reservation = gate.reserve(buy("open", "ETHUSDT", notional=qty * ETH))
    assert reservation is not None, detail["reasons"]
    gate.fill(reservation, qty, ETH)


def _move_market(gate: RiskGate, clock: Clock, price: float) -> None:
    mark_markets(gate, clock(), {**PRICES, "ETHUSDT": price})


def _add(gate: RiskGate, intent_id: str, price: float, notional: float, stop: float) -> tuple[bool, Any, str | None]:
    return gate.reserve(buy(intent_id, "ETHUSDT", notional=notional, stop_price=stop,
                            take_profit_price=price * 1.1))


def test_the_opening_fill_fixes_one_r_at_its_distance_to_the_stop(db_url: str) -> None:
    gate = _gate(db_url, Clock())
    _open_eth(gate)
    legs = _position(gate).legs
    assert legs is not None
    assert legs.r_unit == pytest.approx(30.0)  # the stop 1 % below 3,000
    assert (legs.first_qty, legs.adds, legs.last_qty, legs.last_price) == (0.1, 0, 0.1, ETH)


def test_an_add_is_a_new_leg_and_restates_the_position_stop(db_url: str) -> None:
    clock = Clock()
    gate = _gate(db_url, clock)
    _open_eth(gate)
    clock.advance(5 * MINUTE_MS)
    _move_market(gate, clock, 3_060.0)  # 2 R in profit
    veto, detail, reservation = _add(gate, "add-1", 3_060.0, 150.0, stop=3_030.0)
    assert not veto and reservation is not None, detail["reasons"]
    gate.fill(reservation, detail["sized"]["qty"], 3_060.0)
    position = _position(gate)
    assert position.legs is not None
    assert position.legs.adds == 1 and position.legs.last_price == 3_060.0 and position.legs.r_unit == 30.0
    assert position.stop_price == 3_030.0


def test_partial_fills_of_one_add_are_one_leg(db_url: str) -> None:
    clock = Clock()
    gate = _gate(db_url, clock)
    _open_eth(gate)
    clock.advance(5 * MINUTE_MS)
    _move_market(gate, clock, 3_060.0)
    _, detail, reservation = _add(gate, "add-1", 3_060.0, 150.0, stop=3_030.0)
    assert reservation is not None
    qty = detail["sized"]["qty"]
    gate.fill(reservation, qty / 2, 3_060.0)
    gate.fill(reservation, qty / 2, 3_062.0)
    legs = _position(gate).legs
    assert legs is not None
    assert legs.adds == 1 and legs.last_qty == pytest.approx(qty)
    assert legs.last_price == pytest.approx(3_061.0)


def test_an_add_filled_after_the_stop_was_tightened_keeps_the_tighter_stop(db_url: str) -> None:
    clock = Clock()
    gate = _gate(db_url, clock)
    _open_eth(gate)
    clock.advance(5 * MINUTE_MS)
    _move_market(gate, clock, 3_060.0)
    _, detail, reservation = _add(gate, "add-1", 3_060.0, 150.0, stop=3_000.0)
    assert reservation is not None
    # Meanwhile the bot trailed its stop to 3,020 on the exchange and in the ledger.
    with gate.ledger.transaction() as conn:
        gate.ledger.lock_account(conn)
        conn.execute(t.positions.update().values(stop_price=3_020.0))
    gate.fill(reservation, detail["sized"]["qty"], 3_060.0)
    assert _position(gate).stop_price == 3_020.0


def test_every_process_sees_the_adds_and_refuses_one_beyond_max_adds(db_url: str) -> None:
    clock = Clock()
    gate = _gate(db_url, clock)
    _open_eth(gate)
    price = ETH
    for n, notional in ((1, 100.0), (2, 40.0)):  # each leg at most half the one before
        clock.advance(5 * MINUTE_MS)
        price += 30.0 * 2  # 2 R beyond the last leg each time
        _move_market(gate, clock, price)
        veto, detail, reservation = _add(gate, f"add-{n}", price, notional, stop=price - 30.0)
        assert not veto and reservation is not None, detail["reasons"]
        gate.fill(reservation, detail["sized"]["qty"], price)
    other = _gate(db_url, clock)  # a second process on the same ledger
    clock.advance(5 * MINUTE_MS)
    price += 60.0
    _move_market(other, clock, price)
    veto, detail, _ = _add(other, "add-3", price, 20.0, stop=price - 30.0)
    assert veto and "pyramid_add_limit" in detail["reasons"]


def _ledger_opened_before_the_legs_migration(tmp_path: Any) -> Ledger:
    """A ledger holding an ETH long (entry 3,000, stop 2,970) written at revision 0003, then upgraded."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    upgrade(engine, "0003_controls")
    with engine.begin() as conn:
        conn.execute(insert(t.accounts).values(
            account_id="default", version=1, mode="paper", trading_state="ACTIVE", state_reason="", state_actor="t",
            state_ts_ms=T0, realized_pnl=0.0))
        conn.execute(insert(t.positions).values(
            account_id="default", strategy="s1", symbol="ETHUSDT", side="LONG", qty=0.1, entry_price=ETH,
            leverage=1.0, stop_price=2_970.0, take_profit_price=None, opened_ts_ms=T0, opened_version=1))
    engine.dispose()
    ledger = Ledger(url)
    ledger.upgrade()
    return ledger


def test_a_position_opened_before_the_legs_migration_is_one_leg(tmp_path: Any) -> None:
    ledger = _ledger_opened_before_the_legs_migration(tmp_path)
    (position,) = ledger.positions()
    assert position.legs is None
    assert position.legs_or_opening(0.01).r_unit == pytest.approx(30.0)


def test_moving_the_stop_of_a_position_opened_before_the_legs_migration_keeps_its_one_r(tmp_path: Any) -> None:
    ledger = _ledger_opened_before_the_legs_migration(tmp_path)
    ledger.move_stop("s1", "ETHUSDT", 2_990.0, reason="trail", actor="test")
    (position,) = ledger.positions()
    assert position.stop_price == 2_990.0
    assert position.legs is not None and position.legs.r_unit == pytest.approx(30.0)


def test_the_unfilled_rest_of_a_partly_filled_entry_is_not_a_pending_add(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock, posture(**{"exits.pyramiding": {
        "max_adds": 1, "min_profit_r": 1.0, "min_add_distance_r": 0.5, "min_add_interval_s": 60.0}}))
    _, detail, entry = gate.reserve(buy("open", "ETHUSDT", notional=300.0))
    assert entry is not None
    gate.placed(entry)
    gate.fill(entry, detail["sized"]["qty"] / 2, ETH)  # half filled; the rest still on the book
    clock.advance(5 * MINUTE_MS)
    _move_market(gate, clock, 3_060.0)
    veto, add_detail, _ = _add(gate, "add-1", 3_060.0, 50.0, stop=3_030.0)
    assert not veto, add_detail["reasons"]
    assert add_detail["pyramid"]["pending_adds"] == 0


def test_a_second_add_reserved_before_the_first_fills_is_judged_with_it(db_url: str) -> None:
    clock = Clock()
    gate = _gate(db_url, clock)
    _open_eth(gate)
    clock.advance(5 * MINUTE_MS)
    _move_market(gate, clock, 3_060.0)
    veto, detail, first = _add(gate, "add-1", 3_060.0, 100.0, stop=3_030.0)
    assert not veto and first is not None, detail["reasons"]
    other = _gate(db_url, clock)  # a second bot process, before add-1 fills
    veto, detail, _ = _add(other, "add-2", 3_060.0, 80.0, stop=3_030.0)
    assert veto and "pyramid_size_exceeded" in detail["reasons"]  # at most half of add-1's 100 USDT
    assert detail["pyramid"]["pending_adds"] == 1
