"""The example EMA-cross strategy in a real freqtrade backtest, with and without riskguard, on the
real year of 1h candles (BTC, ETH, SOL, BNB USD-M perpetuals, mark and funding), offline.

Run: python benchmarks/freqtrade_with_without.py [--timerange 20231204-20241204] [--json]
(needs the freqtrade extra: pip install -e ".[freqtrade]"; data from ../shared/data or
RISKGUARD_SHARED_DATA). Prints the Markdown table of docs/integrations/freqtrade.md.

"Without" is ``EmaCross``: fixed 3x leverage, freqtrade's ``unlimited`` stake split over
``max_open_trades: 4`` (the moderate posture's global cap), static stop 10 % of margin.
"With" is ``RiskguardEmaCross``: the same signals through ``RiskguardMixin`` with the moderate
posture (freqtrade allowed 10 open trades; riskguard decides).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from freqtrade_harness import START_BALANCE, max_concurrent, missing_data, run_backtest
from riskguard.gates.registry import SIZE_BOUND_GATES

VETO_LINE = re.compile(r"riskguard vetoed \S+ (?:long|short) entry at \S+: (.*) \(decision \S+\)")
FULL_YEAR = "20231204-20241204"  # the candles start 2023-12-01; 60 warm-up candles come before


def _deciding(reasons: list[str]) -> list[str]:
    """The reasons a smaller size would not have cured. A vetoed signal also fails the size caps at
    its unclamped risk size (the engine clamps a signal's size only when every failure is a size
    cap), so those count as deciding only when nothing else failed (no headroom left at all)."""
    other = [r for r in reasons if r not in SIZE_BOUND_GATES]
    return other or reasons


def _summary(result: dict[str, Any], log: str, seconds: float) -> dict[str, Any]:
    vetoes = [m.group(1).split(", ") for m in map(VETO_LINE.search, log.splitlines()) if m]
    trades = result["trades"]
    return {
        "trades": len(trades),
        "long": result["trade_count_long"],
        "short": result["trade_count_short"],
        "entries_vetoed": len(vetoes),
        "vetoes_by_reason": dict(Counter(r for reasons in vetoes for r in reasons).most_common()),
        "vetoes_by_deciding_reason": dict(Counter(r for reasons in vetoes for r in _deciding(reasons)).most_common()),
        "rejected_by_max_open_trades": result.get("rejected_signals", 0),
        "return_pct": 100.0 * result["profit_total"],
        "profit_usdt": result["profit_total_abs"],
        "max_drawdown_pct": 100.0 * result["max_drawdown_account"],
        "max_drawdown_usdt": result["max_drawdown_abs"],
        "max_open_trades_seen": max_concurrent(trades),
        "mean_stake_usdt": result["avg_stake_amount"],
        "mean_leverage": sum(t["leverage"] for t in trades) / len(trades) if trades else 0.0,
        "funding_usdt": sum(t["funding_fees"] for t in trades),
        "exit_reasons": dict(Counter(t["exit_reason"] for t in trades).most_common()),
        "runtime_s": seconds,
    }


def run(timerange: str) -> dict[str, dict[str, Any]]:
    """Both backtests in one temporary user_data; freqtrade's own figures for each."""
    out: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="rg-freqtrade-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        plain = run_backtest(root, "EmaCross", timerange=timerange, max_open_trades=4, riskguard=None)
        out["without"] = _summary(plain.result, plain.log, time.perf_counter() - started)
        started = time.perf_counter()
        guarded = run_backtest(root, "RiskguardEmaCross", timerange=timerange, max_open_trades=10,
                               riskguard={"posture": "moderate", "ledger_url": f"sqlite:///{root / 'rg.db'}",
                                          "backtest_spread_bps": 1.0})
        out["with"] = _summary(guarded.result, guarded.log, time.perf_counter() - started)
    return out


def markdown(figures: dict[str, dict[str, Any]], timerange: str) -> str:
    w, r = figures["without"], figures["with"]
    rows = [
        ("trades (long / short)", f"{w['trades']} ({w['long']} / {w['short']})",
         f"{r['trades']} ({r['long']} / {r['short']})"),
        ("entries refused", f"{w['rejected_by_max_open_trades']} (freqtrade's max_open_trades)",
         f"{r['entries_vetoed']} (riskguard vetoes)"),
        ("mean leverage / mean stake", f"{w['mean_leverage']:.2f}x / {w['mean_stake_usdt']:,.0f} USDT",
         f"{r['mean_leverage']:.2f}x / {r['mean_stake_usdt']:,.0f} USDT"),
        ("max open trades", str(w["max_open_trades_seen"]), str(r["max_open_trades_seen"])),
        ("return", f"{w['return_pct']:+.2f} % ({w['profit_usdt']:+,.0f} USDT)",
         f"{r['return_pct']:+.2f} % ({r['profit_usdt']:+,.0f} USDT)"),
        ("max drawdown (account)", f"{w['max_drawdown_pct']:.2f} % ({w['max_drawdown_usdt']:,.0f} USDT)",
         f"{r['max_drawdown_pct']:.2f} % ({r['max_drawdown_usdt']:,.0f} USDT)"),
        ("funding", f"{w['funding_usdt']:+,.2f} USDT", f"{r['funding_usdt']:+,.2f} USDT"),
        ("backtest runtime", f"{w['runtime_s']:.0f} s", f"{r['runtime_s']:.0f} s"),
    ]
    lines = [f"Timerange {timerange}, start balance {START_BALANCE:,.0f} USDT, fee 5 bps per side.", "",
             "| | without riskguard | with riskguard (moderate) |", "|---|---:|---:|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    lines += ["", "Vetoes by reason. A veto carries every failed gate; *deciding* counts only the reasons a smaller",
              "size would not have cured (the size caps count there only when nothing else failed):", "",
              "| reason | in vetoes | deciding |", "|---|---:|---:|"]
    deciding = r["vetoes_by_deciding_reason"]
    lines += [f"| `{reason}` | {count} | {deciding.get(reason, 0)} |"
              for reason, count in r["vetoes_by_reason"].items()]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timerange", default=FULL_YEAR)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of Markdown")
    args = parser.parse_args()
    problem = missing_data()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    figures = run(args.timerange)
    print(json.dumps(figures, indent=2) if args.json else markdown(figures, args.timerange))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
