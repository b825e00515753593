"""BinanceUsdm over ccxt's real parsers, fed recorded Binance USD-M responses (no network).

Every socket connection is refused for this whole module (``no_network``); the client's single
``fetch`` entry point serves the recordings in ../shared/data/binance-usdm and records requests.
Write requests are checked parameter by parameter (request capture).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import stat
import traceback
from pathlib import Path
from typing import Any

import pytest

from binance_fixtures import (
    API_KEY,
    API_SECRET,
    HttpError,
    NetworkBlocked,
    Unreachable,
    in_turn,
    no_network,
    offline_client,
    recorded,
    recorded_body,
)
from conftest import buy, make_engine
from ledger_fixtures import rows
from riskguard.config.exits_schema import ExitsSection
from riskguard.exchange import (
    ExchangeUnavailable,
    InstrumentUnknown,
    MarginInsufficient,
    MarginMode,
    MinNotionalNotMet,
    OrderRequest,
    OrderType,
    RateLimited,
    TimestampOutsideRecvWindow,
    exit_plan_requests,
    load_exchange_rules,
)
from riskguard.exchange.binance import BinanceUsdm, make_client
from riskguard.exchange.credentials import (
    ENV_API_KEY,
    ENV_API_SECRET,
    ENV_CREDENTIALS_FILE,
    Credentials,
    credentials_from_file,
    load_credentials,
)
from riskguard.exits import build_exit_plan, compile_exit_rules
from riskguard.ledger import Ledger
from riskguard.ledger import tables as t
from riskguard.model import AccountSnapshot, InputValidationError, PositionSide, Side
from riskguard.monitor.reconcile import reconcile

pytestmark = pytest.mark.usefixtures("no_network")
__all__ = ["no_network"]  # the module-wide socket block is a fixture of binance_fixtures

SIGNED = {"timestamp", "recvWindow", "signature"}
CANCEL_DONE = {"code": 200, "msg": "The operation of cancel all open order is done."}


def order_answer(**fields: Any) -> dict[str, Any]:
    """Binance's answer to a new order: the recorded batchOrders order object with ``fields`` changed."""
    body: dict[str, Any] = dict(recorded_body("batchOrders_post.json")[0])
    body.update(fields)
    return body


def algo_answer(request: Any) -> dict[str, Any]:
    """Binance's documented answer to POST /fapi/v1/algoOrder (no recording holds one), echoing the request."""
    p = request.params
    return {"algoId": 2146760, "clientAlgoId": p["clientAlgoId"], "algoType": "CONDITIONAL", "orderType": p["type"],
            "symbol": p["symbol"], "side": p["side"], "positionSide": "BOTH", "timeInForce": "GTC",
            "quantity": p.get("quantity", "0"), "algoStatus": "NEW", "triggerPrice": p.get("triggerPrice", "0"),
            "price": "0", "workingType": p.get("workingType", "CONTRACT_PRICE"),
            "closePosition": p.get("closePosition") == "true", "reduceOnly": p.get("reduceOnly") == "true",
            "createTime": 1750485492076, "updateTime": 1750485492076}


def adapter(routes: dict[tuple[str, str], Any] | None = None, **kwargs: Any) -> BinanceUsdm:
    sleeps: list[float] = []
    exchange = BinanceUsdm(offline_client(routes), sleep=sleeps.append, clock=lambda: 1_733_450_000_000, **kwargs)
    exchange.sleeps = sleeps  # type: ignore[attr-defined]
    return exchange


def writes(exchange: BinanceUsdm) -> list[tuple[str, str, dict[str, str]]]:
    """(method, path, params without timestamp / recvWindow / signature) of every write request."""
    return [(r.method, r.path, {k: v for k, v in r.params.items() if k not in SIGNED})
            for r in exchange.client.fetch.writes()]


# -- the offline guarantee ------------------------------------------------------------------------
def test_a_connection_attempt_fails_in_this_module(no_network: list[tuple[Any, ...]]) -> None:
    with pytest.raises(NetworkBlocked):
        socket.create_connection(("127.0.0.1", 9))
    assert no_network


def test_an_adapter_without_the_recorded_fetch_cannot_reach_binance(no_network: list[tuple[Any, ...]]) -> None:
    before = len(no_network)
    exchange = BinanceUsdm(make_client(None), retries=0)
    with pytest.raises(ExchangeUnavailable):
        exchange.instruments()
    assert len(no_network) > before


# -- instrument rules -----------------------------------------------------------------------------
def test_instrument_rules_come_from_exchange_info_filters_and_leverage_brackets() -> None:
    rules = adapter().instruments()
    info = {s["symbol"]: s for s in recorded("exchangeInfo.json")["symbols"]}
    brackets = {b["symbol"]: b["brackets"] for b in recorded("leverageBracket.json")}
    assert sorted(rules) == sorted(info)
    for symbol, rule in rules.items():
        filters = {f["filterType"]: f for f in info[symbol]["filters"]}
        assert rule.tick_size == float(filters["PRICE_FILTER"]["tickSize"])
        assert rule.step_size == float(filters["LOT_SIZE"]["stepSize"])
        assert rule.min_qty == float(filters["LOT_SIZE"]["minQty"])
        assert rule.max_qty == float(filters["LOT_SIZE"]["maxQty"])
        assert rule.market_max_qty == float(filters["MARKET_LOT_SIZE"]["maxQty"])
        assert rule.min_notional == float(filters["MIN_NOTIONAL"]["notional"])
        assert (rule.percent_price_up, rule.percent_price_down) == (
            float(filters["PERCENT_PRICE"]["multiplierUp"]), float(filters["PERCENT_PRICE"]["multiplierDown"]))
        assert [(b.notional_cap, b.max_leverage, b.maintenance_margin_rate, b.maintenance_amount)
                for b in rule.brackets] == [(b["notionalCap"], b["initialLeverage"], b["maintMarginRatio"], b["cum"])
                                            for b in brackets[symbol]]


def test_btc_rules_as_binance_lists_them() -> None:
    btc = adapter().instruments()["BTCUSDT"]
    assert (btc.tick_size, btc.step_size, btc.max_qty, btc.market_max_qty, btc.min_notional) == (
        0.1, 0.001, 1000.0, 120.0, 5.0)
    assert btc.max_leverage == 150.0
    assert btc.brackets[0].notional_cap == 300_000.0


# -- account, positions, orders -------------------------------------------------------------------
def test_account_uses_margin_balance_as_nav() -> None:
    exchange = adapter({("GET", "/fapi/v3/account"): recorded_body("account_v3_balance.json")})
    account = exchange.account()
    assert (account.nav, account.wallet_balance, account.available_balance, account.unrealized_pnl) == (
        31.022612, 31.022612, 31.022612, 0.0)
    assert account.exchange_ts_ms == 1_701_270_042_059
    assert account.snapshot().nav == 31.022612


def test_account_with_an_open_position_reports_unrealised_pnl() -> None:
    exchange = adapter({("GET", "/fapi/v3/account"): recorded_body("account_v3_positions.json")})
    account = exchange.account()
    assert account.nav == 26.26840422 and account.wallet_balance == 25.7261006
    assert account.unrealized_pnl == 0.54230362 and account.available_balance == 18.65949928


def test_positions_carry_binance_liquidation_price_and_margins() -> None:
    exchange = adapter({("GET", "/fapi/v3/positionRisk"): recorded_body("positionRisk_v3.json")})
    (position,) = exchange.positions()
    assert (position.symbol, position.side, position.qty, position.entry_price) == (
        "BTCUSDT", PositionSide.LONG, 0.009, 67445.9)
    assert position.mark_price == 67502.68519858
    assert position.liquidation_price == 64846.9875379
    assert (position.margin, position.maintenance_margin) == (7.59405208, 2.43009666)
    assert position.unrealized_pnl == 0.51106678
    assert position.margin_mode is MarginMode.CROSS
    assert position.leverage == 80.0  # notional / position initial margin: v3 no longer reports leverage


def test_open_orders_include_regular_and_conditional_ones() -> None:
    stop = {"algoId": 77, "clientAlgoId": "res-a.sl", "algoType": "CONDITIONAL", "orderType": "STOP_MARKET",
            "symbol": "LTCUSDT", "side": "SELL", "quantity": "0", "algoStatus": "NEW", "triggerPrice": "45.00",
            "closePosition": True, "reduceOnly": False, "createTime": 1707907323983, "updateTime": 1707907323983}
    exchange = adapter({("GET", "/fapi/v1/openOrders"): [recorded_body("openOrder.json")],
                        ("GET", "/fapi/v1/openAlgoOrders"): [stop]})
    regular, conditional = exchange.open_orders()
    assert (regular.order_id, regular.symbol, regular.type, regular.side, regular.qty, regular.price) == (
        "664082074", "LTCUSDT", "LIMIT", Side.BUY, 0.2, 50.0)
    assert regular.client_order_id == "x-xcKtGhcu68f8383451844295b3e8b9" and not regular.conditional
    assert conditional.conditional and conditional.type == "STOP_MARKET" and conditional.close_position
    assert conditional.client_order_id == "res-a.sl" and conditional.stop_price == 45.0


def test_mark_price_and_funding_rate() -> None:
    premium = {"symbol": "BTCUSDT", "markPrice": "67502.68519858", "indexPrice": "67480.1", "lastFundingRate": "0.0001",
               "interestRate": "0.0001", "nextFundingTime": 1722182400000, "time": 1722161166529}
    mark = adapter({("GET", "/fapi/v1/premiumIndex"): premium}).mark_price("BTCUSDT")
    assert (mark.mark_price, mark.funding_rate, mark.next_funding_ms) == (67502.68519858, 0.0001, 1722182400000)


# -- request capture ------------------------------------------------------------------------------
def test_cancel_all_sends_the_regular_and_the_conditional_cancel_for_the_symbol() -> None:
    exchange = adapter({("GET", "/fapi/v1/openOrders"): [], ("GET", "/fapi/v1/openAlgoOrders"): [],
                        ("DELETE", "/fapi/v1/allOpenOrders"): CANCEL_DONE,
                        ("DELETE", "/fapi/v1/algoOpenOrders"): CANCEL_DONE})
    exchange.cancel_all("BTCUSDT")
    assert writes(exchange) == [("DELETE", "/fapi/v1/allOpenOrders", {"symbol": "BTCUSDT"}),
                                ("DELETE", "/fapi/v1/algoOpenOrders", {"symbol": "BTCUSDT"})]


def test_close_all_sends_one_reduce_only_market_order_per_position() -> None:
    exchange = adapter({("GET", "/fapi/v3/positionRisk"): recorded_body("positionRisk_v3.json"),
                        ("POST", "/fapi/v1/order"): order_answer(type="MARKET", reduceOnly=True,
                                                                 clientOrderId="kill-1-BTCUSDT.close")})
    (closed,) = exchange.close_all("kill-1")
    assert writes(exchange) == [("POST", "/fapi/v1/order", {
        "symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.009", "reduceOnly": "true",
        "newClientOrderId": "kill-1-BTCUSDT.close", "newOrderRespType": "RESULT"})]
    assert closed.client_order_id == "kill-1-BTCUSDT.close"


def test_exit_plan_legs_become_algo_orders_with_the_reservation_client_ids() -> None:
    exchange = adapter({("POST", "/fapi/v1/algoOrder"): algo_answer})
    btc = exchange.instruments()["BTCUSDT"]
    plan = build_exit_plan(compile_exit_rules(ExitsSection()), btc, "LONG", 67445.9, 0.009, 600.0)
    placed = exchange.place_orders(exit_plan_requests(plan, "BTCUSDT", "res-3f2a9c1b7e44-0000002a"))
    common = {"symbol": "BTCUSDT", "side": "SELL", "workingType": "MARK_PRICE", "algoType": "CONDITIONAL",
              "newOrderRespType": "RESULT"}
    stop = {**common, "type": "STOP_MARKET", "triggerPrice": "66545.9", "closePosition": "true",
            "clientAlgoId": "res-3f2a9c1b7e44-0000002a.sl"}
    targets = [{**common, "type": "TAKE_PROFIT_MARKET", "quantity": "0.003", "triggerPrice": price,
                "reduceOnly": "true", "clientAlgoId": f"res-3f2a9c1b7e44-0000002a.tp{n}"}
               for n, price in enumerate(("68345.9", "69245.9", "70145.9"), start=1)]
    assert writes(exchange) == [("POST", "/fapi/v1/algoOrder", p) for p in [stop, *targets]]
    assert [o.client_order_id for o in placed] == [stop["clientAlgoId"], *(t["clientAlgoId"] for t in targets)]
    assert placed[0].close_position and all(o.reduce_only for o in placed[1:])


def test_the_client_order_id_is_sent_as_given_without_a_ccxt_broker_prefix() -> None:
    exchange = adapter({("POST", "/fapi/v1/order"): order_answer(clientOrderId="res-x.entry")})
    exchange.place_order(OrderRequest("BTCUSDT", OrderType.LIMIT, Side.SELL, 0.2, "res-x.entry", price=110001.0))
    ((_, _, params),) = writes(exchange)
    assert params["newClientOrderId"] == "res-x.entry"
    assert (params["type"], params["price"], params["quantity"], params["timeInForce"]) == (
        "LIMIT", "110001", "0.2", "GTC")


def test_set_leverage_and_margin_mode_requests() -> None:
    exchange = adapter({("POST", "/fapi/v1/leverage"): {"leverage": 10, "maxNotionalValue": "1000000",
                                                        "symbol": "BTCUSDT"},
                        ("POST", "/fapi/v1/marginType"): {"code": 200, "msg": "success"}})
    exchange.set_leverage("BTCUSDT", 10)
    exchange.set_margin_mode("BTCUSDT", MarginMode.ISOLATED)
    assert writes(exchange) == [("POST", "/fapi/v1/leverage", {"symbol": "BTCUSDT", "leverage": "10"}),
                                ("POST", "/fapi/v1/marginType", {"symbol": "BTCUSDT", "marginType": "ISOLATED"})]


def test_testnet_switch_routes_to_binance_demo_trading_hosts() -> None:
    client = offline_client({("GET", "/fapi/v3/account"): recorded_body("account_v3_balance.json")}, testnet=True)
    BinanceUsdm(client).account()
    assert {r.host for r in client.fetch.requests} == {"demo-fapi.binance.com"}


# -- never re-sent blind --------------------------------------------------------------------------
def test_a_lost_order_answer_is_looked_up_by_client_id_and_not_sent_again() -> None:
    exchange = adapter({("POST", "/fapi/v1/order"): Unreachable("connection reset"),
                        ("GET", "/fapi/v1/order"): order_answer(clientOrderId="res-x.entry")})
    found = exchange.place_order(OrderRequest("BTCUSDT", OrderType.LIMIT, Side.SELL, 0.2, "res-x.entry",
                                              price=110001.0))
    assert found.client_order_id == "res-x.entry"
    posts = [r for r in exchange.client.fetch.requests if r.method == "POST"]
    assert len(posts) == 1
    lookup = [r for r in exchange.client.fetch.requests if r.path == "/fapi/v1/order" and r.method == "GET"]
    assert lookup[0].params["origClientOrderId"] == "res-x.entry"


def test_an_order_the_exchange_does_not_have_is_sent_again_after_the_lookup() -> None:
    missing = HttpError(400, {"code": -2013, "msg": "Order does not exist."})
    exchange = adapter({("POST", "/fapi/v1/order"): in_turn(Unreachable("timeout"), order_answer(clientOrderId="r.e")),
                        ("GET", "/fapi/v1/order"): missing, ("GET", "/fapi/v1/algoOrder"): missing})
    exchange.place_order(OrderRequest("BTCUSDT", OrderType.LIMIT, Side.SELL, 0.2, "r.e", price=110001.0))
    sequence = [(r.method, r.path) for r in exchange.client.fetch.requests if "order" in r.path.lower()]
    assert sequence == [("POST", "/fapi/v1/order"), ("GET", "/fapi/v1/order"), ("GET", "/fapi/v1/algoOrder"),
                        ("POST", "/fapi/v1/order")]


# -- errors ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("code", "message", "error"), [
    (-2019, "Margin is insufficient.", MarginInsufficient),
    (-4164, "Order's notional must be no smaller than 5 (unless you choose reduce only).", MinNotionalNotMet),
])
def test_binance_order_refusals_keep_code_and_message(code: int, message: str, error: type[Exception]) -> None:
    exchange = adapter({("POST", "/fapi/v1/order"): HttpError(400, {"code": code, "msg": message})})
    with pytest.raises(error) as caught:
        exchange.place_order(OrderRequest("BTCUSDT", OrderType.MARKET, Side.BUY, 0.001, "r.e"))
    assert caught.value.code == code and caught.value.exchange_message == message  # type: ignore[attr-defined]
    assert len(exchange.client.fetch.writes()) == 1  # a refusal is final: nothing is re-sent


def test_reads_retry_with_exponential_backoff() -> None:
    exchange = adapter({("GET", "/fapi/v3/account"): in_turn(
        Unreachable("reset"), HttpError(503, {"code": -1001, "msg": "Internal error"}),
        recorded_body("account_v3_balance.json"))})
    assert exchange.account().nav == 31.022612
    assert exchange.sleeps == [0.5, 1.0]  # type: ignore[attr-defined]


def test_rate_limit_waits_the_retry_after_header() -> None:
    throttled = HttpError(429, {"code": -1003, "msg": "Too many requests."}, {"Retry-After": "7"})
    exchange = adapter({("GET", "/fapi/v3/account"): in_turn(throttled, recorded_body("account_v3_balance.json"))})
    exchange.account()
    assert exchange.sleeps == [7.0]  # type: ignore[attr-defined]


def test_rate_limit_error_keeps_code_and_retry_after_when_retries_run_out() -> None:
    banned = HttpError(418, {"code": -1003, "msg": "Way too many requests; IP banned."}, {"Retry-After": "120"})
    exchange = adapter({("GET", "/fapi/v3/account"): banned}, retries=0)
    with pytest.raises(RateLimited) as caught:
        exchange.account()
    assert caught.value.retry_after_s == 120.0 and caught.value.code == -1003


def test_timestamp_outside_recv_window_is_named() -> None:
    skew = HttpError(400, {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."})
    exchange = adapter({("GET", "/fapi/v3/account"): skew}, retries=0)
    with pytest.raises(TimestampOutsideRecvWindow, match="-1021"):
        exchange.account()


# -- secrets --------------------------------------------------------------------------------------
def test_keys_and_signatures_never_appear_in_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    def echo_secrets(request: Any) -> Exception:
        return Unreachable(f"failed {request.url} key={request.headers.get('X-MBX-APIKEY')} secret {API_SECRET}")

    exchange = adapter({("GET", "/fapi/v3/account"): echo_secrets, ("POST", "/fapi/v1/order"): echo_secrets,
                        ("GET", "/fapi/v1/order"): echo_secrets, ("GET", "/fapi/v1/algoOrder"): echo_secrets},
                       retries=1)
    texts = []
    for call in (exchange.account, lambda: exchange.place_order(
            OrderRequest("BTCUSDT", OrderType.MARKET, Side.BUY, 0.001, "r.e"))):
        with pytest.raises(ExchangeUnavailable) as caught:
            call()
        texts += [str(caught.value), repr(caught.value), "".join(traceback.format_exception(caught.value))]
    signatures = {r.params["signature"] for r in exchange.client.fetch.requests if "signature" in r.params}
    assert signatures and caplog.records
    texts += [r.getMessage() for r in caplog.records]
    for text in texts:
        for secret in (API_KEY, API_SECRET, *signatures):
            assert secret not in text


def test_credentials_repr_hides_the_key() -> None:
    assert API_KEY not in repr(Credentials(API_KEY, API_SECRET))


def test_credentials_from_the_environment() -> None:
    loaded = load_credentials({ENV_API_KEY: "k" * 12, ENV_API_SECRET: "s" * 12})
    assert loaded is not None and loaded.api_key == "k" * 12
    assert load_credentials({}) is None


def test_half_a_credential_pair_is_refused_by_name() -> None:
    with pytest.raises(InputValidationError, match=ENV_API_SECRET):
        load_credentials({ENV_API_KEY: "k" * 12})


def test_credentials_file_must_be_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "binance.env"
    path.write_text("api_key=abcdefgh1234\napi_secret=ijklmnop5678\n")
    os.chmod(path, 0o644)
    with pytest.raises(InputValidationError, match="owner only"):
        credentials_from_file(path)
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    loaded = load_credentials({ENV_CREDENTIALS_FILE: str(path)})
    assert loaded is not None and loaded.api_secret == "ijklmnop5678"


# -- rules into the engine ------------------------------------------------------------------------
def test_the_engine_uses_the_exchange_rules_once_loaded() -> None:
    engine = make_engine()
    small = buy("BTCUSDT", notional=60.0, leverage=1.0)
    assert "below_min_notional" in engine.check_order(small)[1]["reasons"]  # shipped snapshot: 100 USDT
    loaded = load_exchange_rules(adapter(), engine, ["BTCUSDT", "ETHUSDT"])
    assert engine.instruments["BTCUSDT"] == loaded["BTCUSDT"] and loaded["BTCUSDT"].min_notional == 5.0
    assert "below_min_notional" not in engine.check_order(small)[1]["reasons"]


def test_loading_rules_for_a_symbol_the_exchange_does_not_list_changes_nothing() -> None:
    engine = make_engine()
    before = dict(engine.instruments)
    with pytest.raises(InstrumentUnknown, match="SOLUSDT"):
        load_exchange_rules(adapter(), engine, ["BTCUSDT", "SOLUSDT"])
    assert engine.instruments == before


# -- reconciliation against recorded Binance answers ----------------------------------------------
def test_reconcile_with_binance_recordings_reports_and_stores_no_secret(tmp_path: Path) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    ledger.upgrade()
    ledger.ensure_account("live", now_ms=1_722_161_166_529)
    ledger.mark_nav(AccountSnapshot(nav=26.26840422, ts_ms=1_722_161_166_529), actor="test")
    exchange = adapter({("GET", "/fapi/v3/account"): recorded_body("account_v3_positions.json"),
                        ("GET", "/fapi/v3/positionRisk"): recorded_body("positionRisk_v3.json"),
                        ("GET", "/fapi/v1/openOrders"): [recorded_body("openOrder.json")],
                        ("GET", "/fapi/v1/openAlgoOrders"): []})
    report = reconcile(ledger, exchange, apply=True, actor="test-reconcile", now_ms=1_722_161_166_529)
    assert [(d.kind.value, d.symbol) for d in report.drifts] == [
        ("position_unknown_to_ledger", "BTCUSDT"), ("order_without_reservation", "LTCUSDT")]
    (position,) = ledger.positions()
    assert (position.qty, position.entry_price) == (0.009, 67445.9)
    stored = json.dumps([[list(map(str, row)) for row in rows(ledger, table)] for table in t.metadata.sorted_tables])
    signatures = {r.params["signature"] for r in exchange.client.fetch.requests if "signature" in r.params}
    assert signatures
    for secret in (API_KEY, API_SECRET, *signatures):
        assert secret not in stored
