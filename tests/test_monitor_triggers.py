"""Each kill-switch trigger the monitor detects (drawdown, exchange unreachable, market data stale,
reconciliation drift, ledger errors), and what follows: 100 % of new risk vetoed, exits pass."""

from __future__ import annotations

import random

import pytest

from ledger_fixtures import Clock, buy, db_url, make_gate, posture
from monitor_fixtures import FlakyExchange, open_position, paper_exchange
from riskguard.ledger.controls import ControlStore
from riskguard.ledger.errors import LedgerUnavailable
from riskguard.model.enums import TradingState
from riskguard.model.snapshots import AccountSnapshot
from riskguard.monitor import watch
from riskguard.monitor.watch import Monitor
from riskguard.runtime import RiskGate

__all__ = ["db_url"]


def new_risk_vetoed_and_exits_pass(url: str, clock: Clock, exit_symbol: str) -> None:
    """Another process: 40 random risk-adding intents all vetoed; a reduce-only exit approved."""
    other = make_gate(url, clock, actor="bot-2", nav=None)
    rng = random.Random(5)
    for k in range(40):
        clock.advance(10)
        symbol = rng.choice(["BTCUSDT", "ETHUSDT", "SOLUSDT"])
        veto, detail, reservation = other.reserve(buy(f"new-{k}", symbol, rng.uniform(120.0, 600.0),
                                                      f"s{rng.randint(2, 4)}", rng.choice(["BUY", "SELL"])))
        assert veto and reservation is None and "trading_halted" in detail["reasons"], detail["reasons"]
    veto, detail, _ = other.reserve(buy("exit", exit_symbol, 400.0, "s1", "SELL", reduce_only=True))
    assert not veto, detail["reasons"]


def held_gate(url: str, clock: Clock) -> RiskGate:
    gate = make_gate(url, clock)
    open_position(gate, None, "held", "BTCUSDT")
    return gate


def test_market_data_stale_past_the_limit_pulls_the_kill_switch(db_url: str) -> None:
    clock = Clock()
    gate = held_gate(db_url, clock)
    monitor = Monitor(gate.ledger, posture(), clock=clock)
    assert monitor.tick(market_ts={"BTCUSDT": clock.now - 59_000}).trigger is None
    result = monitor.tick(market_ts={"BTCUSDT": clock.now - 61_000, "ETHUSDT": clock.now})
    assert result.trigger == "market_data_stale" and result.kill_switch is not None
    assert "BTCUSDT market data 61 s old" in result.kill_switch.reason
    new_risk_vetoed_and_exits_pass(db_url, clock, "BTCUSDT")


def test_exchange_unreachable_for_the_limit_pulls_the_kill_switch_and_completes_once_it_is_back(
        db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock)
    exchange = FlakyExchange(paper_exchange(clock))
    open_position(gate, exchange.inner, "held", "BTCUSDT")
    monitor = Monitor(gate.ledger, posture(), exchange, clock=clock, sleep=lambda s: None)  # type: ignore[arg-type]
    exchange.down = True
    first = monitor.tick()
    assert first.trigger is None and any("connection refused" in e for e in first.errors)
    clock.advance(30_000)
    result = monitor.tick()
    assert result.trigger == "exchange_unreachable" and result.kill_switch is not None
    assert result.kill_switch.status == "incomplete"  # nothing could be cancelled or closed yet
    new_risk_vetoed_and_exits_pass(db_url, clock, "BTCUSDT")
    exchange.down = False
    retried = monitor.tick()
    assert retried.kill_switch is not None and retried.kill_switch.status == "done"
    assert exchange.inner.positions() == [] and gate.ledger.positions() == []


def test_reconciliation_drift_pulls_the_kill_switch(db_url: str) -> None:
    clock = Clock()
    gate = held_gate(db_url, clock)
    result = Monitor(gate.ledger, posture(), clock=clock).tick(drift_count=2)
    assert result.trigger == "reconciliation_drift"
    assert result.kill_switch_status["category"] == "technical"
    assert gate.ledger.account().trading_state is TradingState.HALTED


def test_repeated_ledger_errors_pull_the_kill_switch(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    gate = held_gate(db_url, clock)
    monitor = Monitor(gate.ledger, posture(), clock=clock)
    failures = iter([True, True, True])

    def flaky(*args: object, **kwargs: object) -> object:
        if next(failures, False):
            raise LedgerUnavailable("ledger database unavailable: connection reset")
        raise AssertionError("not reached in this test")

    monkeypatch.setattr(watch, "compute_metrics", flaky)
    assert monitor.tick().trigger is None
    assert monitor.tick().trigger is None
    result = monitor.tick()
    assert result.trigger == "ledger_errors" and result.kill_switch is not None
    assert ControlStore(gate.ledger).active() is not None


def test_daily_drawdown_at_the_kill_limit_pulls_the_kill_switch(db_url: str) -> None:
    clock = Clock()
    gate = held_gate(db_url, clock)
    gate.mark_nav(AccountSnapshot(nav=4_150.0, ts_ms=clock.advance(60_000)))  # 5.7 % down
    result = Monitor(gate.ledger, posture(), clock=clock).tick()
    assert result.trigger == "drawdown" and result.kill_switch is not None
    assert result.kill_switch.reason == "daily drawdown 5.68% reached 5.00%"
    new_risk_vetoed_and_exits_pass(db_url, clock, "BTCUSDT")


def test_a_monitor_that_reconciles_each_pass_pulls_the_kill_switch_on_drift(db_url: str) -> None:
    clock = Clock()
    gate = held_gate(db_url, clock)  # the ledger holds BTC; the paper exchange holds nothing
    exchange = paper_exchange(clock)
    result = Monitor(gate.ledger, posture(), exchange, clock=clock, reconcile_each_tick=True).tick()
    assert result.drifts and result.trigger == "reconciliation_drift"
    assert ControlStore(gate.ledger).active() is not None
