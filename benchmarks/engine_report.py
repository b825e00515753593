"""Run the engine benchmarks several times and print a Markdown table of their p50 / p99 figures.

The VM these run on is noisy (run-to-run p50 varies by up to ~40 %), so each figure is reported as
the median of the runs with the range. Run: python benchmarks/engine_report.py [--runs 5]
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _last_json(script: str) -> dict[str, dict[str, float]]:
    out = subprocess.run([sys.executable, str(HERE / script)], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    series: dict[str, list[dict[str, float]]] = {}
    for _ in range(args.runs):
        for name, figures in _last_json("bench_check_order.py").items():
            if isinstance(figures, dict):
                series.setdefault(f"check_order, {name.replace('positions_', '')} open positions", []).append(figures)
        for name, figures in _last_json("bench_would_emit.py").items():
            series.setdefault(name.replace("_", " ") + " (signal, 5 positions)", []).append(figures)
    from _setup import machine

    print(f"Measured {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, {args.runs} runs, {machine()}")
    print()
    print("| call | p50, best round (us) | p50 median (us) | p50 range of runs (us) | p99 median (us) |")
    print("|---|---:|---:|---:|---:|")
    for name, runs in series.items():
        p50 = [r["p50_us"] for r in runs]
        best = min(r["p50_best_us"] for r in runs)
        p99 = [r["p99_us"] for r in runs]
        print(f"| {name} | {best:.1f} | {statistics.median(p50):.1f} | {min(p50):.1f} - {max(p50):.1f} | "
              f"{statistics.median(p99):.1f} |")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
