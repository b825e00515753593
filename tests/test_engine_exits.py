"""Exits are never blocked by stale or missing data (issue 11 item 9): a reducing order passes every
gate its spec exempts, new risk on the same data still fails closed with exactly its reasons."""

from __future__ import annotations

from conftest import NOW_MS, PRICES, buy, check_of, make_engine
from riskguard import AccountSnapshot, MarketSnapshot, OrderIntent, Position, RiskEngine

STALE_MS = NOW_MS + 60_000  # a minute later: the 30 s NAV and the 10 s quotes are stale


def holding_btc() -> RiskEngine:
    engine = make_engine()
    engine.add_position(Position(symbol="BTCUSDT", side="LONG", qty=0.01, entry_price=PRICES["BTCUSDT"],
                                 strategy="btc_trend", stop_price=PRICES["BTCUSDT"] * 0.98))
    return engine


def close_btc(qty: float = 0.01, **fields: object) -> OrderIntent:
    return OrderIntent(intent_id=f"close-{qty}", strategy="btc_trend", symbol="BTCUSDT", side="SELL", qty=qty,
                       reduce_only=True, **fields)  # type: ignore[arg-type]


def test_a_reducing_order_passes_on_a_stale_nav_and_stale_quotes() -> None:
    veto, detail = holding_btc().check_order(close_btc(), now_ms=STALE_MS)
    assert (veto, detail["reasons"], detail["reducing"]) == (False, [], True)
    assert check_of(detail, "nav_stale")["note"] == "reduces an open position: exempt"
    assert check_of(detail, "market_data_stale")["threshold"] == 10_000


def test_new_risk_on_a_stale_nav_and_stale_quotes_is_vetoed_for_exactly_those() -> None:
    veto, detail = holding_btc().check_order(buy("ETHUSDT", 300.0), now_ms=STALE_MS)
    assert veto and detail["reasons"] == ["nav_stale", "market_data_stale"]


def test_a_reducing_order_passes_without_any_nav() -> None:
    engine = holding_btc()
    engine.account = None
    veto, detail = engine.check_order(close_btc())
    assert (veto, detail["reasons"]) == (False, [])


def test_new_risk_without_any_nav_is_vetoed_by_every_gate_that_needs_it() -> None:
    engine = holding_btc()
    engine.account = None
    veto, detail = engine.check_order(buy("ETHUSDT", 300.0))
    assert veto and detail["reasons"] == [
        "nav_stale", "drawdown_halt", "trade_gt_max_trade_nav_pct", "trade_gt_10pct_equity",
        "symbol_nav_cap_exceeded", "max_loss_exceeded", "gross_exposure_exceeded", "correlated_exposure_exceeded",
        "same_direction_exposure_exceeded", "total_risk_exceeded", "cvar_limit_exceeded"]


def test_a_reducing_market_order_passes_without_a_quote() -> None:
    engine = holding_btc()
    engine.markets.pop("BTCUSDT")
    veto, detail = engine.check_order(close_btc())
    assert (veto, detail["reasons"], detail["warnings"]) == (False, [], [])


def test_a_reducing_order_passes_on_a_quote_without_bid_and_ask() -> None:
    engine = holding_btc()
    engine.markets["BTCUSDT"] = MarketSnapshot(symbol="BTCUSDT", mark_price=PRICES["BTCUSDT"], ts_ms=NOW_MS)
    veto, detail = engine.check_order(close_btc())
    assert (veto, detail["reasons"], detail["warnings"]) == (False, [], [])


def test_a_reducing_order_passes_while_halted_on_a_stale_nav() -> None:
    engine = holding_btc()
    engine.set_trading_state("HALTED", "operator")
    engine.update_account(AccountSnapshot(nav=4_400.0, ts_ms=NOW_MS))
    veto, detail = engine.check_order(close_btc(0.004), now_ms=STALE_MS)
    assert (veto, detail["reasons"]) == (False, [])
