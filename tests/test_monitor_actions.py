"""Drawdown actions that act: each rung of the ladder executes once per window, through the ledger
and the exchange, as an audited event; --dry-run only reports."""

from __future__ import annotations

import json

from ledger_fixtures import Clock, buy, db_url, make_gate, posture
from monitor_fixtures import open_position, paper_exchange
from riskguard.exchange import OrderRequest, OrderType
from riskguard.ledger.controls import ControlStore
from riskguard.model.enums import Side, TradingState
from riskguard.model.snapshots import AccountSnapshot
from riskguard.monitor.watch import Monitor

__all__ = ["db_url"]

DAY_MS = 86_400_000


def actions(result: object) -> list[str]:
    report = result.actions  # type: ignore[attr-defined]
    return [e["action"] for e in report.executed]


def test_daily_3pct_halts_new_trades_once_per_day_as_an_audited_event(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock)
    monitor = Monitor(gate.ledger, posture(), clock=clock)
    gate.mark_nav(AccountSnapshot(nav=4_260.0, ts_ms=clock.advance(60_000)))  # 3.2 % down
    assert actions(monitor.tick()) == ["halt_new_trades"]
    assert gate.ledger.account().trading_state is TradingState.HALTED
    veto, detail, _ = gate.reserve(buy("after-halt", "ETHUSDT"))
    assert veto and "trading_halted" in detail["reasons"]
    assert actions(monitor.tick()) == [] and monitor.tick().actions.already_done == ["daily_3%_halt_new_trades"]
    (event,) = gate.ledger.events("drawdown_action")
    assert json.loads(event.payload)["rung"] == "daily_3%_halt_new_trades" and event.actor == "monitor"


def test_daily_5pct_closes_every_position_through_the_exchange(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock)
    exchange = paper_exchange(clock)
    open_position(gate, exchange, "btc", "BTCUSDT")
    open_position(gate, exchange, "sol", "SOLUSDT", side="SELL")
    the_posture = posture(**{"monitor": {"kill_switch": {"drawdown_pct": 0.5}}})  # the ladder acts, not the trigger
    monitor = Monitor(gate.ledger, the_posture, exchange, clock=clock, sleep=lambda s: None)
    gate.mark_nav(AccountSnapshot(nav=4_170.0, ts_ms=clock.advance(60_000)))  # 5.2 % down
    result = monitor.tick()
    assert actions(result) == ["halt_new_trades", "close_all"]
    assert exchange.positions() == [] and gate.ledger.positions() == []
    status = ControlStore(gate.ledger).active()
    assert status is not None and status.trigger == "drawdown" and status.status == "done"


def test_weekly_7pct_reduces_size_to_half_for_every_process(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock)
    monitor = Monitor(gate.ledger, posture(), clock=clock)
    for nav in (4_300.0, 4_200.0, 4_090.0):  # each a new day: 7.05 % over the week
        gate.mark_nav(AccountSnapshot(nav=nav, ts_ms=clock.advance(DAY_MS)))  # Wed, Thu, Fri of one ISO week
    assert actions(monitor.tick()) == ["reduce_size"]
    assert ControlStore(gate.ledger).controls().size_multiplier == 0.5
    assert gate.ledger.account().trading_state is TradingState.ACTIVE


def test_monthly_rung_switches_the_account_to_demo_and_cancels_live_orders(db_url: str) -> None:
    clock = Clock()
    ladder = [{"window": "monthly", "threshold_pct": 0.02, "action": "switch_mode", "mode": "demo",
               "release": "operator"}]
    the_posture = posture(**{"policy": {"drawdown_ladder": ladder}})
    gate = make_gate(db_url, clock, the_posture)
    exchange = paper_exchange(clock)
    exchange.place_order(OrderRequest(symbol="BTCUSDT", type=OrderType.LIMIT, side=Side.BUY, qty=0.004,
                                      price=49_000.0, client_order_id="entry.a"))
    monitor = Monitor(gate.ledger, the_posture, exchange, clock=clock)
    gate.mark_nav(AccountSnapshot(nav=4_300.0, ts_ms=clock.advance(60_000)))
    result = monitor.tick()
    assert actions(result) == ["switch_mode"]
    assert gate.ledger.account().mode == "demo" and exchange.open_orders() == []
    assert result.actions.executed[0]["cancelled"][0]["regular"] == ["1"]  # type: ignore[union-attr]


def test_dry_run_reports_what_would_be_done_and_changes_nothing(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock)
    open_position(gate, None, "btc", "BTCUSDT")
    monitor = Monitor(gate.ledger, posture(), clock=clock)
    gate.mark_nav(AccountSnapshot(nav=4_170.0, ts_ms=clock.advance(60_000)))
    result = monitor.tick(dry_run=True)
    assert result.trigger == "drawdown"
    assert [p.action for p in result.actions.planned] == ["halt_new_trades", "close_all"]  # type: ignore[union-attr]
    assert "close every position" in result.actions.planned[1].effect  # type: ignore[union-attr]
    assert result.actions.executed == [] and gate.ledger.events("drawdown_action") == []  # type: ignore[union-attr]
    assert gate.ledger.account().trading_state is TradingState.ACTIVE and len(gate.ledger.positions()) == 1
    assert ControlStore(gate.ledger).active() is None


def test_a_monitor_marking_the_exchanges_nav_acts_on_the_exchanges_drawdown(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock)
    exchange = paper_exchange(clock)
    open_position(gate, exchange, "btc", "BTCUSDT", 400.0)
    monitor = Monitor(gate.ledger, posture(), exchange, clock=clock, mark_exchange_nav=True)
    assert actions(monitor.tick()) == []
    exchange.set_mark("BTCUSDT", 33_000.0)  # the 0.008 BTC long loses 136 USDT: 3.1 % of the exchange's NAV
    clock.advance(60_000)
    assert actions(monitor.tick()) == ["halt_new_trades"]
    assert gate.ledger.account().nav == exchange.account().nav
