"""Reconciliation of the ledger with the exchange, on SQLite and PostgreSQL: each kind of drift,
repairs (--apply) that keep history, and the trading state the posture sets on large drift.

The exchange is a PaperExchange; orders riskguard places carry ``<reservation>.entry`` client ids.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from ledger_fixtures import PRICES, Clock, buy, db_url, make_gate, posture, rows
from riskguard.config.exchange_schema import ReconcileSection
from riskguard.exchange import OrderRequest, OrderType, PaperExchange, client_order_id
from riskguard.ledger import tables as t
from riskguard.ledger.repair import REPAIR_EVENT
from riskguard.model import AccountSnapshot, PositionSide, Side, TradingState
from riskguard.monitor.reconcile import ENTRY_LEG, DriftKind, ReconcileReport, reconcile
from riskguard.runtime import RiskGate

__all__ = ["db_url"]
NAV = 20_000.0
TIGHT = ReconcileSection(nav_tolerance_pct=0.00001)


class Desk:
    """A gate on the ledger under test and a paper exchange with the same clock, NAV and marks."""

    def __init__(self, url: str, **changes: Any) -> None:
        self.clock = Clock()
        self.gate: RiskGate = make_gate(url, self.clock, posture(**changes), nav=NAV)
        self.ledger = self.gate.ledger
        self.exchange = PaperExchange(self.gate.engine.instruments, wallet_balance=NAV, clock=self.clock,
                                      taker_fee=0.0, maker_fee=0.0)
        for symbol, price in PRICES.items():
            self.exchange.set_mark(symbol, price)

    def reserve(self, intent_id: str, symbol: str = "BTCUSDT", notional: float = 800.0, side: str = "BUY",
                strategy: str = "s1") -> tuple[str, float]:
        veto, detail, reservation_id = self.gate.reserve(buy(intent_id, symbol, notional, strategy, side))
        assert not veto and reservation_id is not None, detail["reasons"]
        (row,) = [r for r in self.ledger.reservations() if r.reservation_id == reservation_id]
        return reservation_id, row.qty

    def order(self, reservation_id: str, qty: float, symbol: str = "BTCUSDT", side: str = "BUY",
              price: float | None = None) -> Any:
        kind = OrderType.LIMIT if price is not None else OrderType.MARKET
        return self.exchange.place_order(OrderRequest(symbol, kind, Side(side), qty,
                                                      client_order_id(reservation_id, ENTRY_LEG), price=price))

    def trade(self, intent_id: str, symbol: str = "BTCUSDT", notional: float = 800.0, side: str = "BUY",
              strategy: str = "s1") -> str:
        """Reserve, fill on the exchange, book the fill: ledger and exchange agree."""
        reservation_id, qty = self.reserve(intent_id, symbol, notional, side, strategy)
        placed = self.order(reservation_id, qty, symbol, side)
        self.gate.fill(reservation_id, placed.filled_qty, placed.avg_price)
        return reservation_id

    def manual(self, side: str, qty: float, cid: str, symbol: str = "BTCUSDT", price: float | None = None) -> Any:
        kind = OrderType.LIMIT if price is not None else OrderType.MARKET
        return self.exchange.place_order(OrderRequest(symbol, kind, Side(side), qty, cid, price=price))

    def reconcile(self, settings: ReconcileSection | None = None, *, apply: bool = False) -> ReconcileReport:
        return reconcile(self.ledger, self.exchange, settings, apply=apply, actor="test-reconcile",
                         now_ms=self.clock())


def kinds(report: ReconcileReport) -> list[DriftKind]:
    return [d.kind for d in report.drifts]


def repair_events(desk: Desk) -> list[dict[str, Any]]:
    return [json.loads(e.payload) | {"actor": e.actor} for e in desk.ledger.events(REPAIR_EVENT)]


# -- in sync --------------------------------------------------------------------------------------
def test_ledger_and_exchange_in_sync_after_a_booked_trade(db_url: str) -> None:
    desk = Desk(db_url)
    desk.trade("a")
    report = desk.reconcile(TIGHT)
    assert report.in_sync and report.drifts == ()
    assert report.trading_state_set is None


def test_a_partial_fill_booked_on_both_sides_is_in_sync(db_url: str) -> None:
    desk = Desk(db_url)
    reservation_id, qty = desk.reserve("a", notional=1_600.0)
    half = desk.order(reservation_id, qty / 2)
    desk.gate.fill(reservation_id, half.filled_qty, half.avg_price)
    assert desk.reconcile(TIGHT).in_sync


def test_a_resting_entry_order_of_an_active_reservation_is_in_sync(db_url: str) -> None:
    desk = Desk(db_url)
    reservation_id, qty = desk.reserve("a")
    desk.order(reservation_id, qty, price=49_000.0)
    assert desk.reconcile(TIGHT).in_sync


# -- positions ------------------------------------------------------------------------------------
def test_a_position_the_ledger_does_not_know_is_reported_and_applied_as_unattributed(db_url: str) -> None:
    desk = Desk(db_url)
    desk.manual("BUY", 0.01, "manual-1")
    report = desk.reconcile()
    assert kinds(report) == [DriftKind.POSITION_UNKNOWN_TO_LEDGER]
    assert report.drifts[0].notional_usdt == pytest.approx(500.0)
    desk.reconcile(apply=True)
    (position,) = desk.ledger.positions()
    assert (position.strategy, position.side, position.qty, position.entry_price) == (
        "unattributed", PositionSide.LONG, 0.01, 50_000.0)
    (event,) = repair_events(desk)
    assert event["actor"] == "test-reconcile" and event["before"] is None and event["after"]["qty"] == 0.01
    assert desk.reconcile().in_sync


def test_a_ledger_position_the_exchange_does_not_hold_is_closed_at_the_mark_keeping_history(db_url: str) -> None:
    desk = Desk(db_url)
    reservation_id, qty = desk.reserve("a")
    desk.gate.fill(reservation_id, qty, 50_000.0)  # booked, but never traded on the exchange
    fills_before = len(rows(desk.ledger, t.fills))
    assert kinds(desk.reconcile()) == [DriftKind.POSITION_MISSING_ON_EXCHANGE]
    desk.exchange.set_mark("BTCUSDT", 49_000.0)
    report = desk.reconcile(apply=True)
    assert [r.what for r in report.repairs] == ["position"]
    assert desk.ledger.positions() == []
    fills = rows(desk.ledger, t.fills)
    assert len(fills) == fills_before + 1 and fills[-1].kind == "repair" and fills[-1].price == 49_000.0
    assert desk.reconcile().in_sync


def test_a_position_on_the_opposite_side_is_a_side_mismatch_and_apply_flips_it(db_url: str) -> None:
    desk = Desk(db_url)
    reservation_id, qty = desk.reserve("a")
    desk.gate.fill(reservation_id, qty, 50_000.0)
    desk.manual("SELL", qty, "manual-1")
    report = desk.reconcile()
    assert DriftKind.SIDE_MISMATCH in kinds(report)
    desk.reconcile(apply=True)
    (position,) = desk.ledger.positions()
    assert position.side is PositionSide.SHORT and position.qty == pytest.approx(qty)
    assert position.strategy == "s1"
    assert DriftKind.SIDE_MISMATCH not in kinds(desk.reconcile())


def test_a_qty_difference_below_one_step_is_not_drift(db_url: str) -> None:
    desk = Desk(db_url)
    reservation_id, qty = desk.reserve("a")
    placed = desk.order(reservation_id, qty)
    desk.gate.fill(reservation_id, placed.filled_qty * (1 - 1e-7), placed.avg_price)
    assert desk.reconcile(TIGHT).in_sync


def test_an_entry_price_off_the_exchange_is_reported_and_corrected(db_url: str) -> None:
    desk = Desk(db_url)
    reservation_id, qty = desk.reserve("a")
    desk.order(reservation_id, qty)
    desk.gate.fill(reservation_id, qty, 50_500.0)  # booked at the wrong price
    report = desk.reconcile()
    assert DriftKind.ENTRY_MISMATCH in kinds(report)
    desk.reconcile(apply=True)
    assert desk.ledger.positions()[0].entry_price == 50_000.0


# -- fills ----------------------------------------------------------------------------------------
def test_a_fill_the_ledger_missed_is_booked_on_its_reservation(db_url: str) -> None:
    desk = Desk(db_url)
    reservation_id, qty = desk.reserve("a", notional=1_600.0)
    placed = desk.order(reservation_id, qty)
    desk.gate.fill(reservation_id, qty / 2, placed.avg_price)  # the second half never reached the ledger
    report = desk.reconcile()
    assert kinds(report) == [DriftKind.QTY_MISMATCH, DriftKind.FILL_MISSED]
    applied = desk.reconcile(apply=True)
    assert [r.what for r in applied.repairs] == ["fill"]
    (reservation,) = desk.ledger.reservations(status=None)
    assert reservation.status == "FILLED" and reservation.filled_qty == pytest.approx(qty)
    assert desk.reconcile().in_sync


def test_an_order_that_filled_after_its_reservation_expired_is_booked(db_url: str) -> None:
    desk = Desk(db_url)
    reservation_id, qty = desk.reserve("a")
    desk.clock.advance(31_000)
    assert desk.ledger.expire(now_ms=desk.clock()) == 1
    desk.order(reservation_id, qty)  # the exchange filled it anyway
    report = desk.reconcile()
    assert DriftKind.FILLED_AFTER_EXPIRY in kinds(report)
    desk.reconcile(apply=True)
    (position,) = desk.ledger.positions()
    assert position.qty == pytest.approx(qty) and position.strategy == "s1"
    assert desk.reconcile().in_sync


def test_an_open_order_whose_reservation_expired_is_reported_and_left_to_the_operator(db_url: str) -> None:
    desk = Desk(db_url)
    reservation_id, qty = desk.reserve("a")
    desk.order(reservation_id, qty, price=49_000.0)
    desk.clock.advance(31_000)
    desk.ledger.expire(now_ms=desk.clock())
    report = desk.reconcile(apply=True)
    assert kinds(report) == [DriftKind.ORDER_OF_ENDED_RESERVATION]
    assert [d.kind for d in report.unrepaired] == [DriftKind.ORDER_OF_ENDED_RESERVATION]


# -- orders and reservations ----------------------------------------------------------------------
def test_an_exchange_order_with_no_reservation_is_reported(db_url: str) -> None:
    desk = Desk(db_url)
    desk.manual("BUY", 0.01, "x-cvBPrNm9abc", price=49_000.0)
    report = desk.reconcile()
    (drift,) = report.drifts
    assert drift.kind is DriftKind.ORDER_WITHOUT_RESERVATION and drift.client_order_id == "x-cvBPrNm9abc"
    assert drift.notional_usdt == pytest.approx(490.0)


def test_a_reservation_whose_order_was_cancelled_is_released_on_apply(db_url: str) -> None:
    desk = Desk(db_url)
    reservation_id, qty = desk.reserve("a")
    desk.order(reservation_id, qty, price=49_000.0)
    desk.exchange.cancel_all("BTCUSDT")
    assert kinds(desk.reconcile()) == [DriftKind.RESERVATION_ORDER_GONE]
    desk.reconcile(apply=True)
    (reservation,) = desk.ledger.reservations(status=None)
    assert reservation.status == "RELEASED"
    assert [e["what"] for e in repair_events(desk)] == ["release"]


def test_a_reservation_with_no_order_is_reported_only_after_the_grace_period(db_url: str) -> None:
    desk = Desk(db_url, **{"ledger.reservation_ttl_s": 600})
    desk.reserve("a")
    assert desk.reconcile().in_sync
    desk.clock.advance(61_000)
    assert kinds(desk.reconcile()) == [DriftKind.RESERVATION_ORDER_GONE]


# -- NAV and the trading state --------------------------------------------------------------------
def test_funding_booked_on_the_exchange_moves_nav_and_apply_marks_it(db_url: str) -> None:
    desk = Desk(db_url)
    desk.trade("a")
    desk.exchange.set_mark("BTCUSDT", 50_000.0, funding_rate=0.0005)
    paid = desk.exchange.apply_funding("BTCUSDT")
    assert paid == pytest.approx(-0.4)
    report = desk.reconcile(TIGHT)
    assert kinds(report) == [DriftKind.NAV_MISMATCH]
    assert report.trading_state_set is None  # small: below the action tolerance
    desk.reconcile(TIGHT, apply=True)
    assert desk.ledger.account().nav == pytest.approx(NAV - 0.4)
    (event,) = repair_events(desk)
    assert (event["what"], event["before"]["nav"]) == ("nav", NAV)
    assert event["after"]["nav"] == pytest.approx(NAV - 0.4)


def test_large_drift_sets_the_posture_trading_state_with_the_drift_as_reason(db_url: str) -> None:
    desk = Desk(db_url)
    desk.manual("BUY", 0.02, "manual-1")  # 1,000 USDT unknown to the ledger: 5 % of NAV
    report = desk.reconcile()
    assert report.trading_state_set is TradingState.REDUCING
    account = desk.ledger.account()
    assert account.trading_state is TradingState.REDUCING
    assert "position_unknown_to_ledger BTCUSDT" in account.state_reason
    assert account.state_actor == "test-reconcile"


def test_the_posture_may_halt_instead_and_a_halt_is_never_loosened(db_url: str) -> None:
    desk = Desk(db_url)
    desk.manual("BUY", 0.02, "manual-1")
    assert desk.reconcile(ReconcileSection(drift_action="HALTED")).trading_state_set is TradingState.HALTED
    assert desk.reconcile(ReconcileSection(drift_action="REDUCING")).trading_state_set is None
    assert desk.ledger.account().trading_state is TradingState.HALTED


def test_nav_far_off_the_exchange_reduces_trading(db_url: str) -> None:
    desk = Desk(db_url)
    desk.gate.mark_nav(AccountSnapshot(nav=NAV * 1.1, ts_ms=desk.clock()))
    report = desk.reconcile()
    assert kinds(report) == [DriftKind.NAV_MISMATCH] and report.trading_state_set is TradingState.REDUCING


def test_apply_never_deletes_history_and_the_report_is_json(db_url: str) -> None:
    desk = Desk(db_url)
    desk.trade("a")
    desk.manual("SELL", 0.016, "manual-1")
    desk.manual("BUY", 0.01, "manual-2", symbol="ETHUSDT", price=2_900.0)
    tables = (t.fills, t.events, t.reservations, t.decisions, t.equity_marks)
    before = {table.name: len(rows(desk.ledger, table)) for table in tables}
    report = desk.reconcile(apply=True)
    after = {table.name: len(rows(desk.ledger, table)) for table in tables}
    assert all(after[name] >= count for name, count in before.items())
    assert json.loads(json.dumps(report.to_dict()))["applied"] is True
