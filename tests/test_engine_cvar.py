"""cvar_limit_exceeded: portfolio CVaR with the new position against portfolio.max_cvar_nav_pct."""

from __future__ import annotations

import numpy as np

from conftest import NAV, PRICES, buy, check_of, hourly_returns, make_engine, posture_with
from riskguard import Position
from riskguard.math import portfolio_cvar


def test_engine_without_return_history_reports_cvar_unknown_as_a_soft_warning() -> None:
    veto, detail = make_engine(returns=False).check_order(buy("BTCUSDT", 600.0))
    assert veto is False
    assert detail["warnings"] == ["cvar_limit_exceeded"]
    assert check_of(detail, "cvar_limit_exceeded")["severity"] == "soft"


def test_cvar_observed_matches_the_reference_portfolio_cvar() -> None:
    engine = make_engine()
    engine.add_position(Position(symbol="ETHUSDT", side="LONG", qty=0.2, entry_price=3_000.0, strategy="e",
                                 stop_price=2_950.0))
    _, detail = engine.check_order(buy("BTCUSDT", 600.0), commit=False)
    symbols = sorted(PRICES)
    matrix = np.column_stack([hourly_returns(s) for s in symbols])
    exposures = np.array([{"BTCUSDT": 600.0, "ETHUSDT": 600.0}.get(s, 0.0) for s in symbols])
    check = check_of(detail, "cvar_limit_exceeded")
    assert abs(check["observed"] - portfolio_cvar(matrix, exposures, 0.95)) < 1e-6 * check["observed"] + 0.02


def test_trade_pushing_cvar_above_the_limit_is_vetoed_with_headroom() -> None:
    engine = make_engine(posture_with(**{"portfolio.max_cvar_nav_pct": 0.002}))  # 8.8 USDT of tail loss
    veto, detail = engine.check_order(buy("SOLUSDT", 600.0, leverage=3.0))
    assert veto is True
    assert detail["reasons"] == ["cvar_limit_exceeded"]
    check = check_of(detail, "cvar_limit_exceeded")
    assert check["observed"] > check["threshold"] == 0.002 * NAV
    assert 0.0 < check["headroom_notional"] < 600.0


def test_a_short_hedging_a_long_lowers_cvar_headroom_use() -> None:
    engine = make_engine()
    engine.update_returns("ETHUSDT", hourly_returns("BTCUSDT"))  # perfectly correlated history
    engine.add_position(Position(symbol="BTCUSDT", side="LONG", qty=0.01, entry_price=60_000.0, strategy="b",
                                 stop_price=59_000.0))
    long_check = check_of(engine.check_order(buy("ETHUSDT", 500.0), commit=False)[1], "cvar_limit_exceeded")
    from riskguard import OrderIntent
    short = OrderIntent(intent_id="s", strategy="e", symbol="ETHUSDT", side="SELL", notional=500.0, leverage=2.0,
                        stop_price=3_060.0, take_profit_price=2_880.0, confidence=0.8)
    short_check = check_of(engine.check_order(short, commit=False)[1], "cvar_limit_exceeded")
    assert short_check["observed"] < long_check["observed"]


def test_returns_with_nan_are_refused_naming_the_field() -> None:
    engine = make_engine()
    try:
        engine.update_returns("BTCUSDT", [0.01, float("nan")])
    except ValueError as error:
        assert "returns" in str(error)
    else:
        raise AssertionError("NaN returns accepted")
