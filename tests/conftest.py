"""Shared fixtures: an engine at NAV 4,400 USDT with fresh, realistic Binance USD-M quotes."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from riskguard import AccountSnapshot, MarketSnapshot, OrderIntent, RiskEngine, preset
from riskguard.config import Posture, validate_posture
from riskguard.config.loader import preset_data

NOW_MS = 1_722_556_800_000  # 2024-08-02 00:00 UTC, a Friday
NAV = 4_400.0
PRICES = {"BTCUSDT": 60_000.0, "ETHUSDT": 3_000.0, "SOLUSDT": 150.0, "BNBUSDT": 550.0}
SHARED_DATA = Path(os.environ.get("RISKGUARD_SHARED_DATA",
                                  Path(__file__).resolve().parents[1] / ".." / "shared" / "data")).resolve()


def quote(symbol: str, price: float | None = None, ts_ms: int = NOW_MS, spread_bps: float = 0.2) -> MarketSnapshot:
    """A fresh top of book around ``price`` with a tight spread (bps of mid)."""
    mid = PRICES[symbol] if price is None else price
    half = mid * spread_bps / 20_000.0
    return MarketSnapshot(symbol=symbol, mark_price=mid, bid=mid - half, ask=mid + half, ts_ms=ts_ms)


def posture_with(name: str = "moderate", **overrides: Any) -> Posture:
    """A preset with dotted-path overrides, e.g. posture_with(**{"portfolio.max_open_positions": 2})."""
    data = preset_data(name)
    for path, value in overrides.items():
        node = data
        *parents, leaf = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return validate_posture(data, f"test {name}")


HOURLY_VOL = {"BTCUSDT": 0.006, "ETHUSDT": 0.008, "SOLUSDT": 0.012, "BNBUSDT": 0.009}


def hourly_returns(symbol: str, periods: int = 720, seed: int = 7) -> np.ndarray:
    """Seeded, mildly fat-tailed hourly returns with the symbol's typical volatility."""
    rng = np.random.default_rng(seed + sorted(PRICES).index(symbol))
    return rng.standard_t(5, periods) * HOURLY_VOL[symbol] / np.sqrt(5 / 3)


def make_engine(posture: Posture | None = None, nav: float = NAV, now_ms: int = NOW_MS,
                returns: bool = True) -> RiskEngine:
    """An engine with NAV, fresh quotes and (unless ``returns`` is False) 30 days of hourly return
    history for BTC, ETH, SOL and BNB at ``now_ms``."""
    engine = RiskEngine(posture or preset("moderate"), clock=lambda: now_ms)
    engine.update_account(AccountSnapshot(nav=nav, ts_ms=now_ms))
    for symbol in PRICES:
        engine.update_market(quote(symbol, ts_ms=now_ms))
        if returns:
            engine.update_returns(symbol, hourly_returns(symbol))
    return engine


def buy(symbol: str = "BTCUSDT", notional: float = 600.0, *, strategy: str | None = None,
        intent_id: str | None = None, leverage: float = 2.0, stop_pct: float = 0.02, rr: float = 2.0,
        confidence: float = 0.8, **fields: Any) -> OrderIntent:
    """A reasonable BUY intent: stop ``stop_pct`` below the mark, target at ``rr`` R."""
    price = PRICES[symbol]
    return OrderIntent(
        intent_id=intent_id or f"{symbol}-{notional}-{leverage}-{confidence}",
        strategy=strategy or f"{symbol[:3].lower()}_trend", symbol=symbol, side="BUY", notional=notional,
        leverage=leverage, stop_price=price * (1 - stop_pct), take_profit_price=price * (1 + stop_pct * rr),
        confidence=confidence, **fields)


def check_of(detail: dict[str, Any], gate: str) -> dict[str, Any]:
    """The entry of ``gate`` in a decision's checks."""
    matches = [c for c in detail["checks"] if c["gate"] == gate]
    assert len(matches) == 1, f"{gate} missing from checks"
    return matches[0]


@pytest.fixture
def engine() -> RiskEngine:
    return make_engine()


EngineFactory = Callable[..., RiskEngine]
