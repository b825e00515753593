"""Section A of the requirements: the Binance USD-M fund at NAV ~4,400 USDT under `moderate`."""

from __future__ import annotations

import json

import pytest

from conftest import NAV, NOW_MS, buy, check_of, make_engine, posture_with, quote
from riskguard import AccountSnapshot, Position
from riskguard.gates import GATE_NAMES

SEED_REASONS = {"leverage_exceeded", "trade_gt_max_trade_nav_pct", "trade_gt_10pct_equity"}


def test_reasonable_btc_trade_at_nav_4400_passes_without_the_three_seed_reasons() -> None:
    veto, detail = make_engine().check_order(buy("BTCUSDT", 600.0, leverage=3.0))
    assert veto is False
    assert detail["reasons"] == []
    assert not SEED_REASONS & {c["gate"] for c in detail["checks"] if not c["passed"]}


def test_reasonable_eth_trade_at_nav_4400_passes_without_the_three_seed_reasons() -> None:
    veto, detail = make_engine().check_order(buy("ETHUSDT", 600.0, leverage=3.0))
    assert veto is False
    assert detail["reasons"] == []


def test_trade_above_max_trade_nav_pct_is_vetoed_with_threshold_and_observed() -> None:
    veto, detail = make_engine().check_order(buy("BTCUSDT", 1_000.0, leverage=4.0))
    assert veto is True
    assert detail["reasons"] == ["trade_gt_max_trade_nav_pct", "trade_gt_10pct_equity"]  # 1,000 > 880 and > 660
    check = check_of(detail, "trade_gt_max_trade_nav_pct")
    assert check["threshold"] == 0.20 * NAV
    assert check["observed"] == 1_000.0
    assert check["headroom_notional"] == 0.20 * NAV


@pytest.mark.parametrize("leverage", [1.0, 2.0, 3.0, 4.0])
def test_notional_above_the_equity_clamp_is_vetoed_by_trade_gt_10pct_equity_at_any_leverage(
        leverage: float) -> None:
    # 700 USDT of BTC: above 0.15 x 4,400 = 660, yet under the 880 trade cap (REQUIREMENTS A: the clamp
    # fires when the proposed notional exceeds 15 % of NAV, whatever the leverage).
    veto, detail = make_engine().check_order(buy("BTCUSDT", 700.0, leverage=leverage))
    assert veto is True
    assert detail["reasons"] == ["trade_gt_10pct_equity"]
    check = check_of(detail, "trade_gt_10pct_equity")
    assert (check["observed"], check["threshold"], check["headroom_notional"]) == (700.0, 0.15 * NAV, 0.15 * NAV)


def test_a_posture_on_the_margin_basis_measures_the_clamp_in_initial_margin() -> None:
    engine = make_engine(posture_with(**{"trade.equity_clamp_basis": "margin"}))
    veto, detail = engine.check_order(buy("BTCUSDT", 700.0, leverage=2.0))
    check = check_of(detail, "trade_gt_10pct_equity")
    assert (veto, check["passed"], check["observed"]) == (False, True, 350.0)
    assert check["headroom_notional"] == 2 * 0.15 * NAV


def test_trade_above_twenty_percent_at_low_leverage_is_vetoed_by_both_caps() -> None:
    veto, detail = make_engine().check_order(buy("ETHUSDT", 900.0, leverage=1.0))
    assert veto is True
    assert detail["reasons"] == ["trade_gt_max_trade_nav_pct", "trade_gt_10pct_equity", "symbol_nav_cap_exceeded"]


def test_leverage_above_symbol_cap_is_vetoed_with_the_symbol_threshold() -> None:
    veto, detail = make_engine().check_order(buy("SOLUSDT", 300.0, leverage=4.0))
    assert veto is True
    assert detail["reasons"] == ["leverage_exceeded"]
    assert check_of(detail, "leverage_exceeded")["threshold"] == 3.0


def test_btc_leverage_four_is_allowed_and_five_is_vetoed() -> None:
    engine = make_engine()
    assert engine.check_order(buy("BTCUSDT", 600.0, leverage=4.0), commit=False)[0] is False
    veto, detail = engine.check_order(buy("BTCUSDT", 600.0, leverage=5.0), commit=False)
    assert veto and detail["reasons"] == ["leverage_exceeded"]


def test_sharp_nav_drop_makes_the_same_trade_veto() -> None:
    engine = make_engine()
    intent = buy("BTCUSDT", 600.0, leverage=3.0)
    assert engine.check_order(intent, commit=False)[0] is False
    engine.update_account(AccountSnapshot(nav=2_800.0, ts_ms=NOW_MS + 1))
    veto, detail = engine.check_order(intent, commit=False, now_ms=NOW_MS + 1)
    assert veto is True
    # NAV -36 %: the daily rungs (REDUCING) and the monthly 15 % rung (demo: no live order adds risk).
    assert detail["reasons"] == [
        "trading_halted", "reduce_only_mode", "drawdown_halt", "trade_gt_max_trade_nav_pct", "trade_gt_10pct_equity"
    ]


def test_fifth_position_never_opens_under_a_global_cap_of_four() -> None:
    engine = make_engine()
    for strategy, symbol, qty, price in [("btc_trend", "BTCUSDT", 0.003, 60_000.0),
                                         ("eth_trend", "ETHUSDT", 0.05, 3_000.0),
                                         ("sol_trend", "SOLUSDT", 1.0, 150.0),
                                         ("eth_swing", "ETHUSDT", 0.05, 3_000.0)]:
        engine.add_position(Position(symbol=symbol, side="LONG", qty=qty, entry_price=price, strategy=strategy,
                                     stop_price=price * 0.98))
    veto, detail = engine.check_order(buy("BNBUSDT", 50.0, strategy="bnb_trend", leverage=2.0, confidence=0.99))
    assert veto is True
    assert detail["reasons"] == ["global_concurrency_exceeded"]
    assert detail["open_positions"] == 4
    assert check_of(detail, "global_concurrency_exceeded")["threshold"] == 4


def test_stale_nav_vetoes_with_nav_fresh_false() -> None:
    engine = make_engine()
    later = NOW_MS + 31_000
    engine.update_market(quote("BTCUSDT", ts_ms=later))
    veto, detail = engine.check_order(buy("BTCUSDT", 600.0), now_ms=later)
    assert veto is True
    assert detail["reasons"] == ["nav_stale"]
    assert detail["nav_fresh"] is False
    assert detail["nav_age_ms"] == 31_000.0


def test_every_strategy_of_moderate_allows_at_least_three_concurrent_positions() -> None:
    engine = make_engine()
    limits = engine.limits
    assert all(s.max_concurrent_positions >= 3 for s in limits.strategies.values())
    assert limits.default_strategy.max_concurrent_positions >= 3
    assert limits.max_open_positions == 4


def test_detail_carries_the_full_contract_and_is_json_serialisable() -> None:
    _, detail = make_engine().check_order(buy("BTCUSDT", 600.0))
    for key in ("reasons", "warnings", "nav", "nav_fresh", "nav_age_ms", "checks", "requested", "sized",
                "max_notional_allowed", "clamped_by", "open_positions", "max_concurrent_positions",
                "trading_state", "config_hash", "decision_id"):
        assert key in detail
    assert [c["gate"] for c in detail["checks"]] == list(GATE_NAMES)
    json.loads(json.dumps(detail))


def test_every_veto_reason_has_a_check_with_threshold_and_observed() -> None:
    _, detail = make_engine().check_order(buy("SOLUSDT", 2_000.0, leverage=6.0))
    assert detail["reasons"]
    for reason in detail["reasons"]:
        check = check_of(detail, reason)
        assert check["passed"] is False
        assert check["threshold"] is not None
        assert check["observed"] is not None


def test_would_emit_returns_true_for_a_passing_intent_with_the_same_detail() -> None:
    emit, detail = make_engine().would_emit(buy("ETHUSDT", 500.0))
    assert emit is True
    assert detail["approved"] is True and detail["nav_fresh"] is True
