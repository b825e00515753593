"""Moving a protective stop on the exchange (``replace_stop``): Binance over ccxt's real parsers fed
Binance's answers with every socket blocked (the exact requests asserted), the paper exchange, the
async wrapper; cancel first, then place, and never two stops or none without saying so."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from binance_fixtures import HttpError, Unreachable, in_turn, no_network, offline_client
from riskguard.config.exits_schema import DynamicStopSection, ExitsSection
from riskguard.engine.instruments import default_instruments
from riskguard.exchange import (
    NO_STOP,
    STOP_KEPT,
    STOP_TRIGGERED,
    STOP_UNKNOWN,
    AsyncExchange,
    ExchangeOrder,
    OrderRequest,
    OrderType,
    PaperExchange,
    StopReplaceFailed,
    exit_plan_requests,
    moved_stop_request,
    reservation_for,
    stop_order_id,
)
from riskguard.exchange.binance import BinanceUsdm
from riskguard.exchange.client_ids import MAX_STOP_MOVES
from riskguard.exits import build_exit_plan, compile_exit_rules
from riskguard.exits.dynamic_stop import adjust_stop, compile_dynamic_stop_rule
from riskguard.exits.plan import ExitPlan
from riskguard.model import InputValidationError, Side

pytestmark = pytest.mark.usefixtures("no_network")
__all__ = ["no_network"]

RESERVATION = "res-3f2a9c1b7e44-0000002a"
PREVIOUS = f"{RESERVATION}.sl"
NEW = f"{RESERVATION}.sl1"
SIGNED = {"timestamp", "recvWindow", "signature"}
NOW = 1_733_450_000_000
_BTC_RULES = default_instruments()["BTCUSDT"]


def btc_plan(side: str = "LONG") -> ExitPlan:
    """0.009 BTC at 67,445.9 with ATR 600: stop 900 away (one R), on BTC's 0.1 tick."""
    return build_exit_plan(compile_exit_rules(ExitsSection()), _BTC_RULES, side, 67_445.9, 0.009, 600.0)


def moved_stop(side: str = "LONG") -> OrderRequest:
    """The first move of the plan's stop: one R in favour locks break-even (the dynamic stop's order)."""
    plan = btc_plan(side)
    best = 68_400.0 if side == "LONG" else 66_500.0
    update = adjust_stop(compile_dynamic_stop_rule(DynamicStopSection()), plan, plan.stop_price, best, best, 600.0)
    assert update.moved and update.order is not None
    return moved_stop_request(update.order, RESERVATION, 1)


def algo_order(client_id: str, status: str, **fields: Any) -> dict[str, Any]:
    """Binance's documented algo order object (GET/POST /fapi/v1/algoOrder; no recording holds one)."""
    return {"algoId": 2146760 + len(client_id), "clientAlgoId": client_id, "algoType": "CONDITIONAL",
            "orderType": "STOP_MARKET", "symbol": "BTCUSDT", "side": "SELL", "positionSide": "BOTH",
            "timeInForce": "GTC", "quantity": "0", "algoStatus": status, "triggerPrice": "66545.9", "price": "0",
            "workingType": "MARK_PRICE", "closePosition": True, "reduceOnly": False,
            "createTime": 1750485492076, "updateTime": 1750485492076, **fields}


def placed_answer(request: Any) -> dict[str, Any]:
    """Binance's answer to POST /fapi/v1/algoOrder, echoing the request."""
    p = request.params
    return algo_order(p["clientAlgoId"], "NEW", side=p["side"], triggerPrice=p["triggerPrice"],
                      quantity=p.get("quantity", "0"), closePosition=p.get("closePosition") == "true",
                      reduceOnly=p.get("reduceOnly") == "true")


def cancelled_answer(request: Any) -> dict[str, Any]:
    """Binance's answer to DELETE /fapi/v1/algoOrder."""
    return {"algoId": 2146760, "clientAlgoId": request.params["clientAlgoId"], "code": "200", "msg": "success"}


def lookup(orders: dict[str, dict[str, Any]]) -> Any:
    """GET /fapi/v1/algoOrder answering by clientAlgoId, -2013 for any other."""
    def answer(request: Any) -> Any:
        found = orders.get(request.params.get("clientAlgoId", ""))
        return found if found is not None else HttpError(400, {"code": -2013, "msg": "Order does not exist."})
    return answer


UNKNOWN_ORDER = HttpError(400, {"code": -2011, "msg": "Unknown order sent."})


def binance(routes: dict[tuple[str, str], Any]) -> BinanceUsdm:
    return BinanceUsdm(offline_client(routes), sleep=lambda _: None, clock=lambda: NOW)


def writes(exchange: BinanceUsdm) -> list[tuple[str, str, dict[str, str]]]:
    return [(r.method, r.path, {k: v for k, v in r.params.items() if k not in SIGNED})
            for r in exchange.client.fetch.writes()]


# -- client order ids -----------------------------------------------------------------------------
def test_stop_ids_number_the_moves_after_the_plans_own_stop() -> None:
    assert [stop_order_id(RESERVATION, n) for n in (0, 1, 9, 10, 36)] == [
        PREVIOUS, NEW, f"{RESERVATION}.sl9", f"{RESERVATION}.sla", f"{RESERVATION}.sl10"]
    assert stop_order_id(RESERVATION, MAX_STOP_MOVES).endswith(".slzzzz")


def test_stop_ids_fit_binance_and_map_back_to_their_reservation() -> None:
    long_id = "res-" + "x" * 60
    moved = stop_order_id(long_id, MAX_STOP_MOVES)
    assert len(moved) <= 36
    assert reservation_for(moved, ["res-a", long_id]) == long_id


@pytest.mark.parametrize("move", [-1, MAX_STOP_MOVES + 1, True, 1.0])
def test_a_move_number_outside_the_range_is_refused_naming_it(move: Any) -> None:
    with pytest.raises(InputValidationError) as refused:
        stop_order_id(RESERVATION, move)
    assert refused.value.field == "move"


def test_the_moved_stop_request_is_the_dynamic_stops_order_under_the_moves_id() -> None:
    stop = moved_stop()
    assert (stop.type, stop.side, stop.qty, stop.close_position, stop.stop_price, stop.working_type) == (
        OrderType.STOP_MARKET, Side.SELL, None, True, 67_445.9, "MARK_PRICE")
    assert stop.client_order_id == NEW
    with pytest.raises(InputValidationError, match="move"):
        moved_stop_request({"symbol": "BTCUSDT", "type": "STOP_MARKET", "side": "sell", "params": {}}, RESERVATION, 0)


# -- Binance: the requests ------------------------------------------------------------------------
def test_a_move_cancels_the_previous_stop_by_client_id_then_places_the_new_one() -> None:
    exchange = binance({("DELETE", "/fapi/v1/algoOrder"): cancelled_answer,
                        ("POST", "/fapi/v1/algoOrder"): placed_answer})
    placed = exchange.replace_stop(moved_stop(), previous_client_id=PREVIOUS)
    assert writes(exchange) == [
        ("DELETE", "/fapi/v1/algoOrder", {"symbol": "BTCUSDT", "clientAlgoId": PREVIOUS}),
        ("POST", "/fapi/v1/algoOrder", {
            "symbol": "BTCUSDT", "side": "SELL", "type": "STOP_MARKET", "triggerPrice": "67445.9",
            "closePosition": "true", "workingType": "MARK_PRICE", "algoType": "CONDITIONAL",
            "clientAlgoId": NEW, "newOrderRespType": "RESULT"})]
    assert (placed.client_order_id, placed.stop_price, placed.close_position, placed.status) == (
        NEW, 67_445.9, True, "open")


def test_a_short_positions_reduce_only_stop_moves_down_with_its_quantity() -> None:
    exchange = binance({("DELETE", "/fapi/v1/algoOrder"): cancelled_answer,
                        ("POST", "/fapi/v1/algoOrder"): placed_answer})
    stop = OrderRequest("BTCUSDT", OrderType.STOP_MARKET, Side.BUY, 0.009, NEW, stop_price=67_100.0,
                        reduce_only=True, working_type="MARK_PRICE")
    placed = exchange.replace_stop(stop, previous_client_id=PREVIOUS)
    (_, (_, _, sent)) = writes(exchange)
    assert {k: sent[k] for k in ("side", "type", "quantity", "reduceOnly", "triggerPrice", "workingType")} == {
        "side": "BUY", "type": "STOP_MARKET", "quantity": "0.009", "reduceOnly": "true", "triggerPrice": "67100",
        "workingType": "MARK_PRICE"}
    assert "closePosition" not in sent and placed.reduce_only


# -- Binance: retries and failures ----------------------------------------------------------------
def test_a_lost_cancel_answer_is_checked_and_the_new_stop_placed_once() -> None:
    exchange = binance({
        ("DELETE", "/fapi/v1/algoOrder"): in_turn(Unreachable("connection reset"), UNKNOWN_ORDER),
        ("GET", "/fapi/v1/algoOrder"): lookup({PREVIOUS: algo_order(PREVIOUS, "CANCELED")}),
        ("POST", "/fapi/v1/algoOrder"): placed_answer})
    placed = exchange.replace_stop(moved_stop(), previous_client_id=PREVIOUS)
    assert [(m, p) for m, p, _ in writes(exchange)] == [
        ("DELETE", "/fapi/v1/algoOrder"), ("DELETE", "/fapi/v1/algoOrder"), ("POST", "/fapi/v1/algoOrder")]
    assert placed.client_order_id == NEW


def test_repeating_a_finished_move_returns_the_new_stop_and_sends_no_order() -> None:
    exchange = binance({
        ("DELETE", "/fapi/v1/algoOrder"): UNKNOWN_ORDER,
        ("GET", "/fapi/v1/algoOrder"): lookup({PREVIOUS: algo_order(PREVIOUS, "CANCELED"),
                                               NEW: algo_order(NEW, "NEW", triggerPrice="67445.9")})})
    placed = exchange.replace_stop(moved_stop(), previous_client_id=PREVIOUS)
    assert placed.client_order_id == NEW and placed.stop_price == 67_445.9
    assert [m for m, _, _ in writes(exchange)] == ["DELETE"]


def test_a_previous_stop_that_fired_stops_the_move() -> None:
    exchange = binance({("DELETE", "/fapi/v1/algoOrder"): UNKNOWN_ORDER,
                        ("GET", "/fapi/v1/algoOrder"): lookup({PREVIOUS: algo_order(PREVIOUS, "TRIGGERED")})})
    with pytest.raises(StopReplaceFailed, match="already fired") as failed:
        exchange.replace_stop(moved_stop(), previous_client_id=PREVIOUS)
    assert failed.value.state == STOP_TRIGGERED
    assert [m for m, _, _ in writes(exchange)] == ["DELETE"]


def test_a_refused_cancel_keeps_the_previous_stop_and_places_nothing() -> None:
    refused = HttpError(400, {"code": -1102, "msg": "Mandatory parameter 'algoid' was not sent."})
    exchange = binance({("DELETE", "/fapi/v1/algoOrder"): refused})
    with pytest.raises(StopReplaceFailed) as failed:
        exchange.replace_stop(moved_stop(), previous_client_id=PREVIOUS)
    assert (failed.value.state, failed.value.code) == (STOP_KEPT, -1102)
    assert [m for m, _, _ in writes(exchange)] == ["DELETE"]


def test_an_unreachable_exchange_leaves_the_outcome_unknown_and_says_so() -> None:
    exchange = binance({("DELETE", "/fapi/v1/algoOrder"): Unreachable("connection refused")})
    with pytest.raises(StopReplaceFailed) as failed:
        exchange.replace_stop(moved_stop(), previous_client_id=PREVIOUS)
    assert failed.value.state == STOP_UNKNOWN
    assert "POST" not in {m for m, _, _ in writes(exchange)}


def test_a_new_stop_refused_after_the_cancel_says_the_position_has_no_stop() -> None:
    immediate = HttpError(400, {"code": -2021, "msg": "Order would immediately trigger."})
    exchange = binance({("DELETE", "/fapi/v1/algoOrder"): cancelled_answer,
                        ("POST", "/fapi/v1/algoOrder"): immediate})
    with pytest.raises(StopReplaceFailed, match="no stop") as failed:
        exchange.replace_stop(moved_stop(), previous_client_id=PREVIOUS)
    assert (failed.value.state, failed.value.code) == (NO_STOP, -2021)
    assert [m for m, _, _ in writes(exchange)] == ["DELETE", "POST"]  # a refusal is final: not re-sent


@pytest.mark.parametrize(("stop", "field"), [
    (OrderRequest("BTCUSDT", OrderType.TAKE_PROFIT_MARKET, Side.SELL, None, NEW, stop_price=1.0,
                  close_position=True), "type"),
    (OrderRequest("BTCUSDT", OrderType.STOP_MARKET, Side.SELL, 0.009, NEW, stop_price=1.0), "reduce_only"),
    (OrderRequest("BTCUSDT", OrderType.STOP_MARKET, Side.SELL, None, PREVIOUS, stop_price=1.0, close_position=True),
     "client_order_id"),
])
def test_a_replacement_that_is_not_a_protective_stop_is_refused_before_any_request(
        stop: OrderRequest, field: str) -> None:
    exchange = binance({})
    with pytest.raises(InputValidationError) as refused:
        exchange.replace_stop(stop, previous_client_id=PREVIOUS)
    assert refused.value.field == field and writes(exchange) == []


# -- the paper exchange and the async wrapper -----------------------------------------------------
def paper_with_position(side: str = "LONG") -> tuple[PaperExchange, ExchangeOrder]:
    exchange = PaperExchange(default_instruments(), wallet_balance=10_000.0, clock=lambda: NOW)
    exchange.set_mark("BTCUSDT", 67_445.9)
    entry = Side.BUY if side == "LONG" else Side.SELL
    exchange.place_order(OrderRequest("BTCUSDT", OrderType.MARKET, entry, 0.009, f"{RESERVATION}.entry"))
    (stop, *_) = exchange.place_orders(exit_plan_requests(btc_plan(side), "BTCUSDT", RESERVATION))
    exchange.set_mark("BTCUSDT", 68_400.0 if side == "LONG" else 66_500.0)
    return exchange, stop


@pytest.mark.parametrize("side", ["LONG", "SHORT"])
def test_paper_moves_the_resting_stop_and_it_fires_at_the_new_price(side: str) -> None:
    exchange, previous = paper_with_position(side)
    placed = exchange.replace_stop(moved_stop(side), previous_client_id=previous.client_order_id or "")
    stops = [o for o in exchange.open_orders("BTCUSDT") if o.type == "STOP_MARKET"]
    assert [o.client_order_id for o in stops] == [NEW] and placed.stop_price == 67_445.9
    assert exchange.order_by_client_id("BTCUSDT", PREVIOUS).status == "canceled"  # type: ignore[union-attr]
    exchange.set_mark("BTCUSDT", 67_445.9)
    assert exchange.positions() == []


def test_paper_repeating_a_move_places_no_second_stop() -> None:
    exchange, _ = paper_with_position()
    first = exchange.replace_stop(moved_stop(), previous_client_id=PREVIOUS)
    again = exchange.replace_stop(moved_stop(), previous_client_id=PREVIOUS)
    assert again == first
    assert [o.client_order_id for o in exchange.open_orders("BTCUSDT") if o.type == "STOP_MARKET"] == [NEW]


def test_paper_refuses_to_move_a_stop_that_fired() -> None:
    exchange, _ = paper_with_position()
    exchange.set_mark("BTCUSDT", 66_000.0)  # through the plan's stop: it fires
    with pytest.raises(StopReplaceFailed) as failed:
        exchange.replace_stop(moved_stop(), previous_client_id=PREVIOUS)
    assert failed.value.state == STOP_TRIGGERED and exchange.order_by_client_id("BTCUSDT", NEW) is None


def test_paper_says_the_position_has_no_stop_when_the_new_one_would_fire_at_once() -> None:
    exchange, _ = paper_with_position()
    exchange.set_mark("BTCUSDT", 67_400.0)  # already below the break-even stop
    with pytest.raises(StopReplaceFailed) as failed:
        exchange.replace_stop(moved_stop(), previous_client_id=PREVIOUS)
    assert (failed.value.state, failed.value.code) == (NO_STOP, -2021)
    assert [o for o in exchange.open_orders("BTCUSDT") if o.type == "STOP_MARKET"] == []


def test_the_async_wrapper_moves_the_stop_too() -> None:
    exchange, _ = paper_with_position()
    placed = asyncio.run(AsyncExchange(exchange).replace_stop(moved_stop(), previous_client_id=PREVIOUS))
    assert placed.client_order_id == NEW
