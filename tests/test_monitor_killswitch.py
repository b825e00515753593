"""The kill switch: durable in the ledger, seen by every process, cancels and closes through the
exchange, idempotent, resumable, retries and reports partial failures."""

from __future__ import annotations

import pytest

from ledger_fixtures import Clock, buy, db_url, make_gate, posture
from monitor_fixtures import FlakyExchange, open_position, paper_exchange
from riskguard.config.monitor_schema import KillSwitchSection
from riskguard.exchange import OrderRequest, OrderType
from riskguard.ledger import Ledger
from riskguard.ledger.controls import ControlStore
from riskguard.ledger.errors import LedgerUnavailable
from riskguard.model.enums import Side, TradingState
from riskguard.monitor.killswitch import NOTHING_DONE_WITHOUT_EXCHANGE, KillSwitch, KillTrigger

__all__ = ["db_url"]

SECTION = KillSwitchSection(max_attempts=3, backoff_s=0.01)


def kill_switch(ledger: Ledger, exchange: object, clock: Clock, sleeps: list[float] | None = None) -> KillSwitch:
    waits = sleeps if sleeps is not None else []
    return KillSwitch(ledger, exchange, SECTION, actor="operator", clock=clock,  # type: ignore[arg-type]
                      sleep=waits.append)


def test_activation_halts_every_process_through_the_ledger_and_exits_still_pass(db_url: str) -> None:
    clock = Clock()
    bot = make_gate(db_url, clock)
    open_position(bot, None, "open-1")
    other = make_gate(db_url, clock, actor="other-process")
    kill_switch(Ledger(db_url), None, clock).activate(KillTrigger.MANUAL, "operator pulled it")
    veto, detail, _ = other.reserve(buy("new-risk", "ETHUSDT"))
    assert veto and "trading_halted" in detail["reasons"]
    veto, detail, _ = other.reserve(buy("exit", "BTCUSDT", 400.0, "s1", "SELL", reduce_only=True))
    assert not veto, detail["reasons"]
    assert Ledger(db_url).account().trading_state is TradingState.HALTED


def test_without_an_exchange_activation_says_plainly_that_nothing_was_cancelled_or_closed(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock)
    open_position(gate, None, "open-1")
    report = kill_switch(gate.ledger, None, clock).activate(KillTrigger.REGULATORY, "regulator order")
    assert report.status == "no_exchange" and report.closed == [] and report.cancelled == []
    assert NOTHING_DONE_WITHOUT_EXCHANGE in report.notes
    assert any("1 ledger position(s) remain open" in note for note in report.notes)
    assert report.category == "regulatory"


def test_activation_cancels_every_order_and_closes_every_position_with_reduce_only_market_orders(
        db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock)
    exchange = FlakyExchange(paper_exchange(clock))
    open_position(gate, exchange.inner, "btc", "BTCUSDT")
    open_position(gate, exchange.inner, "eth", "ETHUSDT", side="SELL")
    exchange.inner.place_order(OrderRequest(symbol="BTCUSDT", type=OrderType.STOP_MARKET, side=Side.SELL, qty=None,
                                            stop_price=45_000.0, close_position=True, client_order_id="btc.sl"))
    exchange.inner.place_order(OrderRequest(symbol="ETHUSDT", type=OrderType.LIMIT, side=Side.SELL, qty=0.01,
                                            price=3_100.0, client_order_id="eth.tp"))
    exchange.inner.set_mark("BTCUSDT", 49_000.0)  # BTC long is 2 % down
    report = kill_switch(gate.ledger, exchange, clock).activate(KillTrigger.MANUAL, "test")
    assert report.status == "done" and report.failed == []
    assert exchange.inner.open_orders() == [] and exchange.inner.positions() == []
    assert sorted(c["symbol"] for c in report.cancelled) == ["BTCUSDT", "ETHUSDT"]
    assert {c["symbol"] for c in report.closed} == {"BTCUSDT", "ETHUSDT"}
    assert all(o.reduce_only and o.type is OrderType.MARKET for o in exchange.placed)
    assert gate.ledger.positions() == []
    btc = next(c for c in report.closed if c["symbol"] == "BTCUSDT")
    assert btc["estimated_loss_usdt"] == pytest.approx(btc["qty"] * (50_000.0 - 49_000.0) + btc["fee_usdt"])
    assert report.estimated_loss_usdt == pytest.approx(sum(c["estimated_loss_usdt"] for c in report.closed))
    assert report.fees_usdt > 0


def test_a_second_activation_closes_nothing_twice(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock)
    exchange = FlakyExchange(paper_exchange(clock))
    open_position(gate, exchange.inner, "btc")
    switch = kill_switch(gate.ledger, exchange, clock)
    first = switch.activate(KillTrigger.MANUAL, "first")
    fills = len(exchange.inner.fills)
    second = switch.activate(KillTrigger.MANUAL, "again")
    assert not second.created and second.activation_id == first.activation_id
    assert len(exchange.inner.fills) == fills and len(exchange.placed) == 1
    assert [c["symbol"] for c in second.closed] == ["BTCUSDT"] and second.status == "done"


def test_one_symbols_close_failing_leaves_the_rest_closed_and_is_reported_retried_then_completed(
        db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock)
    exchange = FlakyExchange(paper_exchange(clock))
    open_position(gate, exchange.inner, "btc", "BTCUSDT")
    open_position(gate, exchange.inner, "eth", "ETHUSDT")
    exchange.fail_close["ETHUSDT"] = 10
    sleeps: list[float] = []
    switch = kill_switch(gate.ledger, exchange, clock, sleeps)
    report = switch.activate(KillTrigger.EXCHANGE_UNREACHABLE, "bad gateway")
    assert report.status == "incomplete"
    assert [f["step"] for f in report.failed] == ["close:ETHUSDT"] and "502" in report.failed[0]["error"]
    assert [c["symbol"] for c in report.closed] == ["BTCUSDT"]
    assert [p.symbol for p in exchange.inner.positions()] == ["ETHUSDT"]
    assert sleeps == [0.01, 0.02]  # backoff doubles between the three tries
    store = ControlStore(gate.ledger)
    assert store.steps(report.activation_id)["close:ETHUSDT"].status == "failed"
    assert switch.status()["status"] == "incomplete" and switch.status()["active"]
    exchange.fail_close.clear()
    retried = switch.activate(KillTrigger.MANUAL, "retry")
    assert retried.status == "done" and retried.failed == []
    assert sorted(c["symbol"] for c in retried.closed) == ["BTCUSDT", "ETHUSDT"]
    assert exchange.inner.positions() == [] and gate.ledger.positions() == []
    assert [o.symbol for o in exchange.placed] == ["BTCUSDT", "ETHUSDT"]


def test_status_reports_the_activation_and_release_leaves_the_account_reducing(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock)
    switch = kill_switch(gate.ledger, None, clock)
    switch.activate(KillTrigger.DRAWDOWN, "daily drawdown 5.2 %")
    status = switch.status()
    assert status["active"] and status["trigger"] == "drawdown" and status["actor"] == "operator"
    assert status["reason"] == "daily drawdown 5.2 %" and status["ts_ms"] == clock.now and status["safe_mode"]
    assert NOTHING_DONE_WITHOUT_EXCHANGE in status["outcome"]["notes"]
    switch.release("root cause fixed")
    status = switch.status()
    assert not status["active"] and status["released_by"] == "operator" and not status["safe_mode"]
    assert gate.ledger.account().trading_state is TradingState.REDUCING


def test_an_active_kill_switch_puts_a_hand_set_active_state_back_to_halted(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock)
    switch = kill_switch(gate.ledger, None, clock)
    switch.activate(KillTrigger.MANUAL, "stop")
    gate.ledger.set_trading_state("ACTIVE", "someone lifted it", actor="bob")
    assert switch.enforce()
    assert gate.ledger.account().trading_state is TradingState.HALTED
    assert not switch.enforce()


def test_the_kill_switch_survives_a_restart(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock)
    kill_switch(gate.ledger, None, clock).activate(KillTrigger.LEDGER_ERRORS, "3 failed writes")
    gate.ledger.dispose()
    fresh = Ledger(db_url)
    status = kill_switch(fresh, None, clock).status()
    assert status["active"] and status["trigger"] == "ledger_errors" and status["category"] == "technical"
    assert posture().monitor.kill_switch.drawdown_pct == 0.05


def test_with_the_ledger_down_the_exchange_is_still_flattened_and_the_report_says_nothing_was_recorded(
        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock)
    exchange = FlakyExchange(paper_exchange(clock))
    open_position(gate, exchange.inner, "btc", "BTCUSDT")
    exchange.inner.place_order(OrderRequest(symbol="ETHUSDT", type=OrderType.LIMIT, side=Side.BUY, qty=0.05,
                                            price=2_900.0, client_order_id="eth.entry"))

    def down(*args: object, **kwargs: object) -> None:
        raise LedgerUnavailable("ledger database unavailable: connection refused")

    switch = kill_switch(gate.ledger, exchange, clock)
    monkeypatch.setattr(switch.store, "engage", down)
    report = switch.activate(KillTrigger.LEDGER_ERRORS, "ledger down")
    assert report.status == "unrecorded" and report.failed == []
    assert exchange.inner.positions() == [] and exchange.inner.open_orders() == []
    assert [c["symbol"] for c in report.closed] == ["BTCUSDT"] and report.closed[0]["booked_in_ledger"] is False
    assert any("not recorded" in note for note in report.notes)
    again = switch.activate(KillTrigger.LEDGER_ERRORS, "still down")
    assert again.closed == [] and len(exchange.placed) == 1  # nothing closed twice


def test_a_ledger_position_the_exchange_does_not_hold_is_reported_and_left_for_reconciliation(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock)
    exchange = FlakyExchange(paper_exchange(clock))
    open_position(gate, None, "sol", "SOLUSDT")  # the ledger only
    report = kill_switch(gate.ledger, exchange, clock).activate(KillTrigger.MANUAL, "drift")
    assert report.status == "done" and report.closed == []
    assert any("SOLUSDT with no position on the exchange" in note for note in report.notes)
    assert [p.symbol for p in gate.ledger.positions()] == ["SOLUSDT"]
