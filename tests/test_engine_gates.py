"""Each gate vetoes its own unsafe case with its reason, and stays quiet otherwise."""

from __future__ import annotations

from conftest import NAV, NOW_MS, PRICES, buy, check_of, make_engine, posture_with, quote
from riskguard import AccountSnapshot, MarketSnapshot, OrderIntent, Position, TradingState


def _long(symbol: str = "BTCUSDT", qty: float = 0.005, strategy: str = "btc_trend") -> Position:
    price = PRICES[symbol]
    return Position(symbol=symbol, side="LONG", qty=qty, entry_price=price, strategy=strategy,
                    stop_price=price * 0.98)


def _sell(symbol: str, qty: float, strategy: str, **fields: object) -> OrderIntent:
    return OrderIntent(intent_id=f"close-{symbol}-{qty}", strategy=strategy, symbol=symbol, side="SELL", qty=qty,
                       **fields)  # type: ignore[arg-type]


def test_stop_on_the_wrong_side_is_an_invalid_intent() -> None:
    intent = OrderIntent(intent_id="x", strategy="btc_trend", symbol="BTCUSDT", side="BUY", notional=500.0,
                         stop_price=61_000.0, take_profit_price=63_000.0, confidence=0.8)
    veto, detail = make_engine().check_order(intent)
    assert veto and detail["reasons"] == ["invalid_intent"]


def test_qty_and_notional_that_disagree_are_an_invalid_intent() -> None:
    veto, detail = make_engine().check_order(buy("BTCUSDT", 600.0, qty=0.02))
    assert veto and detail["reasons"] == ["invalid_intent"]


def test_reduce_only_without_a_position_is_an_invalid_intent() -> None:
    veto, detail = make_engine().check_order(_sell("BTCUSDT", 0.01, "btc_trend", reduce_only=True))
    assert veto and detail["reasons"] == ["invalid_intent"]


def test_symbol_without_exchange_rules_is_vetoed_as_unknown_symbol() -> None:
    engine = make_engine()
    engine.update_market(MarketSnapshot(symbol="DOGEUSDT", mark_price=0.1, bid=0.1, ask=0.1, ts_ms=NOW_MS))
    veto, detail = engine.check_order(OrderIntent(intent_id="d", strategy="s", symbol="DOGEUSDT", side="BUY",
                                                  notional=100.0, confidence=0.9, expected_rr=2.0))
    assert veto and detail["reasons"] == [
        "unknown_symbol", "symbol_not_allowed", "below_min_notional", "qty_below_min",
        "exchange_leverage_bracket_exceeded", "liquidation_too_close"  # both need the exchange's brackets
    ]


def test_known_symbol_outside_allowed_symbols_is_vetoed() -> None:
    engine = make_engine()
    engine.update_market(MarketSnapshot(symbol="XRPUSDT", mark_price=0.6, bid=0.5999, ask=0.6001, ts_ms=NOW_MS))
    veto, detail = engine.check_order(OrderIntent(intent_id="x", strategy="s", symbol="XRPUSDT", side="BUY",
                                                  notional=100.0, confidence=0.9, expected_rr=2.0))
    assert veto and detail["reasons"] == ["symbol_not_allowed"]


def test_missing_market_snapshot_vetoes_as_market_data_stale() -> None:
    engine = make_engine()
    engine.markets.pop("SOLUSDT")
    veto, detail = engine.check_order(buy("SOLUSDT", 300.0))
    assert veto and detail["reasons"] == [
        "market_data_stale", "below_min_notional", "qty_below_min", "liquidation_too_close", "max_loss_exceeded",
        "total_risk_exceeded", "rr_below_min", "spread_too_wide", "feed_latency_too_high"
    ]


def test_old_quote_vetoes_as_market_data_stale() -> None:
    engine = make_engine()
    later = NOW_MS + 11_000
    engine.update_account(AccountSnapshot(nav=NAV, ts_ms=later))
    veto, detail = engine.check_order(buy("BTCUSDT"), now_ms=later)
    assert veto and detail["reasons"] == ["market_data_stale"]


def test_engine_without_any_nav_vetoes_and_reports_nav_unknown() -> None:
    engine = make_engine()
    engine.load_state(book=engine.book, account=None, trading_state=engine.trading_state,
                      reason=engine.trading_state_reason)
    veto, detail = engine.check_order(buy("BTCUSDT"))
    assert veto and detail["reasons"] == [
        "nav_stale", "drawdown_halt", "trade_gt_max_trade_nav_pct", "trade_gt_10pct_equity",
        "symbol_nav_cap_exceeded", "max_loss_exceeded", "gross_exposure_exceeded", "correlated_exposure_exceeded",
        "same_direction_exposure_exceeded", "total_risk_exceeded", "cvar_limit_exceeded"]
    assert detail["nav_fresh"] is False
    assert detail["max_notional_allowed"] == 0.0


def test_notional_below_binance_min_notional_is_vetoed() -> None:
    veto, detail = make_engine().check_order(buy("BTCUSDT", 90.0))
    assert veto and detail["reasons"] == ["below_min_notional"]
    assert check_of(detail, "below_min_notional")["threshold"] == 100.0


def test_quantity_below_step_is_vetoed_by_qty_below_min() -> None:
    # 100 USDT of SOL at 150 floors to 0 SOL with a step of 1.
    veto, detail = make_engine().check_order(buy("SOLUSDT", 100.0))
    assert veto and detail["reasons"] == ["below_min_notional", "qty_below_min"]


def test_limit_price_far_from_mark_is_vetoed_by_price_outside_band() -> None:
    veto, detail = make_engine().check_order(buy("BTCUSDT", 600.0, price=57_000.0))
    assert veto and detail["reasons"] == ["invalid_intent", "price_outside_band"]


def test_symbol_exposure_above_symbol_nav_cap_is_vetoed() -> None:
    engine = make_engine()
    engine.add_position(_long("BTCUSDT", qty=0.012))  # 720 USDT of the 1,100 BTC cap
    veto, detail = engine.check_order(buy("BTCUSDT", 500.0, strategy="btc_breakout"))
    assert veto and detail["reasons"] == ["symbol_nav_cap_exceeded"]
    assert check_of(detail, "symbol_nav_cap_exceeded")["headroom_notional"] == 380.0


def test_exchange_leverage_bracket_caps_leverage_for_large_positions() -> None:
    engine = make_engine(posture_with(**{"symbols.BTCUSDT.max_leverage": 125}))
    veto, detail = engine.check_order(buy("BTCUSDT", 600.0, leverage=110.0))
    assert not veto or "exchange_leverage_bracket_exceeded" not in detail["reasons"]
    engine.add_position(_long("BTCUSDT", qty=1.0))  # 60,000 USDT: second bracket, 100x max
    _, detail = engine.check_order(buy("BTCUSDT", 600.0, leverage=110.0, strategy="other"))
    # 110x is also liquidated before a 2 % stop, so the first check was vetoed too (no duplicate).
    assert detail["reasons"] == [
        "symbol_nav_cap_exceeded", "exchange_leverage_bracket_exceeded", "liquidation_too_close",
        "gross_exposure_exceeded", "correlated_exposure_exceeded", "same_direction_exposure_exceeded",
        "total_risk_exceeded", "cvar_limit_exceeded"
    ]


def test_loss_at_stop_above_max_loss_is_vetoed() -> None:
    veto, detail = make_engine().check_order(buy("BTCUSDT", 600.0, leverage=3.0, stop_pct=0.08))  # 48 USDT
    assert veto and detail["reasons"] == ["max_loss_exceeded"]
    check = check_of(detail, "max_loss_exceeded")
    assert check["threshold"] == 0.01 * NAV


def test_intent_without_stop_is_sized_on_the_default_stop_and_says_so() -> None:
    intent = OrderIntent(intent_id="n", strategy="btc_trend", symbol="BTCUSDT", side="BUY", notional=600.0,
                         leverage=2.0, expected_rr=2.0, confidence=0.8)
    _, detail = make_engine().check_order(intent)
    assert detail["risk_estimated"] is True
    assert detail["risk_usdt"] == 600.0 * 0.02
    assert "estimated" in check_of(detail, "max_loss_exceeded")["note"]


def test_low_reward_risk_alone_is_a_warning_not_a_veto() -> None:
    veto, detail = make_engine().check_order(buy("BTCUSDT", 600.0, rr=1.0))
    assert veto is False
    assert detail["warnings"] == ["rr_below_min"]


def test_three_soft_failures_veto_past_the_allowance_of_two() -> None:
    engine = make_engine()
    engine.update_market(quote("BTCUSDT", spread_bps=40.0))
    veto, detail = engine.check_order(buy("BTCUSDT", 600.0, rr=1.0, confidence=0.5))
    assert veto is True
    assert set(detail["reasons"]) == {"rr_below_min", "confidence_below_min", "spread_too_wide"}


def test_unknown_signal_source_is_not_credible() -> None:
    _, detail = make_engine().check_order(buy("BTCUSDT", 600.0, source="wallet-0xabc"))
    assert "source_credibility_low" in detail["warnings"]


def test_blackout_window_marks_outside_trading_window() -> None:
    engine = make_engine(posture_with(**{"trading_window.blackout_utc": ["23:55-00:05"]}))
    _, detail = engine.check_order(buy("BTCUSDT", 600.0))
    assert "outside_trading_window" in detail["warnings"]
    assert check_of(detail, "outside_trading_window")["observed"] == "fri 00:00 UTC"


def test_slow_feed_marks_feed_latency_too_high() -> None:
    engine = make_engine()
    engine.update_market(MarketSnapshot(symbol="BTCUSDT", mark_price=60_000.0, bid=59_999.0, ask=60_001.0,
                                        ts_ms=NOW_MS, exchange_ts_ms=NOW_MS - 5_000))
    _, detail = engine.check_order(buy("BTCUSDT", 600.0))
    assert "feed_latency_too_high" in detail["warnings"]


def test_strategy_at_its_concurrency_cap_cannot_open_another_position() -> None:
    engine = make_engine(posture_with(**{"strategies.default.max_concurrent_positions": 1}))
    engine.add_position(_long("ETHUSDT", qty=0.05, strategy="multi"))
    veto, detail = engine.check_order(buy("BTCUSDT", 600.0, strategy="multi"))
    assert veto and detail["reasons"] == ["strategy_concurrency_exceeded"]


def test_high_confidence_signal_gets_the_high_confidence_cap() -> None:
    engine = make_engine(posture_with(**{"portfolio.max_open_positions": 2,
                                         "portfolio.max_open_positions_high_confidence": 3}))
    engine.add_position(_long("ETHUSDT", qty=0.05, strategy="a"))
    engine.add_position(_long("SOLUSDT", qty=1.0, strategy="b"))
    assert engine.check_order(buy("BTCUSDT", 600.0, confidence=0.9), commit=False)[0] is True
    veto, detail = engine.check_order(buy("BTCUSDT", 600.0, confidence=0.97), commit=False)
    assert veto is False
    assert detail["max_open_positions"] == 3


def test_second_entry_within_the_flat_cooldown_is_vetoed() -> None:
    engine = make_engine()
    assert engine.check_order(buy("BTCUSDT", 300.0, intent_id="one"))[0] is False
    veto, detail = engine.check_order(buy("BTCUSDT", 300.0, intent_id="two"), now_ms=NOW_MS + 10_000)
    assert veto and detail["reasons"] == ["cooldown_active"]
    assert check_of(detail, "cooldown_active")["threshold"] == 45_000.0


def test_cooldown_is_longer_while_the_strategy_holds_positions() -> None:
    engine = make_engine()
    engine.add_position(_long("BTCUSDT", qty=0.003))
    engine.check_order(buy("ETHUSDT", 300.0, strategy="btc_trend", intent_id="one"))
    veto, detail = engine.check_order(buy("ETHUSDT", 200.0, strategy="btc_trend", intent_id="two"),
                                      now_ms=NOW_MS + 60_000)
    assert veto and check_of(detail, "cooldown_active")["threshold"] == 300_000.0


def test_daily_trade_limit_stops_the_twenty_first_entry_of_the_day() -> None:
    engine = make_engine(posture_with(**{"portfolio.max_orders_per_window": 100}))
    for n in range(20):
        engine.book.record_approval(f"prior-{n}", f"d{n}", f"s{n}", NOW_MS, True)
    veto, detail = engine.check_order(buy("BTCUSDT", 300.0))
    assert veto and detail["reasons"] == ["daily_trade_limit"]


def test_order_rate_above_window_limit_is_vetoed() -> None:
    engine = make_engine()
    for n in range(10):
        engine.book.record_approval(f"prior-{n}", f"d{n}", f"s{n}", NOW_MS - 1_000, False)
    veto, detail = engine.check_order(buy("BTCUSDT", 300.0))
    assert veto and detail["reasons"] == ["order_rate_exceeded"]


def test_same_intent_id_approved_twice_is_a_duplicate() -> None:
    engine = make_engine(posture_with(**{"strategies.default.cooldown_flat_s": 0,
                                         "strategies.default.cooldown_open_s": 0}))
    first = engine.check_order(buy("BTCUSDT", 300.0, strategy="x", intent_id="same"))[1]
    veto, detail = engine.check_order(buy("BTCUSDT", 300.0, strategy="x", intent_id="same"))
    assert veto and detail["reasons"] == ["duplicate_intent"]
    assert check_of(detail, "duplicate_intent")["observed"] == first["decision_id"]


def test_gross_exposure_above_nav_multiple_is_vetoed() -> None:
    engine = make_engine(posture_with(**{"portfolio.max_gross_nav_multiple": 0.25}))
    engine.add_position(_long("SOLUSDT", qty=4.0, strategy="sol"))  # 600 USDT of the 1,100 cap
    veto, detail = engine.check_order(buy("ETHUSDT", 600.0))
    assert veto and detail["reasons"] == ["gross_exposure_exceeded"]


def test_btc_plus_eth_above_the_majors_cap_is_vetoed() -> None:
    engine = make_engine()
    engine.add_position(_long("BTCUSDT", qty=0.015, strategy="a"))  # 900
    engine.add_position(_long("ETHUSDT", qty=0.25, strategy="b"))  # 750
    veto, detail = engine.check_order(buy("ETHUSDT", 400.0, strategy="c"))
    assert veto and detail["reasons"] == ["symbol_nav_cap_exceeded", "correlated_exposure_exceeded"]
    assert check_of(detail, "correlated_exposure_exceeded")["note"] == "group majors"


def test_same_direction_exposure_above_cap_is_vetoed() -> None:
    engine = make_engine(posture_with(**{"portfolio.max_same_direction_nav_pct": 0.25}))
    engine.add_position(_long("SOLUSDT", qty=4.0, strategy="sol"))  # 600 long
    veto, detail = engine.check_order(buy("ETHUSDT", 600.0))
    assert veto and detail["reasons"] == ["same_direction_exposure_exceeded"]


def test_total_risk_at_stops_above_cap_is_vetoed() -> None:
    engine = make_engine(posture_with(**{"portfolio.max_total_risk_nav_pct": 0.005}))
    engine.add_position(_long("SOLUSDT", qty=4.0, strategy="sol"))  # 12 USDT at risk of 22
    veto, detail = engine.check_order(buy("ETHUSDT", 600.0))  # 12 more
    assert veto and detail["reasons"] == ["total_risk_exceeded"]


def test_daily_drawdown_beyond_halt_threshold_vetoes_new_risk() -> None:
    engine = make_engine()
    engine.update_account(AccountSnapshot(nav=NAV * 0.96, ts_ms=NOW_MS))
    veto, detail = engine.check_order(buy("BTCUSDT", 300.0))
    assert veto and detail["reasons"] == ["trading_halted", "drawdown_halt"]
    assert abs(check_of(detail, "drawdown_halt")["observed"] - 0.04) < 1e-12


def test_halted_account_vetoes_new_risk_but_lets_a_position_close() -> None:
    engine = make_engine()
    engine.add_position(_long("BTCUSDT", qty=0.005))
    engine.set_trading_state(TradingState.HALTED, "operator")
    veto, detail = engine.check_order(buy("ETHUSDT", 300.0))
    assert veto and detail["reasons"] == ["trading_halted"]
    veto, detail = engine.check_order(_sell("BTCUSDT", 0.005, "btc_trend"))
    assert veto is False and detail["reducing"] is True


def test_reducing_state_allows_only_reducing_orders() -> None:
    engine = make_engine()
    engine.add_position(_long("BTCUSDT", qty=0.005))
    engine.set_trading_state("REDUCING", "drawdown ladder")
    assert engine.check_order(buy("ETHUSDT", 300.0))[1]["reasons"] == ["reduce_only_mode"]
    assert engine.check_order(_sell("BTCUSDT", 0.002, "btc_trend", reduce_only=True))[0] is False


def test_reducing_order_below_min_notional_is_exempt() -> None:
    engine = make_engine()
    engine.add_position(_long("BTCUSDT", qty=0.005))
    veto, detail = engine.check_order(_sell("BTCUSDT", 0.001, "btc_trend"))  # 60 USDT < 100 min notional
    assert veto is False
    assert check_of(detail, "below_min_notional")["note"].startswith("reduces")


def test_order_larger_than_the_position_it_opposes_adds_risk_and_is_checked_in_full() -> None:
    engine = make_engine()
    engine.add_position(_long("BTCUSDT", qty=0.005))
    engine.set_trading_state("HALTED", "test")
    veto, detail = engine.check_order(_sell("BTCUSDT", 0.02, "btc_trend", expected_rr=2.0, confidence=0.8))
    assert detail["reducing"] is False
    assert veto and detail["reasons"] == [
        "trading_halted", "trade_gt_max_trade_nav_pct", "trade_gt_10pct_equity", "symbol_nav_cap_exceeded"]


def test_older_nav_snapshot_does_not_replace_a_newer_one() -> None:
    engine = make_engine()
    assert engine.update_account(AccountSnapshot(nav=1_000.0, ts_ms=NOW_MS - 1)) is False
    assert engine.account is not None and engine.account.nav == NAV


def test_the_same_nav_snapshot_again_is_accepted_and_changes_nothing() -> None:
    engine = make_engine()
    assert engine.update_account(AccountSnapshot(nav=NAV * 0.9, ts_ms=NOW_MS + 1))
    before = (engine.trading_state, engine.ladder_size_multiplier, engine.day_high_nav, engine.policy.status())
    assert engine.update_account(AccountSnapshot(nav=NAV * 0.9, ts_ms=NOW_MS + 1)) is True
    assert (engine.trading_state, engine.ladder_size_multiplier, engine.day_high_nav,
            engine.policy.status()) == before


def test_trades_of_the_previous_utc_day_do_not_count_today() -> None:
    engine = make_engine(posture_with(**{"portfolio.max_orders_per_window": 100}))
    for n in range(20):
        engine.book.record_approval(f"prior-{n}", f"d{n}", f"s{n}", NOW_MS - 1, True)
    assert engine.check_order(buy("BTCUSDT", 300.0))[0] is False


def test_adding_to_a_position_at_a_wider_stop_counts_the_open_legs_new_risk() -> None:
    engine = make_engine(posture_with(**{"portfolio.max_total_risk_nav_pct": 0.005}))  # 22 USDT
    engine.add_position(Position(symbol="ETHUSDT", side="LONG", qty=0.2, entry_price=3_000.0,
                                 strategy="eth_trend", stop_price=2_970.0))  # 6 USDT at risk
    # Adding 300 USDT with a stop 3 % away: the new leg risks 9, but the open leg now risks 18 too.
    veto, detail = engine.check_order(buy("ETHUSDT", 300.0, stop_pct=0.03, strategy="eth_trend"))
    assert veto
    assert {"symbol_nav_cap_exceeded", "total_risk_exceeded", "pyramid_stop_loosened"} <= set(detail["reasons"])
    assert check_of(detail, "total_risk_exceeded")["observed"] == 18.0 + 9.0


def test_every_decision_carries_every_key_of_the_contract() -> None:
    from riskguard.model.decision import CONTRACT_KEYS

    engine = make_engine()
    assert list(engine.check_order(buy())[1]) == list(CONTRACT_KEYS)
    assert list(engine.refuse(buy(), "ledger_unavailable")) == list(CONTRACT_KEYS)
