"""The kill switch through the ccxt Binance USD-M adapter on recorded responses (no network): the
exact requests it sends (cancel regular and conditional orders per symbol, one reduce-only market
close per position with the activation's client order id), and a failed close retried."""

from __future__ import annotations

from typing import Any

import pytest

from binance_fixtures import HttpError, in_turn, no_network, offline_client, recorded, recorded_body
from ledger_fixtures import Clock, make_gate, sqlite_url
from monitor_fixtures import open_position
from riskguard.config.monitor_schema import KillSwitchSection
from riskguard.exchange.binance import BinanceUsdm
from riskguard.monitor.killswitch import KillSwitch, KillTrigger

pytestmark = pytest.mark.usefixtures("no_network")
__all__ = ["no_network", "sqlite_url"]

SIGNED = {"timestamp", "recvWindow", "signature"}
CANCEL_DONE = {"code": 200, "msg": "The operation of cancel all open order is done."}


def filled_close(request: Any) -> dict[str, Any]:
    """Binance's RESULT answer to a market order: filled at once, echoing the request."""
    body: dict[str, Any] = dict(recorded_body("batchOrders_post.json")[0])
    p = request.params
    body.update(symbol=p["symbol"], side=p["side"], type="MARKET", origType="MARKET", status="FILLED",
                clientOrderId=p["newClientOrderId"], origQty=p["quantity"], executedQty=p["quantity"],
                cumQty=p["quantity"], avgPrice="67400.0", price="0", reduceOnly=True)
    return body


NO_SUCH_ORDER = HttpError(400, {"code": -2013, "msg": "Order does not exist."})


def binance(close: Any = filled_close) -> BinanceUsdm:
    routes = {("GET", "/fapi/v1/order"): NO_SUCH_ORDER, ("GET", "/fapi/v1/algoOrder"): NO_SUCH_ORDER,
              ("GET", "/fapi/v1/openOrders"): [recorded("openOrder.json")["httpResponse"]],
              ("GET", "/fapi/v1/openAlgoOrders"): [],
              ("GET", "/fapi/v3/positionRisk"): recorded_body("positionRisk_v3.json"),
              ("DELETE", "/fapi/v1/allOpenOrders"): CANCEL_DONE,
              ("DELETE", "/fapi/v1/algoOpenOrders"): CANCEL_DONE,
              ("POST", "/fapi/v1/order"): close}
    return BinanceUsdm(offline_client(routes), sleep=lambda s: None, clock=lambda: 1_733_450_000_000)


def writes(exchange: BinanceUsdm) -> list[tuple[str, str, dict[str, str]]]:
    return [(r.method, r.path, {k: v for k, v in r.params.items() if k not in SIGNED})
            for r in exchange.client.fetch.writes()]


def test_activation_sends_exactly_the_cancels_and_the_reduce_only_close(sqlite_url: str) -> None:
    clock = Clock()
    gate = make_gate(sqlite_url, clock)
    open_position(gate, None, "btc", "BTCUSDT")
    exchange = binance()
    report = KillSwitch(gate.ledger, exchange, KillSwitchSection(), actor="ops", clock=clock).activate(
        KillTrigger.MANUAL, "recorded")
    close_id = f"{report.activation_id}-BTCUSDT.close"
    assert writes(exchange) == [
        ("DELETE", "/fapi/v1/allOpenOrders", {"symbol": "LTCUSDT"}),
        ("DELETE", "/fapi/v1/algoOpenOrders", {"symbol": "LTCUSDT"}),
        ("POST", "/fapi/v1/order", {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.009",
                                    "reduceOnly": "true", "newClientOrderId": close_id,
                                    "newOrderRespType": "RESULT"})]
    assert report.status == "done" and [c["symbol"] for c in report.closed] == ["BTCUSDT"]
    (closed,) = report.closed
    assert closed["exit_price"] == 67_400.0 and closed["entry_price"] == 67_445.9
    assert closed["estimated_loss_usdt"] == pytest.approx(0.009 * 45.9 + 0.009 * 67_400.0 * 0.0005)
    assert gate.ledger.positions() == []


def test_a_refused_close_is_retried_with_a_new_client_order_id_and_reported_until_it_passes(
        sqlite_url: str) -> None:
    clock = Clock()
    gate = make_gate(sqlite_url, clock)
    server_error = HttpError(503, {"code": -1001, "msg": "Internal error; unable to process your request."})
    exchange = binance(in_turn(*[server_error] * 8, filled_close))  # the adapter itself tries each order 4 times
    section = KillSwitchSection(max_attempts=2, backoff_s=0.01)
    switch = KillSwitch(gate.ledger, exchange, section, actor="ops", clock=clock, sleep=lambda s: None)
    first = switch.activate(KillTrigger.EXCHANGE_UNREACHABLE, "503s")
    assert first.status == "incomplete" and [f["step"] for f in first.failed] == ["close:BTCUSDT"]
    second = switch.activate(KillTrigger.MANUAL, "retry")
    assert second.status == "done"
    posted = [params["newClientOrderId"] for method, path, params in writes(exchange) if path == "/fapi/v1/order"]
    base = f"{first.activation_id}-BTCUSDT"
    assert list(dict.fromkeys(posted)) == [f"{base}.close", f"{base}.c2", f"{base}.c3"]
    assert posted[-1] == f"{base}.c3" and posted.count(f"{base}.c3") == 1  # sent once, then it filled
