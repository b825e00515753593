"""Risk metrics from the ledger and the exchange, and alerts: thresholds from the posture, raised
once while the condition holds, each a ledger event, a log line and a webhook post."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import numpy as np
import pytest

from ledger_fixtures import PRICES, Clock, db_url, make_gate, posture
from monitor_fixtures import open_position, paper_exchange
from riskguard.config.limits import compile_limits
from riskguard.math.var import historical_cvar, historical_var
from riskguard.model.snapshots import AccountSnapshot
from riskguard.monitor.metrics import compute_metrics, portfolio_pnl
from riskguard.monitor.prometheus import MonitorGauges
from riskguard.monitor.watch import Monitor

__all__ = ["db_url"]


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A webhook receiver on 127.0.0.1 that keeps every JSON body it is sent."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(json.loads(body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/alerts", received
    finally:
        server.shutdown()
        server.server_close()


def test_metrics_carry_positions_exposure_risk_consumed_margin_and_liquidation_with_units(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock)
    exchange = paper_exchange(clock)
    qty = open_position(gate, exchange, "btc", "BTCUSDT", 400.0)
    exchange.set_mark("BTCUSDT", 49_000.0)
    limits = compile_limits(posture())
    metrics = compute_metrics(gate.ledger, limits, now_ms=clock.now, exchange=exchange)
    assert metrics.value("open_positions") == 1.0 and metrics.metrics["open_positions"].unit == "positions"
    assert metrics.value("exposure_total") == pytest.approx(qty * 49_000.0)
    assert metrics.metrics["exposure_total"].by_key == pytest.approx({"BTCUSDT": qty * 49_000.0})
    nav = exchange.account().nav
    risk = qty * (PRICES["BTCUSDT"] - PRICES["BTCUSDT"] * 0.99)
    assert metrics.value("risk_at_stops") == pytest.approx(risk)
    assert metrics.value("risk_consumed") == pytest.approx(risk / (limits.max_total_risk_nav_pct * nav))
    (held,) = exchange.positions()
    assert metrics.value("margin_usage") == pytest.approx(held.margin / nav)
    assert metrics.value("liquidation_distance_min") == pytest.approx(
        (49_000.0 - held.liquidation_price) / 49_000.0)
    assert all(m.ts_ms == clock.now and m.unit for m in metrics.metrics.values())
    assert metrics.to_dict()["metrics"]["exposure_nav"]["unit"] == "fraction of NAV"


def test_without_an_exchange_liquidation_comes_from_the_instrument_brackets_and_marks_given(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock)
    open_position(gate, None, "eth", "ETHUSDT", leverage=3.0)
    metrics = compute_metrics(gate.ledger, compile_limits(posture()), now_ms=clock.now, marks={"ETHUSDT": 2_900.0})
    (view,) = metrics.positions
    assert view.mark_price == 2_900.0 and view.source == "ledger"
    assert view.liquidation_price is not None and 0.0 < view.liquidation_price < 2_900.0
    assert metrics.value("liquidation_distance_min") == pytest.approx(view.liquidation_distance)


def test_var_and_cvar_come_from_the_return_history_over_the_held_notional(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock)
    qty = open_position(gate, None, "btc", "BTCUSDT")
    returns = {"BTCUSDT": list(np.random.default_rng(3).normal(0.0, 0.01, 500))}
    limits = compile_limits(posture())
    metrics = compute_metrics(gate.ledger, limits, now_ms=clock.now, marks=PRICES, returns=returns)
    pnl = portfolio_pnl({"BTCUSDT": qty * PRICES["BTCUSDT"]}, returns, limits.cvar_window)
    assert pnl is not None
    assert metrics.value("var_95") == pytest.approx(historical_var(pnl, 0.95))
    assert metrics.value("cvar") == pytest.approx(historical_cvar(pnl, limits.cvar_alpha))
    assert metrics.metrics["var_95"].unit == "USDT"


def test_drawdown_per_window_comes_from_the_ledgers_nav_marks(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock)
    gate.mark_nav(AccountSnapshot(nav=4_268.0, ts_ms=clock.advance(60_000)))
    metrics = compute_metrics(gate.ledger, compile_limits(posture()), now_ms=clock.now)
    assert metrics.value("drawdown_daily") == pytest.approx(0.03)
    assert metrics.value("drawdown_weekly") == pytest.approx(0.03)
    assert metrics.value("drawdown_monthly") == pytest.approx(0.03)


def test_a_drawdown_alert_is_raised_once_while_it_holds_posted_logged_and_cleared_after(
        db_url: str, receiver: tuple[str, list[dict[str, Any]]], caplog: pytest.LogCaptureFixture) -> None:
    url, received = receiver
    clock = Clock()
    the_posture = posture(**{"monitor": {"alerts": {"webhooks": [url]}}})
    gate = make_gate(db_url, clock, the_posture)
    monitor = Monitor(gate.ledger, the_posture, clock=clock)
    gate.mark_nav(AccountSnapshot(nav=4_268.0, ts_ms=clock.advance(60_000)))  # 3 % down: warning at 2.5 %
    first = monitor.tick()
    second = monitor.tick()
    assert [a["key"] for a in first.alerts_raised] == ["drawdown_daily"] and second.alerts_raised == []
    assert [body["key"] for body in received] == ["drawdown_daily"]
    assert received[0]["severity"] == "warning" and received[0]["threshold"] == 0.025
    assert len(gate.ledger.events("alert")) == 1
    assert "alert drawdown_daily [warning]" in caplog.text
    gate.mark_nav(AccountSnapshot(nav=4_400.0, ts_ms=clock.advance(60_000)))
    assert monitor.tick().alerts_cleared == ["drawdown_daily"]
    assert len(gate.ledger.events("alert_cleared")) == 1


def test_a_liquidation_distance_under_a_tenth_is_critical(db_url: str) -> None:
    clock = Clock()
    the_posture = posture()
    gate = make_gate(db_url, clock, the_posture)
    exchange = paper_exchange(clock, wallet=300.0)
    open_position(gate, exchange, "btc", "BTCUSDT", 400.0)
    exchange.set_leverage("BTCUSDT", 20)
    (held,) = exchange.positions()
    close_to_liquidation = held.liquidation_price * 1.05
    exchange.set_mark("BTCUSDT", close_to_liquidation)
    result = Monitor(gate.ledger, the_posture, exchange, clock=clock).tick(dry_run=True)
    assert result.metrics is not None
    distance = result.metrics.value("liquidation_distance_min")
    assert distance is not None and distance < 0.1
    from riskguard.monitor.metrics import alerts_for
    (alert,) = [a for a in alerts_for(result.metrics, the_posture.monitor.alerts) if a.key.startswith("liq")]
    assert alert.key == "liquidation:BTCUSDT" and alert.severity.value == "critical"


def test_a_webhook_that_is_down_is_reported_and_never_stops_the_monitor(db_url: str) -> None:
    clock = Clock()
    the_posture = posture(**{"monitor": {"alerts": {"webhooks": ["http://127.0.0.1:9/down"],
                                                    "webhook_timeout_s": 0.5}}})
    gate = make_gate(db_url, clock, the_posture)
    gate.mark_nav(AccountSnapshot(nav=4_268.0, ts_ms=clock.advance(60_000)))
    result = Monitor(gate.ledger, the_posture, clock=clock).tick()
    assert [a["key"] for a in result.alerts_raised] == ["drawdown_daily"]
    assert any("webhook http://127.0.0.1:9/down failed" in e for e in result.errors)


def test_metrics_are_exported_as_prometheus_gauges(db_url: str) -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    clock = Clock()
    gate = make_gate(db_url, clock)
    open_position(gate, None, "btc", "BTCUSDT")
    registry = CollectorRegistry()
    MonitorGauges(registry).update(compute_metrics(gate.ledger, compile_limits(posture()), now_ms=clock.now,
                                                   marks=PRICES))
    text = generate_latest(registry).decode()
    assert 'riskguard_monitor_open_positions{account="default",key=""} 1.0' in text
    assert 'riskguard_monitor_exposure_total{account="default",key="BTCUSDT"}' in text
