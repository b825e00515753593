"""RiskClient: the in-process gate's calls and shapes over HTTP, retries that are safe through
intent_id, and a fail-closed veto when the service cannot answer."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from riskguard.client import SERVICE_UNAVAILABLE, RiskClient, RiskServiceError
from riskguard.ledger.rows import CloseResult, FillResult
from riskguard.ledger.stop_moves import StopMove
from riskguard.model.intent import OrderIntent
from riskguard.model.signal import Signal
from riskguard.model.snapshots import AccountSnapshot, MarketSnapshot
from service_fixtures import ADMIN, NAV, PRICES, READ, TRADE, LiveService, free_port, ledgers, now_ms, service

__all__ = ["ledgers", "service"]


def btc(intent_id: str, strategy: str, notional: float = 300.0, **fields: Any) -> OrderIntent:
    price = PRICES["BTCUSDT"]
    return OrderIntent(intent_id=intent_id, strategy=strategy, symbol="BTCUSDT", side="BUY", notional=notional,
                       leverage=2.0, stop_price=price * 0.98, take_profit_price=price * 1.04, confidence=0.8,
                       **fields)


def quote(symbol: str = "BTCUSDT") -> MarketSnapshot:
    price = PRICES[symbol]
    return MarketSnapshot(symbol=symbol, mark_price=price, bid=price * 0.99999, ask=price * 1.00001, ts_ms=now_ms())


class LoseFirstResponses(httpx.BaseTransport):
    """Delivers every request, but for the first ``lose`` of them drops the answer (a read timeout):
    the service acted, the client cannot know."""

    def __init__(self, lose: int) -> None:
        self.inner = httpx.HTTPTransport()
        self.lose = lose
        self.sent = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        self.sent += 1
        if self.sent <= self.lose:
            raise httpx.ReadTimeout("answer lost", request=request)
        return response


def test_move_stop_returns_the_gates_shape_and_a_looser_stop_raises_409(service: LiveService) -> None:
    with RiskClient(service.url, TRADE) as client:
        _, _, reservation_id = client.reserve(btc("c-stop", "st_cstop"), market=[quote()])
        assert reservation_id is not None
        client.fill(reservation_id, 0.005, 60_000.0)
        move = client.move_stop("st_cstop", "BTCUSDT", 59_400.0, reason="lock")
        with pytest.raises(RiskServiceError) as refused:
            client.move_stop("st_cstop", "BTCUSDT", 59_000.0)
    assert isinstance(move, StopMove) and (move.moved, move.stop_price, move.reason) == (True, 59_400.0, "lock")
    assert refused.value.status == 409


def test_reserve_fill_and_close_return_the_gates_shapes(service: LiveService) -> None:
    with RiskClient(service.url, TRADE) as client:
        veto, detail, reservation_id = client.reserve(btc("c-1", "st_c1"), market=[quote()])
        assert veto is False and reservation_id is not None
        assert {"decision_id", "reasons", "checks", "sized", "max_notional_allowed", "config_hash"} <= set(detail)
        filled = client.fill(reservation_id, 0.005, 60_000.0)
        closed = client.close("st_c1", "BTCUSDT", 60_600.0)
    assert isinstance(filled, FillResult) and filled.position_qty == pytest.approx(0.005)
    assert isinstance(closed, CloseResult) and closed.realized_pnl == pytest.approx(3.0)


def test_non_finite_numbers_sent_as_strings_come_back_as_floats() -> None:
    def answer(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"veto": False, "detail": {"max_notional_allowed": "inf", "reasons": [],
                                                                    "checks": [{"headroom_notional": "-inf"}]}})

    with RiskClient("http://riskguard.invalid", READ, transport=httpx.MockTransport(answer)) as client:
        _, detail = client.check(btc("c-inf", "st_cinf"))
    assert detail["max_notional_allowed"] == float("inf")
    assert detail["checks"][0]["headroom_notional"] == float("-inf")


def test_check_of_a_signal_sizes_it_and_stores_nothing(service: LiveService) -> None:
    signal = Signal(signal_id="c-sig", strategy="st_csig", symbol="ETHUSDT", side="BUY", confidence=0.9,
                    stop_price=2_940.0)
    with RiskClient(service.url, READ) as client:
        veto, detail = client.check(signal, market=[quote("ETHUSDT")])
    assert veto is False and detail["sized"]["notional"] > 0
    with service.client(READ) as http:
        assert http.get("/v1/decisions").json()["decisions"] == []


def test_a_reserve_whose_answer_was_lost_is_retried_and_returns_the_one_decision(service: LiveService) -> None:
    transport = LoseFirstResponses(lose=1)
    with RiskClient(service.url, TRADE, transport=transport, backoff_s=0.01) as client:
        veto, detail, reservation_id = client.reserve(btc("c-lost", "st_clost"))
    assert transport.sent == 2 and veto is False and reservation_id is not None
    with service.client(READ) as http:
        stored = http.get("/v1/decisions").json()["decisions"]
        held = http.get("/v1/positions").json()["reservations"]
    assert [d["decision_id"] for d in stored] == [detail["decision_id"]]
    assert [r["reservation_id"] for r in held] == [reservation_id]


def test_a_fill_whose_answer_was_lost_is_not_retried(service: LiveService) -> None:
    with RiskClient(service.url, TRADE) as client:
        _, _, reservation_id = client.reserve(btc("c-fill", "st_cfill"))
    assert reservation_id is not None
    transport = LoseFirstResponses(lose=1)
    with RiskClient(service.url, TRADE, transport=transport) as client, pytest.raises(RiskServiceError):
        client.fill(reservation_id, 0.002, 60_000.0)
    assert transport.sent == 1
    with service.client(READ) as http:
        positions = http.get("/v1/positions").json()["positions"]
    assert [p["qty"] for p in positions] == [pytest.approx(0.002)]


def test_an_unreachable_service_is_a_veto_never_an_approval() -> None:
    with RiskClient(f"http://127.0.0.1:{free_port()}", TRADE, timeout_s=0.5, retries=1, backoff_s=0.01) as client:
        veto, detail, reservation_id = client.reserve(btc("c-down", "st_cdown"))
        checked, _ = client.check(btc("c-down2", "st_cdown"))
    assert veto is True and checked is True and reservation_id is None
    assert detail["reasons"] == [SERVICE_UNAVAILABLE] and "unreachable" in detail["error"]


def test_a_refused_token_is_a_veto_too(service: LiveService) -> None:
    with RiskClient(service.url, "wrong-token") as client:
        veto, detail, _ = client.reserve(btc("c-401", "st_c401"))
    assert veto is True and detail["reasons"] == [SERVICE_UNAVAILABLE] and "HTTP 401" in detail["error"]


def test_release_nav_and_state_calls(service: LiveService) -> None:
    with RiskClient(service.url, TRADE) as client:
        _, _, reservation_id = client.reserve(btc("c-rel", "st_crel"))
        assert reservation_id is not None
        assert client.release(reservation_id) is True and client.release(reservation_id) is False
        assert client.mark_nav(AccountSnapshot(nav=NAV, ts_ms=now_ms() - 86_400_000)) is False
        with pytest.raises(RiskServiceError) as refused:
            client.set_trading_state("HALTED", "no admin scope")
    assert refused.value.status == 403
    with RiskClient(service.url, ADMIN) as admin:
        assert admin.set_trading_state("HALTED", "maintenance")["trading_state"] == "HALTED"
        assert admin.trading_state()["reason"] == "maintenance"


def test_placed_declares_an_order_sent_and_says_when_it_is_too_late(service: LiveService) -> None:
    with RiskClient(service.url, TRADE) as client:
        _, _, reservation_id = client.reserve(btc("c-placed", "st_cplaced"))
        assert reservation_id is not None
        assert client.placed(reservation_id) is True
        assert client.release(reservation_id) is True
        assert client.placed(reservation_id) is False
