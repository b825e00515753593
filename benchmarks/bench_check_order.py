"""check_order latency with every gate enabled: 5 open positions, then 1,000.

Target: p50 <= 15 us, and no more than 1.2x slower at 1,000 positions (the book is updated
incrementally, never rescanned per check). Run: python benchmarks/bench_check_order.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _setup import btc_intent, engine_with_positions, machine, measure

from riskguard.gates import GATE_NAMES


def main() -> None:
    intent = btc_intent()
    results = {}
    for positions in (5, 1_000):
        engine = engine_with_positions(positions)
        veto, detail = engine.check_order(intent, commit=False)
        assert not veto, detail["reasons"]
        assert len(detail["checks"]) == len(GATE_NAMES)
        results[positions] = measure(lambda engine=engine: engine.check_order(intent, commit=False))
    ratio = results[1_000]["p50_us"] / results[5]["p50_us"]
    print(f"machine: {machine()}; gates evaluated per check: {len(GATE_NAMES)}")
    for positions, figures in results.items():
        print(f"check_order with {positions:>5} open positions: p50 {figures['p50_us']:.1f} us "
              f"(best round {figures['p50_best_us']:.1f} us), p99 {figures['p99_us']:.1f} us, "
              f"mean {figures['mean_us']:.1f} us")
    print(f"slowdown at 1,000 positions: {ratio:.2f}x (target <= 1.2x); p50 target <= 15 us")
    print(json.dumps({"positions_5": results[5], "positions_1000": results[1_000], "ratio_p50": ratio}))


if __name__ == "__main__":
    main()
