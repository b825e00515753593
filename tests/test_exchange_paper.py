"""PaperExchange: deterministic fills with fees and slippage, positions, balances, open and
conditional orders, cancel-all, close-all, and Binance's refusals with Binance's error codes."""

from __future__ import annotations

import asyncio
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskguard.config.exits_schema import ExitsSection
from riskguard.engine.instruments import default_instruments
from riskguard.exchange import (
    AsyncExchange,
    DuplicateClientOrderId,
    Exchange,
    InstrumentUnknown,
    InvalidOrder,
    MarginInsufficient,
    MarginMode,
    MinNotionalNotMet,
    OrderRequest,
    OrderType,
    PaperExchange,
    ReduceOnlyRejected,
    client_order_id,
    exit_plan_requests,
    reservation_for,
)
from riskguard.exits import build_exit_plan, compile_exit_rules
from riskguard.math.margin import bracket_for, liquidation_price, maintenance_margin
from riskguard.model import InputValidationError, PositionSide, Side

NOW = 1_733_450_000_000
BTC = default_instruments()["BTCUSDT"]


def paper(wallet: float = 10_000.0, **kwargs: object) -> PaperExchange:
    exchange = PaperExchange(default_instruments(), wallet_balance=wallet, clock=lambda: NOW, **kwargs)  # type: ignore[arg-type]
    exchange.set_mark("BTCUSDT", 60_000.0)
    exchange.set_mark("ETHUSDT", 3_000.0)
    return exchange


def market(side: str, qty: float, cid: str, symbol: str = "BTCUSDT", **kwargs: object) -> OrderRequest:
    return OrderRequest(symbol=symbol, type=OrderType.MARKET, side=Side(side), qty=qty, client_order_id=cid,
                        **kwargs)  # type: ignore[arg-type]


def test_paper_exchange_satisfies_the_exchange_protocol() -> None:
    assert isinstance(paper(), Exchange)


def test_market_buy_fills_at_mark_plus_slippage_rounded_up_to_the_tick_and_pays_the_taker_fee() -> None:
    exchange = paper(slippage_bps=1.0, taker_fee=0.0005)
    order = exchange.place_order(market("BUY", 0.01, "a.entry"))
    assert order.status == "closed" and order.filled_qty == 0.01
    assert order.avg_price == 60_006.0  # 60,000 x 1.0001, on the 0.1 tick
    fill = exchange.fills[-1]
    assert fill.fee == pytest.approx(0.01 * 60_006.0 * 0.0005)
    assert exchange.account().wallet_balance == pytest.approx(10_000.0 - fill.fee)


def test_market_sell_slips_down() -> None:
    order = paper(slippage_bps=2.0).place_order(market("SELL", 0.01, "a.entry"))
    assert order.avg_price == pytest.approx(59_988.0)


def test_same_inputs_give_the_same_fills() -> None:
    def run() -> list[object]:
        exchange = paper(slippage_bps=3.0)
        exchange.place_order(market("BUY", 0.02, "a.entry"))
        exchange.set_mark("BTCUSDT", 61_234.5)
        exchange.place_order(market("SELL", 0.01, "b.entry"))
        return [exchange.fills, exchange.account(), exchange.positions()]

    assert run() == run()


def test_position_and_account_follow_the_mark() -> None:
    exchange = paper(taker_fee=0.0)
    exchange.place_order(market("BUY", 0.1, "a.entry"))
    exchange.set_mark("BTCUSDT", 61_000.0)
    (position,) = exchange.positions()
    assert (position.side, position.qty, position.entry_price) == (PositionSide.LONG, 0.1, 60_000.0)
    assert position.unrealized_pnl == pytest.approx(100.0)
    account = exchange.account()
    assert account.nav == pytest.approx(10_100.0)
    assert account.unrealized_pnl == pytest.approx(100.0)
    assert account.available_balance == pytest.approx(10_100.0 - 0.1 * 61_000.0 / 20)
    assert account.ts_ms == NOW


def test_reducing_realises_pnl_into_the_wallet() -> None:
    exchange = paper(taker_fee=0.0)
    exchange.place_order(market("BUY", 0.1, "a.entry"))
    exchange.set_mark("BTCUSDT", 62_000.0)
    exchange.place_order(market("SELL", 0.04, "b.exit", reduce_only=True))
    assert exchange.fills[-1].realized_pnl == pytest.approx(80.0)
    assert exchange.account().wallet_balance == pytest.approx(10_080.0)
    assert exchange.positions()[0].qty == pytest.approx(0.06)


def test_an_opposite_order_larger_than_the_position_flips_it() -> None:
    exchange = paper(taker_fee=0.0)
    exchange.place_order(market("BUY", 0.01, "a.entry"))
    exchange.place_order(market("SELL", 0.03, "b.entry"))
    (position,) = exchange.positions()
    assert position.side is PositionSide.SHORT and position.qty == pytest.approx(0.02)


def test_adding_averages_the_entry() -> None:
    exchange = paper(taker_fee=0.0)
    exchange.place_order(market("BUY", 0.01, "a.entry"))
    exchange.set_mark("BTCUSDT", 62_000.0)
    exchange.place_order(market("BUY", 0.01, "b.entry"))
    assert exchange.positions()[0].entry_price == pytest.approx(61_000.0)


def test_liquidation_price_and_maintenance_margin_come_from_riskguard_math() -> None:
    exchange = paper(wallet=1_000.0, taker_fee=0.0)
    exchange.set_leverage("BTCUSDT", 50)
    exchange.place_order(market("BUY", 0.5, "a.entry"))
    (position,) = exchange.positions()
    bracket = bracket_for(30_000.0, BTC.brackets)
    assert position.maintenance_margin == maintenance_margin(30_000.0, bracket.maintenance_margin_rate,
                                                             bracket.maintenance_amount)
    assert position.liquidation_price == liquidation_price(PositionSide.LONG, 0.5, 60_000.0, 1_000.0,
                                                           bracket.maintenance_margin_rate, bracket.maintenance_amount)


def test_isolated_position_is_liquidated_on_its_own_margin() -> None:
    exchange = paper(wallet=100_000.0, taker_fee=0.0)
    exchange.set_margin_mode("BTCUSDT", MarginMode.ISOLATED)
    exchange.set_leverage("BTCUSDT", 10)
    exchange.place_order(market("SELL", 0.1, "a.entry"))
    (position,) = exchange.positions()
    assert position.margin_mode is MarginMode.ISOLATED and position.margin == pytest.approx(600.0)
    bracket = bracket_for(6_000.0, BTC.brackets)
    assert position.liquidation_price == pytest.approx(liquidation_price(
        PositionSide.SHORT, 0.1, 60_000.0, 600.0, bracket.maintenance_margin_rate, bracket.maintenance_amount))
    assert 60_000.0 < position.liquidation_price < 66_000.0


def test_limit_order_rests_until_the_mark_crosses_it_and_pays_the_maker_fee() -> None:
    exchange = paper(maker_fee=0.0002)
    order = exchange.place_order(OrderRequest("BTCUSDT", OrderType.LIMIT, Side.BUY, 0.01, "a.entry", price=59_500.0))
    assert order.is_open and exchange.open_orders("BTCUSDT") == [order]
    assert exchange.set_mark("BTCUSDT", 59_800.0) == []
    (filled,) = exchange.set_mark("BTCUSDT", 59_400.0)
    assert filled.avg_price == 59_500.0 and filled.status == "closed"
    assert exchange.fills[-1].fee == pytest.approx(0.01 * 59_500.0 * 0.0002)


def test_exit_plan_legs_rest_as_conditional_orders_with_client_ids_of_the_reservation() -> None:
    exchange = paper(taker_fee=0.0)
    exchange.place_order(market("BUY", 0.03, client_order_id("res-abc-1", "entry")))
    plan = build_exit_plan(compile_exit_rules(ExitsSection()), BTC, "LONG", 60_000.0, 0.03, 600.0)
    placed = exchange.place_orders(exit_plan_requests(plan, "BTCUSDT", "res-abc-1"))
    assert [o.client_order_id for o in placed][:2] == ["res-abc-1.sl", "res-abc-1.tp1"]
    assert all(o.conditional and o.is_open for o in placed)
    assert {reservation_for(o.client_order_id, ["res-other", "res-abc-1"]) for o in placed} == {"res-abc-1"}


def test_stop_market_triggers_on_the_mark_and_closes_the_whole_position() -> None:
    exchange = paper(taker_fee=0.0)
    exchange.place_order(market("BUY", 0.03, "a.entry"))
    exchange.place_order(OrderRequest("BTCUSDT", OrderType.STOP_MARKET, Side.SELL, None, "a.sl",
                                      stop_price=59_000.0, close_position=True))
    assert exchange.set_mark("BTCUSDT", 59_100.0) == []
    (stop,) = exchange.set_mark("BTCUSDT", 58_900.0)
    assert stop.filled_qty == pytest.approx(0.03)
    assert exchange.positions() == []


def test_take_profit_is_reduce_only_and_never_opens_a_position() -> None:
    exchange = paper(taker_fee=0.0)
    exchange.place_order(OrderRequest("BTCUSDT", OrderType.TAKE_PROFIT_MARKET, Side.SELL, 0.01, "a.tp1",
                                      stop_price=61_000.0, reduce_only=True))
    (expired,) = exchange.set_mark("BTCUSDT", 61_500.0)
    assert expired.status == "expired" and exchange.positions() == []


def test_trailing_stop_fires_after_the_callback_from_the_high() -> None:
    exchange = paper(taker_fee=0.0)
    exchange.place_order(market("BUY", 0.01, "a.entry"))
    exchange.place_order(OrderRequest("BTCUSDT", OrderType.TRAILING_STOP_MARKET, Side.SELL, 0.01, "a.trail",
                                      reduce_only=True, callback_rate_pct=1.0, activation_price=61_000.0))
    assert exchange.set_mark("BTCUSDT", 62_000.0) == []
    assert exchange.set_mark("BTCUSDT", 61_400.0) == []
    (fired,) = exchange.set_mark("BTCUSDT", 61_380.0)  # 1 % under the 62,000 high
    assert fired.avg_price == 61_380.0


def test_a_stop_that_would_trigger_at_once_is_refused_like_binance() -> None:
    exchange = paper()
    with pytest.raises(InvalidOrder) as caught:
        exchange.place_order(OrderRequest("BTCUSDT", OrderType.STOP_MARKET, Side.SELL, 0.01, "a.sl",
                                          stop_price=61_000.0, reduce_only=True))
    assert caught.value.code == -2021


def test_cancel_all_reports_regular_and_conditional_orders_apart() -> None:
    exchange = paper()
    exchange.place_order(OrderRequest("BTCUSDT", OrderType.LIMIT, Side.BUY, 0.01, "a.entry", price=59_000.0))
    exchange.place_order(OrderRequest("BTCUSDT", OrderType.STOP_MARKET, Side.SELL, None, "a.sl",
                                      stop_price=58_000.0, close_position=True))
    exchange.place_order(OrderRequest("ETHUSDT", OrderType.LIMIT, Side.BUY, 0.1, "b.entry", price=2_900.0))
    result = exchange.cancel_all("BTCUSDT")
    assert (result.regular, result.conditional) == (("1",), ("2",))
    assert [o.symbol for o in exchange.open_orders()] == ["ETHUSDT"]


def test_close_all_sends_one_reduce_only_market_order_per_position() -> None:
    exchange = paper()
    exchange.place_order(market("BUY", 0.01, "a.entry"))
    exchange.place_order(market("SELL", 0.5, "b.entry", symbol="ETHUSDT"))
    closed = exchange.close_all("kill-1")
    assert [(o.symbol, o.side, o.reduce_only, o.client_order_id) for o in closed] == [
        ("BTCUSDT", Side.SELL, True, "kill-1-BTCUSDT.close"), ("ETHUSDT", Side.BUY, True, "kill-1-ETHUSDT.close")]
    assert exchange.positions() == []


def test_funding_is_paid_by_longs_when_the_rate_is_positive() -> None:
    exchange = paper(taker_fee=0.0)
    exchange.place_order(market("BUY", 0.1, "a.entry"))
    exchange.set_mark("BTCUSDT", 60_000.0, funding_rate=0.0001)
    assert exchange.apply_funding("BTCUSDT") == pytest.approx(-0.6)
    assert exchange.account().wallet_balance == pytest.approx(9_999.4)
    assert exchange.mark_price("BTCUSDT").funding_rate == 0.0001


def test_order_lookup_by_client_id_finds_filled_orders_too() -> None:
    exchange = paper()
    placed = exchange.place_order(market("BUY", 0.01, "a.entry"))
    assert exchange.order_by_client_id("BTCUSDT", "a.entry") == placed
    assert exchange.order_by_client_id("BTCUSDT", "missing.entry") is None


@pytest.mark.parametrize(("request_", "error", "code"), [
    (market("BUY", 0.001, "x.1"), MinNotionalNotMet, -4164),
    (market("BUY", 0.0015, "x.2"), InvalidOrder, -1111),
    (market("BUY", 1.0, "x.3"), MarginInsufficient, -2019),
    (market("SELL", 0.01, "x.4", reduce_only=True), ReduceOnlyRejected, -2022),
    (market("BUY", 0.01, "x.5", symbol="NOPEUSDT"), InstrumentUnknown, -1121),
    (OrderRequest("BTCUSDT", OrderType.LIMIT, Side.BUY, 0.01, "x.6", price=70_000.0), InvalidOrder, -4016),
    (OrderRequest("BTCUSDT", OrderType.LIMIT, Side.BUY, 0.01, "x.7", price=50_000.0), InvalidOrder, -4024),
])
def test_refusals_carry_binance_error_codes(request_: OrderRequest, error: type[Exception], code: int) -> None:
    exchange = paper(wallet=1_000.0)
    with pytest.raises(error) as caught:
        exchange.place_order(request_)
    assert caught.value.code == code  # type: ignore[attr-defined]
    assert str(code) in str(caught.value)


def test_a_reused_client_order_id_is_refused() -> None:
    exchange = paper()
    exchange.place_order(market("BUY", 0.01, "a.entry"))
    with pytest.raises(DuplicateClientOrderId):
        exchange.place_order(market("BUY", 0.01, "a.entry"))


def test_a_reduce_only_order_below_min_notional_still_passes() -> None:
    exchange = paper()
    exchange.place_order(market("BUY", 0.002, "a.entry"))
    assert exchange.place_order(market("SELL", 0.001, "a.exit", reduce_only=True)).status == "closed"


def test_leverage_above_the_bracket_ceiling_is_refused() -> None:
    with pytest.raises(InvalidOrder) as caught:
        paper().set_leverage("BTCUSDT", 500)
    assert caught.value.code == -4028


def test_margin_mode_cannot_change_with_an_open_position() -> None:
    exchange = paper()
    exchange.place_order(market("BUY", 0.01, "a.entry"))
    with pytest.raises(Exception, match="-4048"):
        exchange.set_margin_mode("BTCUSDT", MarginMode.ISOLATED)


def test_order_request_refuses_reduce_only_with_close_position() -> None:
    with pytest.raises(InputValidationError, match="reduce_only"):
        OrderRequest("BTCUSDT", OrderType.STOP_MARKET, Side.SELL, None, "a.sl", stop_price=1.0,
                     reduce_only=True, close_position=True)


def test_client_order_ids_fit_binance_and_long_reservation_ids_are_digested() -> None:
    short = client_order_id("res-3f2a9c1b7e44-0000002a", "tp12")
    assert short == "res-3f2a9c1b7e44-0000002a.tp12"
    long_id = "res-" + "x" * 60
    derived = client_order_id(long_id, "trail")
    assert len(derived) <= 36 and derived == client_order_id(long_id, "trail")
    assert reservation_for(derived, ["res-a", long_id]) == long_id
    assert reservation_for("x-cvBPrNm9abcdef", ["res-a"]) is None


def test_async_exchange_runs_the_same_calls_without_blocking_the_loop() -> None:
    exchange = paper(taker_fee=0.0)

    async def session() -> tuple[object, ...]:
        wrapped = AsyncExchange(exchange)
        placed, account = await asyncio.gather(wrapped.place_order(market("BUY", 0.01, "a.entry")), wrapped.account())
        closed = await wrapped.close_all("kill-2")
        return placed, account, closed, await wrapped.positions()

    placed, _, closed, positions = asyncio.run(session())
    assert placed.status == "closed" and [o.client_order_id for o in closed] == ["kill-2-BTCUSDT.close"]  # type: ignore[attr-defined]
    assert positions == []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["BUY", "SELL"]), st.integers(2, 40), st.integers(55_000, 65_000)),
                min_size=1, max_size=12))
def test_wallet_is_initial_plus_realised_pnl_minus_fees_and_position_is_the_sum_of_fills(
        trades: list[tuple[str, int, int]]) -> None:
    exchange = paper(wallet=1_000_000.0, slippage_bps=2.0)
    for n, (side, steps, mark) in enumerate(trades):
        exchange.set_mark("BTCUSDT", float(mark))
        exchange.place_order(market(side, steps * 0.001, f"p.{n}"))
    fills = exchange.fills
    expected_wallet = 1_000_000.0 + sum(f.realized_pnl - f.fee for f in fills)
    assert exchange.account().wallet_balance == pytest.approx(expected_wallet, rel=1e-12)
    signed = sum(f.qty if f.side is Side.BUY else -f.qty for f in fills)
    held = sum(p.qty if p.side is PositionSide.LONG else -p.qty for p in exchange.positions())
    assert held == pytest.approx(signed, abs=1e-9)


@given(st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=80),
       st.sampled_from(["entry", "sl", "tp1", "tp12", "trail", "close"]))
def test_any_reservation_id_gives_a_binance_client_id_that_maps_back(reservation_id: str, leg: str) -> None:
    derived = client_order_id(reservation_id, leg)
    assert len(derived) <= 36 and re.fullmatch(r"[.A-Z:/a-z0-9_-]{1,36}", derived)
    assert reservation_for(derived, ["res-other", reservation_id]) == reservation_id
