"""Regime detection speed: 4 symbols x 1 year of 1h candles (target < 100 ms in total).

Run: python benchmarks/bench_regime.py   (data from ../shared/data or RISKGUARD_SHARED_DATA)
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from riskguard.config import preset
from riskguard.model.enums import Regime
from riskguard.policy import PolicyEngine, current_regime, detect_regimes

SYMBOLS = ("BTC", "ETH", "SOL", "BNB")
BARS_PER_YEAR = 365 * 24
REPEATS = 20
TARGET_MS = 100.0


def shared_data() -> Path:
    env = os.environ.get("RISKGUARD_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def load(symbol: str) -> pd.DataFrame:
    path = shared_data() / "freqtrade-testdata" / f"{symbol}_USDT_USDT-1h-futures.feather"
    return pd.read_feather(path).iloc[-BARS_PER_YEAR:].reset_index(drop=True)


def median_ms(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    """Median wall time of ``fn()``, ms."""
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(samples)


def main() -> int:
    if not (shared_data() / "freqtrade-testdata").exists():
        print(f"shared data not found under {shared_data()} (set RISKGUARD_SHARED_DATA)")
        return 1
    cfg = preset("moderate").policy.regime
    frames = [load(s) for s in SYMBOLS]
    bars = sum(len(f) for f in frames)
    detect_regimes(frames[0], cfg)  # warm imports and caches

    full = median_ms(lambda: [detect_regimes(f, cfg) for f in frames])
    last = median_ms(lambda: [current_regime(f, cfg) for f in frames])
    engine = PolicyEngine(preset("moderate"))
    for symbol in SYMBOLS:
        engine.update_regime(f"{symbol}USDT", Regime.NORMAL)
    lookups = 100_000
    lookup_us = median_ms(lambda: [engine.policy_for("BTCUSDT") for _ in range(lookups)], 5) * 1000 / lookups
    updates = 2_000
    trade_us = median_ms(lambda: [engine.record_trade("ETHUSDT", 1.0, 0.5, i) for i in range(updates)], 5)
    equity_us = median_ms(lambda: [engine.update_equity(i * 1000, 4400.0) for i in range(updates)], 1)

    print(f"detect_regimes, {len(SYMBOLS)} symbols x {bars // len(SYMBOLS)} 1h bars: {full:.1f} ms "
          f"(target < {TARGET_MS:.0f} ms, median of {REPEATS})")
    print(f"current_regime, {len(SYMBOLS)} symbols: {last:.1f} ms")
    print(f"PolicyEngine.policy_for lookup: {lookup_us:.2f} us")
    print(f"PolicyEngine.record_trade (recomputes {len(SYMBOLS)} policies): {trade_us * 1000 / updates:.1f} us")
    print(f"PolicyEngine.update_equity (no rung crossed): {equity_us * 1000 / updates:.1f} us")
    return 0 if full < TARGET_MS else 2


if __name__ == "__main__":
    sys.exit(main())
