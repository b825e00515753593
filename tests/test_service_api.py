"""The HTTP API under real uvicorn, on SQLite and PostgreSQL ledgers: decisions, idempotency, the
after-decision calls, the trading state, stored decisions with explain and replay, readiness."""

from __future__ import annotations

from typing import Any

import pytest

from service_fixtures import ADMIN, READ, TRADE, LiveService, intent, ledgers, now_ms, quotes, running, service
from service_fixtures import service_settings as settings_for

__all__ = ["ledgers", "service"]

pytestmark = pytest.mark.timeout(180)


def reserve(live: LiveService, body: dict[str, Any], token: str = TRADE) -> dict[str, Any]:
    with live.client(token) as http:
        response = http.post("/v1/reserve", json={"intent": body})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_a_safe_intent_is_approved_with_a_reservation_and_stored(service: LiveService) -> None:
    result = reserve(service, intent("safe-1", strategy="st_safe"))
    assert result["veto"] is False and result["detail"]["reasons"] == []
    assert result["reservation_id"]
    with service.client(READ) as http:
        listed = http.get("/v1/decisions").json()["decisions"]
        held = http.get("/v1/positions").json()["reservations"]
    assert [d["intent_id"] for d in listed] == ["safe-1"]
    assert [r["reservation_id"] for r in held] == [result["reservation_id"]]


def test_a_retried_reserve_returns_the_first_decision_and_reserves_nothing_more(service: LiveService) -> None:
    body = intent("retry-1", strategy="st_retry")
    first, second = reserve(service, body), reserve(service, body)
    assert second["detail"]["decision_id"] == first["detail"]["decision_id"]
    assert second["reservation_id"] == first["reservation_id"]
    with service.client(READ) as http:
        assert len(http.get("/v1/positions").json()["reservations"]) == 1
        assert len(http.get("/v1/decisions").json()["decisions"]) == 1


def test_an_unsafe_but_well_formed_intent_is_a_veto_with_reasons(service: LiveService) -> None:
    result = reserve(service, intent("huge-1", notional=9_000.0, leverage=50.0, strategy="st_huge"))
    assert result["veto"] is True and result["reservation_id"] is None
    assert "leverage_exceeded" in result["detail"]["reasons"]


def test_check_is_a_dry_run_that_stores_nothing(service: LiveService) -> None:
    with service.client(READ) as http:
        response = http.post("/v1/check", json={"intent": intent("dry-1", strategy="st_dry")})
        assert response.status_code == 200
        assert response.json()["veto"] is False
        assert http.get("/v1/decisions").json()["decisions"] == []
        assert http.get("/v1/positions").json()["reservations"] == []


def test_a_signal_is_sized_by_the_engine_and_reserved(service: LiveService) -> None:
    signal = {"signal_id": "sig-1", "strategy": "st_signal", "symbol": "ETHUSDT", "side": "BUY",
              "confidence": 0.9, "stop_price": 2_940.0, "expected_rr": 2.0}
    with service.client(TRADE) as http:
        result = http.post("/v1/reserve", json={"signal": signal}).json()
    assert result["veto"] is False and result["reservation_id"]
    assert result["detail"]["sizing"]["method"] and result["detail"]["intent"]["intent_id"] == "sig-1"


def test_a_malformed_body_is_a_422_naming_the_field(service: LiveService) -> None:
    with service.client(TRADE) as http:
        negative = http.post("/v1/reserve", json={"intent": intent(notional=-5.0)})
        missing = http.post("/v1/reserve", json={"intent": {"intent_id": "x", "strategy": "s"}})
        neither = http.post("/v1/reserve", json={"market": []})
        unknown = http.post("/v1/reserve", json={"intent": {**intent(), "colour": "red"}})
    assert negative.status_code == 422
    assert negative.json()["detail"][0]["loc"] == ["body", "intent", "notional"]
    assert missing.status_code == 422
    assert {tuple(e["loc"]) for e in missing.json()["detail"]} >= {("body", "intent", "symbol"),
                                                                   ("body", "intent", "side")}
    assert neither.status_code == 422 and "exactly one of intent or signal" in neither.text
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["body", "intent", "colour"]


@pytest.mark.parametrize(("body", "content_type"), [(b'{"intent": {"intent_id": NaN}}', "application/json"),
                                                     (b'{"nav": Infinity}', "application/json"),
                                                     (b"\xff", "text/plain")], ids=["nan", "infinity", "not-utf8"])
@pytest.mark.parametrize("path", ["/v1/check", "/v1/reserve", "/v1/nav", "/v1/fill"])
def test_a_refused_non_finite_number_or_non_utf8_body_is_a_422_not_a_500(service: LiveService, path: str,
                                                                          body: bytes, content_type: str) -> None:
    with service.client(TRADE) as http:
        response = http.post(path, content=body, headers={"Content-Type": content_type})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "body"


def test_a_bad_market_snapshot_is_a_422_naming_its_index_and_field(service: LiveService) -> None:
    bad = {**quotes()[0], "bid": 61_000.0, "ask": 60_500.0}
    with service.client(TRADE) as http:
        response = http.post("/v1/check", json={"intent": intent(), "market": [quotes()[1], bad]})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "market", 1, "bid"]


def test_fill_then_close_books_a_position_and_its_pnl(service: LiveService) -> None:
    approved = reserve(service, intent("fill-1", strategy="st_fill"))
    with service.client(TRADE) as http:
        filled = http.post("/v1/fill", json={"reservation_id": approved["reservation_id"], "qty": 0.005,
                                             "price": 60_000.0}).json()
        assert filled["position_qty"] == pytest.approx(0.005)
        assert [p["symbol"] for p in http.get("/v1/positions").json()["positions"]] == ["BTCUSDT"]
        closed = http.post("/v1/close", json={"strategy": "st_fill", "symbol": "BTCUSDT", "price": 61_000.0}).json()
    assert closed["position_qty"] == 0.0 and closed["realized_pnl"] == pytest.approx(5.0)


def test_a_stop_move_tightens_the_stop_and_is_safe_to_repeat(service: LiveService) -> None:
    approved = reserve(service, intent("stop-1", strategy="st_stop"))
    body = {"strategy": "st_stop", "symbol": "BTCUSDT", "stop_price": 59_500.0, "reason": "chandelier",
            "actor": "bot-7"}
    with service.client(TRADE) as http:
        http.post("/v1/fill", json={"reservation_id": approved["reservation_id"], "qty": 0.005, "price": 60_000.0})
        moved = http.post("/v1/stop", json=body)
        again = http.post("/v1/stop", json=body)
        (position,) = [p for p in http.get("/v1/positions").json()["positions"] if p["strategy"] == "st_stop"]
    assert moved.status_code == 200 and again.status_code == 200
    assert (moved.json()["previous_stop"], moved.json()["stop_price"], moved.json()["moved"]) == (
        pytest.approx(58_800.0), 59_500.0, True)
    assert moved.json()["risk_usdt"] == pytest.approx(0.005 * 500.0)
    assert again.json()["moved"] is False and position["stop_price"] == 59_500.0


def test_a_looser_stop_is_a_409_no_position_a_404_and_a_bad_price_a_422_naming_it(service: LiveService) -> None:
    approved = reserve(service, intent("stop-2", strategy="st_stop2"))
    with service.client(TRADE) as http:
        http.post("/v1/fill", json={"reservation_id": approved["reservation_id"], "qty": 0.005, "price": 60_000.0})
        looser = http.post("/v1/stop", json={"strategy": "st_stop2", "symbol": "BTCUSDT", "stop_price": 50_000.0})
        nobody = http.post("/v1/stop", json={"strategy": "nobody", "symbol": "BTCUSDT", "stop_price": 59_000.0})
        zero = http.post("/v1/stop", json={"strategy": "st_stop2", "symbol": "BTCUSDT", "stop_price": 0.0})
        blank = http.post("/v1/stop", json={"strategy": "st_stop2", "symbol": "BTCUSDT", "stop_price": 59_000.0,
                                            "reason": "   "})
    assert looser.status_code == 409 and "stop_price" in looser.json()["detail"]
    assert nobody.status_code == 404
    assert zero.status_code == 422 and zero.json()["detail"][0]["loc"] == ["body", "stop_price"]
    assert blank.status_code == 422 and blank.json()["detail"][0]["loc"] == ["body", "reason"]


def test_release_returns_the_budget_once_and_then_says_it_was_not_active(service: LiveService) -> None:
    approved = reserve(service, intent("rel-1", strategy="st_release"))
    with service.client(TRADE) as http:
        first = http.post("/v1/release", json={"reservation_id": approved["reservation_id"]}).json()
        second = http.post("/v1/release", json={"reservation_id": approved["reservation_id"]}).json()
        assert http.get("/v1/positions").json()["reservations"] == []
    assert first["released"] is True and second["released"] is False


def test_unknown_reservation_is_a_404_and_an_overfill_a_422(service: LiveService) -> None:
    approved = reserve(service, intent("over-1", strategy="st_over"))
    with service.client(TRADE) as http:
        unknown = http.post("/v1/fill", json={"reservation_id": "res-nope", "qty": 1.0, "price": 1.0})
        over = http.post("/v1/fill", json={"reservation_id": approved["reservation_id"], "qty": 5.0,
                                           "price": 60_000.0})
        no_position = http.post("/v1/close", json={"strategy": "nobody", "symbol": "BTCUSDT", "price": 1.0})
    assert unknown.status_code == 404 and "res-nope" in unknown.json()["detail"]
    assert over.status_code == 422 and over.json()["detail"][0]["loc"] == ["body", "qty"]
    assert no_position.status_code == 404


def test_a_halted_state_is_recorded_with_who_and_why_and_vetoes_new_risk(service: LiveService) -> None:
    with service.client(ADMIN) as http:
        put = http.put("/v1/state", json={"state": "HALTED", "reason": "exchange outage", "actor": "alice"})
    assert put.status_code == 200
    assert put.json()["trading_state"] == "HALTED" and put.json()["actor"].startswith("alice (token:")
    result = reserve(service, intent("halted-1", strategy="st_halted"))
    assert result["veto"] is True and "trading_halted" in result["detail"]["reasons"]
    with service.client(READ) as http:
        assert http.get("/v1/state").json()["reason"] == "exchange outage"


def test_an_older_nav_mark_is_ignored(service: LiveService) -> None:
    with service.client(TRADE) as http:
        older = http.post("/v1/nav", json={"nav": 5_000.0, "ts_ms": now_ms() - 3_600_000}).json()
        state = http.get("/v1/state").json()
    assert older["stored"] is False and state["nav"] == 10_000.0


def test_a_stored_decision_comes_with_explain_and_a_replay_that_reproduces(service: LiveService) -> None:
    vetoed = reserve(service, intent("explain-1", notional=9_000.0, strategy="st_explain"))
    decision_id = vetoed["detail"]["decision_id"]
    with service.client(READ) as http:
        stored = http.get(f"/v1/decisions/{decision_id}").json()
        without = http.get(f"/v1/decisions/{decision_id}", params={"replay": "false"}).json()
        missing = http.get("/v1/decisions/nope-00000000")
    assert stored["replay"] == {"matches": True, "differences": {}, "error": None}
    assert {c["gate"] for c in stored["explain"]["checks"]} >= {"trade_gt_max_trade_nav_pct", "leverage_exceeded"}
    assert stored["detail"]["reasons"] == vetoed["detail"]["reasons"]
    assert without["replay"] is None
    assert missing.status_code == 404


def test_decisions_filter_by_verdict_and_symbol(service: LiveService) -> None:
    reserve(service, intent("flt-ok", strategy="st_filter_a"))
    reserve(service, intent("flt-veto", symbol="ETHUSDT", notional=9_000.0, strategy="st_filter_b"))
    with service.client(READ) as http:
        vetoed = http.get("/v1/decisions", params={"approved": "false"}).json()["decisions"]
        eth = http.get("/v1/decisions", params={"symbol": "ETHUSDT"}).json()["decisions"]
    assert [d["intent_id"] for d in vetoed] == ["flt-veto"] and vetoed[0]["verdict"] == "vetoed"
    assert [d["intent_id"] for d in eth] == ["flt-veto"]


def test_health_and_readiness_of_a_working_service(service: LiveService) -> None:
    with service.client(None) as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        ready = http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True and ready.json()["posture"] == "moderate"


def test_an_unreachable_ledger_fails_closed_not_ready_and_every_reserve_vetoed() -> None:
    unreachable = "postgresql+psycopg://postgres@127.0.0.1:9/none?connect_timeout=1"
    for live in running(settings_for(unreachable)):
        with live.client(TRADE) as http:
            ready = http.get("/readyz")
            reserved = http.post("/v1/reserve", json={"intent": intent("down-1")})
            checked = http.post("/v1/check", json={"intent": intent("down-2")})
            positions = http.get("/v1/positions")
            metrics = http.get("/metrics")
        assert ready.status_code == 503 and ready.json()["ready"] is False and ready.json()["problem"]
        assert reserved.status_code == 200 and reserved.json()["veto"] is True
        assert reserved.json()["detail"]["reasons"] == ["ledger_unavailable"]
        assert checked.json()["veto"] is True
        assert positions.status_code == 503
        assert 'riskguard_ledger_errors_total{operation="reserve"}' in metrics.text
        assert "riskguard_ledger_up 0.0" in metrics.text


def test_a_dry_run_sees_what_another_process_wrote_since_the_last_one(service: LiveService) -> None:
    from riskguard.ledger.ledger import Ledger

    with service.client(READ) as http:
        before = http.post("/v1/check", json={"intent": intent("fresh-1", strategy="st_fresh")}).json()
        url = service.app.state.service.settings.db_url
        other = Ledger(url)  # another writer, as a second host would be
        try:
            other.set_trading_state("HALTED", "halted elsewhere", actor="ops-host-2")
        finally:
            other.dispose()
        after = http.post("/v1/check", json={"intent": intent("fresh-1", strategy="st_fresh")}).json()
    assert before["veto"] is False
    assert after["veto"] is True and "trading_halted" in after["detail"]["reasons"]


def test_a_dry_run_decides_with_a_nav_mark_another_process_stored(service: LiveService) -> None:
    from riskguard.ledger.ledger import Ledger
    from riskguard.model.snapshots import AccountSnapshot

    with service.client(READ) as http:
        before = http.post("/v1/check", json={"intent": intent("nav-1", strategy="st_nav")}).json()
        other = Ledger(service.app.state.service.settings.db_url)
        try:
            other.mark_nav(AccountSnapshot(nav=12_000.0, ts_ms=now_ms()), actor="nav-feeder-2")
        finally:
            other.dispose()
        after = http.post("/v1/check", json={"intent": intent("nav-1", strategy="st_nav")}).json()
    assert before["detail"]["nav"] == 10_000.0 and after["detail"]["nav"] == 12_000.0


def test_a_placed_reservation_never_expires_and_a_released_one_cannot_be_placed(service: LiveService) -> None:
    approved = reserve(service, intent("placed-1", strategy="st_placed"))
    with service.client(TRADE) as http:
        first = http.post("/v1/placed", json={"reservation_id": approved["reservation_id"]}).json()
        again = http.post("/v1/placed", json={"reservation_id": approved["reservation_id"]}).json()
        active = http.get("/v1/positions").json()["reservations"]
        assert [r["reservation_id"] for r in active] == [approved["reservation_id"]]
        assert all(r["expires_ms"] > 2**61 for r in active)  # no TTL once the order is sent
        http.post("/v1/release", json={"reservation_id": approved["reservation_id"]})
        late = http.post("/v1/placed", json={"reservation_id": approved["reservation_id"]}).json()
    assert (first["placed"], again["placed"], late["placed"]) == (True, True, False)
