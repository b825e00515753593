"""would_emit latency for a Signal: policy lookup + ATR risk sizing + every gate, 5 open positions.

Target: p50 <= 40 us. Also times regime detection is in bench_regime.py.
Run: python benchmarks/bench_would_emit.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _setup import engine_with_positions, machine, measure

from riskguard import Signal
from riskguard.model import Regime


def main() -> None:
    engine = engine_with_positions(5)
    for symbol in ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT"):
        engine.policy.update_regime(symbol, Regime.NORMAL)
    signal = Signal(signal_id="bench", strategy="btc_trend", symbol="BTCUSDT", side="BUY", confidence=0.8,
                    expected_rr=2.0, atr=2_000.0)
    emit, detail = engine.would_emit(signal)
    assert emit, detail["reasons"]
    assert detail["sizing"]["risk_pct"] > 0.0
    figures = measure(lambda: engine.would_emit(signal))
    clamped = Signal(signal_id="bench2", strategy="btc_trend", symbol="BTCUSDT", side="BUY", confidence=0.8,
                     expected_rr=2.0, atr=300.0)
    resized = measure(lambda: engine.would_emit(clamped))
    print(f"machine: {machine()}")
    print(f"would_emit(signal), 5 open positions: p50 {figures['p50_us']:.1f} us (best round "
          f"{figures['p50_best_us']:.1f} us), p99 {figures['p99_us']:.1f} us (target p50 <= 40 us)")
    print(f"would_emit(signal) clamped to the caps (second gate pass): p50 {resized['p50_us']:.1f} us (best round "
          f"{resized['p50_best_us']:.1f} us), p99 {resized['p99_us']:.1f} us")
    print(json.dumps({"would_emit": figures, "would_emit_clamped": resized}))


if __name__ == "__main__":
    main()
