"""Prometheus metrics: decisions by result and reason (pre-created at zero for every reason code),
decision and reserve durations, the ledger-derived gauges; and `riskguard serve --workers 2`
answering /metrics for both workers (multiprocess mode)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from riskguard.service.metrics import REASON_CODES
from service_fixtures import ADMIN, READ, TOKENS, TRADE, LiveService, free_port, intent, ledgers, prime, service

__all__ = ["ledgers", "service"]


def samples(live: LiveService) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with live.client(READ) as http:
        text = http.get("/metrics").text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return found[(name, tuple(sorted(labels.items())))]


def test_every_reason_code_is_exported_at_zero_before_any_decision(service: LiveService) -> None:
    found = samples(service)
    for reason in REASON_CODES:
        assert value(found, "riskguard_decisions_total", result="vetoed", reason=reason) == 0.0
    assert value(found, "riskguard_decisions_total", result="approved", reason="none") == 0.0


def test_decisions_are_counted_by_result_and_each_reason(service: LiveService) -> None:
    with service.client(TRADE) as http:
        http.post("/v1/reserve", json={"intent": intent("m-ok", strategy="st_m1")})
        http.post("/v1/reserve", json={"intent": intent("m-veto", notional=9_000.0, leverage=50.0,
                                                        strategy="st_m2")})
    found = samples(service)
    assert value(found, "riskguard_decisions_total", result="approved", reason="none") == 1.0
    assert value(found, "riskguard_decisions_total", result="vetoed", reason="leverage_exceeded") == 1.0
    assert value(found, "riskguard_decisions_total", result="vetoed", reason="trade_gt_max_trade_nav_pct") == 1.0
    assert value(found, "riskguard_reserve_duration_seconds_count") == 2.0
    assert value(found, "riskguard_approved_confidence_count") == 1.0


def test_dry_runs_are_timed_but_not_counted_as_decisions(service: LiveService) -> None:
    with service.client(READ) as http:
        http.post("/v1/check", json={"intent": intent("m-dry", strategy="st_m3")})
    found = samples(service)
    assert value(found, "riskguard_decision_duration_seconds_count") == 1.0
    assert value(found, "riskguard_decisions_total", result="approved", reason="none") == 0.0


def test_gauges_follow_the_ledger_positions_caps_nav_and_trading_state(service: LiveService) -> None:
    with service.client(TRADE) as http:
        reserved = http.post("/v1/reserve", json={"intent": intent("m-pos", notional=500.0, strategy="st_m4")}).json()
        http.post("/v1/fill", json={"reservation_id": reserved["reservation_id"], "qty": 0.005, "price": 60_000.0})
    with service.client(ADMIN) as http:
        http.put("/v1/state", json={"state": "REDUCING", "reason": "metrics test"})
    found = samples(service)
    assert value(found, "riskguard_ledger_up") == 1.0
    assert value(found, "riskguard_open_positions") == 1.0
    assert value(found, "riskguard_nav_usdt") == 10_000.0
    assert value(found, "riskguard_gross_exposure_usdt") == pytest.approx(480.0)
    assert value(found, "riskguard_cap_utilisation_ratio", cap="global_concurrency", scope="all") == 0.25
    assert value(found, "riskguard_cap_utilisation_ratio", cap="strategy_concurrency", scope="st_m4") > 0.0
    assert value(found, "riskguard_trading_state", state="REDUCING") == 1.0
    assert value(found, "riskguard_trading_state", state="ACTIVE") == 0.0
    assert value(found, "riskguard_drawdown_ratio", window="day") == 0.0


@pytest.mark.timeout(120)
def test_serve_with_two_workers_shares_one_registry(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "RISKGUARD_API_TOKENS": TOKENS, "PYTHONUNBUFFERED": "1"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = [sys.executable, "-c", "from riskguard.cli.app import main; main()", "serve", "--port", str(port),
               "--workers", "2", "--db-url", f"sqlite:///{tmp_path / 'ledger.db'}"]
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TRADE}"}, timeout=10.0) as http:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if http.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None and time.monotonic() < deadline, "riskguard serve did not start"
                time.sleep(0.2)
            prime(http)
            for n in range(6):  # new connections, so both workers are likely to answer some
                with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TRADE}"}) as fresh:
                    fresh.post("/v1/reserve", json={"intent": intent(f"w-{n}", notional=9_000.0,
                                                                     strategy=f"st_w{n}")})
            text = http.get("/metrics").text
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
    found = {(s.name, tuple(sorted(s.labels.items()))): s.value
             for family in text_string_to_metric_families(text) for s in family.samples}
    assert found[("riskguard_decisions_total", (("reason", "trade_gt_max_trade_nav_pct"), ("result", "vetoed")))] == 6
    assert found[("riskguard_decisions_total", (("reason", "cooldown_active"), ("result", "vetoed")))] == 0


def test_the_risk_monitors_metrics_are_scraped_with_the_service(service: LiveService) -> None:
    with service.client(TRADE) as http:
        reserved = http.post("/v1/reserve", json={"intent": intent("mon-1", strategy="st_mon")}).json()
        assert http.post("/v1/fill", json={"reservation_id": reserved["reservation_id"], "qty": 0.001,
                                           "price": 50_000.0}).status_code == 200
    with service.client(READ) as http:
        text = http.get("/metrics").text
    assert 'riskguard_monitor_open_positions{account="default",key=""}' in text
    assert "riskguard_monitor_liquidation_distance" in text and "riskguard_monitor_risk_consumed" in text
