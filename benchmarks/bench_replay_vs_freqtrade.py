"""Issue 16's in-process replay target: riskguard's replay of the real year against freqtrade's
backtest loop on the same EMA-cross signals, timed in one process, interleaved round by round.

    python benchmarks/bench_replay_vs_freqtrade.py [--repeat 7] [--before-src /work/main/src]

Times, per round: (a) ``run_replay`` (the API ``riskguard replay --no-ledger`` calls) of the data's
last 365 days (BTC, ETH, SOL, BNB USDT 1h of ../shared/data/freqtrade-testdata) with ``ema_trend``
only, (b) the same with both shipped strategies, (c) freqtrade's ``Backtesting.backtest()`` (its
loop, the signal columns included; candles loaded and indicators computed before the clock starts,
as ``freqtrade backtesting`` does) of ``EmaTrendCross`` (benchmarks/freqtrade_ema_trend.py: the
ema_trend entries) on the same pairs and hours. Prints medians, time per decision and the ratio
riskguard / freqtrade (issue 16: EMA-only <= 0.08x; two strategies no dearer per decision).

freqtrade is the benchmark-only ``freqtrade`` extra (``pip install -e .[freqtrade]``), run offline
as tests/freqtrade_harness.py sets it up: the data files are linked into a temporary user_data,
ccxt is served the recorded exchangeInfo, and no socket but 127.0.0.1's is allowed. To time another
riskguard source tree against the same freqtrade, give ``--before-src <that tree>/src``: its replays
run in a child process, round by round between this tree's, and both are printed with their ratios.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from bench_replay import year_market

import riskguard
from riskguard.config import preset
from riskguard.replay.market import MarketData
from riskguard.replay.runner import ReplayOptions, ReplayResult, run_replay
from riskguard.replay.strategies import EmaTrend, strategy_by_name

TESTS = Path(__file__).resolve().parents[1] / "tests"  # freqtrade's offline harness lives with the tests
FREQTRADE_STRATEGY = Path(__file__).resolve().with_name("freqtrade_ema_trend.py")
TARGET_RATIO = 0.08  # issue 16: the EMA-only year at most 0.08x freqtrade's loop
HOUR_MS = 3_600_000


def replay(market: MarketData, names: tuple[str, ...]) -> ReplayResult:
    """The no-ledger replay of ``names`` under the moderate preset, as ``riskguard replay --no-ledger``."""
    return run_replay(preset("moderate"), market, strategies=[strategy_by_name(n) for n in names],
                      options=ReplayOptions(use_ledger=False))


class FreqtradeLoop:
    """freqtrade's backtest of ``EmaTrendCross`` over [start_ms, end_ms), set up once (offline)."""

    def __init__(self, root: Path, start_ms: int, end_ms: int) -> None:
        sys.path.insert(0, str(TESTS))
        from freqtrade_harness import RECORDED, backtest_config, make_user_data
        from freqtrade_offline_runner import go_offline

        go_offline(RECORDED)
        from freqtrade.configuration import Configuration
        from freqtrade.data import history
        from freqtrade.data.converter import trim_dataframes
        from freqtrade.enums import RunMode
        from freqtrade.optimize.backtesting import Backtesting

        user_data = make_user_data(root)
        (user_data / "strategies" / FREQTRADE_STRATEGY.name).symlink_to(FREQTRADE_STRATEGY)
        config_path = root / "config.json"
        config_path.write_text(json.dumps(backtest_config(user_data, max_open_trades=4, riskguard=None)))
        args = {"config": [str(config_path)], "user_data_dir": str(user_data), "strategy": "EmaTrendCross",
                "timerange": f"{start_ms // 1000}-{end_ms // 1000}", "export": "none", "cache": "none"}
        config = Configuration(args, RunMode.BACKTEST).get_config()
        logging.getLogger("freqtrade").setLevel(logging.ERROR)  # its data-range warnings, not the figures
        self.backtesting = Backtesting(config)
        data, timerange = self.backtesting.load_bt_data()
        strategy = self.backtesting.strategylist[0]
        self.backtesting._set_strategy(strategy)  # what backtest_one_strategy does before its backtest()
        self.processed = strategy.advise_all_indicators(data)
        trimmed = trim_dataframes(self.processed, timerange, self.backtesting.required_startup)
        self.start, self.end = history.get_timerange(trimmed)
        self.entries = sum(int(((f["date"] >= self.start) & (f["date"] <= self.end)).sum())
                           for f in (self._signals(p, d) for p, d in self.processed.items()))

    def _signals(self, pair: str, frame: Any) -> Any:
        signals = self.backtesting.strategy.advise_entry(frame.copy(), {"pair": pair})
        return signals[(signals.get("enter_long", 0) == 1) | (signals.get("enter_short", 0) == 1)]

    def run(self) -> tuple[float, int]:
        """Seconds of one ``backtest()`` call (it empties the dict it is given: a copy goes in) and its trades."""
        processed = copy.deepcopy(self.processed)
        started = time.perf_counter()
        result = self.backtesting.backtest(processed=processed, start_date=self.start, end_date=self.end)
        return time.perf_counter() - started, len(result["results"])


STRATEGY_SETS: dict[str, tuple[str, ...]] = {
    "ema_trend": ("ema_trend",),
    "ema_trend + breakout": ("ema_trend", "breakout"),
}
"""The two timed replays, by label."""


class Timing(NamedTuple):
    """One timed replay: seconds, decisions, trades."""

    seconds: float
    decisions: int
    trades: int


def timed_replay(market: MarketData, label: str) -> Timing:
    """Time one replay of the strategy set ``label``."""
    started = time.perf_counter()
    result = replay(market, STRATEGY_SETS[label])
    return Timing(time.perf_counter() - started, len(result.decisions), len(result.trades))


def serve(market: MarketData) -> None:
    """The child of ``--before-src``: one timed replay per label read from stdin, its Timing as JSON."""
    for line in sys.stdin:
        print(json.dumps(timed_replay(market, line.strip())), flush=True)


class OtherTree:
    """The replays of another riskguard source tree, timed in a child process on request (so that
    its rounds interleave with this process's, under the same load)."""

    def __init__(self, src: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(src)}
        self.child = subprocess.Popen([sys.executable, __file__, "--serve"], env=env, stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True)

    def time(self, label: str) -> Timing:
        assert self.child.stdin is not None and self.child.stdout is not None
        self.child.stdin.write(label + "\n")
        self.child.stdin.flush()
        return Timing(*json.loads(self.child.stdout.readline()))

    def close(self) -> None:
        assert self.child.stdin is not None
        self.child.stdin.close()
        self.child.wait(timeout=60)


def _row(name: str, timings: list[Timing], freqtrade: float) -> str:
    median = statistics.median(t.seconds for t in timings)
    low, high = min(t.seconds for t in timings), max(t.seconds for t in timings)
    last = timings[-1]
    return (f"  {name:<48} {median:7.3f} s ({low:.3f} - {high:.3f})  {last.decisions:,} decisions, "
            f"{last.trades:,} trades, {median / last.decisions * 1e6:,.0f} us/decision; / freqtrade "
            f"{median / freqtrade:.3f}x")


def _targets(name: str, timings: dict[str, list[Timing]], freqtrade: float) -> str:
    ema, both = (statistics.median(t.seconds for t in timings[label]) for label in STRATEGY_SETS)
    ema_per = ema / timings["ema_trend"][-1].decisions
    both_per = both / timings["ema_trend + breakout"][-1].decisions
    return (f"{name}: EMA-only replay / freqtrade loop {ema / freqtrade:.3f}x (target <= {TARGET_RATIO}x); "
            f"two strategies per decision / EMA-only per decision {both_per / ema_per:.2f}x (target <= 1)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7, help="timed rounds (each times every run; medians)")
    parser.add_argument("--before-src", type=Path, help="also time the replays of this riskguard src tree "
                        "(e.g. main's), in a child process, interleaved with this one's")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    repeat = max(1, args.repeat)
    logging.getLogger("riskguard").setLevel(logging.ERROR)
    market = year_market()
    if args.serve:
        serve(market)
        return 0
    load = os.getloadavg()
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC; {platform.machine()}, {os.cpu_count()} CPUs, "
          f"CPython {platform.python_version()}, load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
          f"riskguard from {Path(riskguard.__file__).parent}"
          + (f", before from {args.before_src}" if args.before_src else ""))
    if market.synthetic:
        print("the real candles of ../shared/data/freqtrade-testdata are absent: nothing to compare", file=sys.stderr)
        return 2
    start_ms = min(int(s.bars.time_ms[0]) for s in market.series)
    end_ms = max(int(s.bars.time_ms[-1]) for s in market.series) + HOUR_MS
    print(f"data: {market.description}; {market.bar_count:,} bars, "
          f"{datetime.fromtimestamp(start_ms / 1000, UTC):%Y-%m-%d %H:%M} .. "
          f"{datetime.fromtimestamp(end_ms / 1000, UTC):%Y-%m-%d %H:%M} UTC")
    ours: dict[str, list[Timing]] = {label: [] for label in STRATEGY_SETS}
    before: dict[str, list[Timing]] = {label: [] for label in STRATEGY_SETS}
    freqtrade_seconds: list[float] = []
    other = OtherTree(args.before_src) if args.before_src else None
    try:
        with tempfile.TemporaryDirectory(prefix="rg-bench-freqtrade-") as tmp:
            loop = FreqtradeLoop(Path(tmp), start_ms, end_ms)
            for label in STRATEGY_SETS:  # warm-up: first-call imports and caches, as freqtrade's below
                timed_replay(market, label)
                if other is not None:
                    other.time(label)
            loop.run()
            trades = 0
            for _ in range(repeat):
                for label in STRATEGY_SETS:
                    if other is not None:
                        before[label].append(other.time(label))
                    ours[label].append(timed_replay(market, label))
                elapsed, trades = loop.run()
                freqtrade_seconds.append(elapsed)
    finally:
        if other is not None:
            other.close()
    freqtrade = statistics.median(freqtrade_seconds)
    ema_trend = EmaTrend()
    for s in market.series:
        ema_trend.prepare(s.symbol, s.bars)
    entries = sum(int(np.count_nonzero(d[:-1])) for d in ema_trend.directions.values())  # the last bar has no next open
    print(f"ema_trend entry signals: riskguard {entries:,}, freqtrade's EmaTrendCross {loop.entries:,}")
    print(f"median of {repeat} interleaved rounds (min - max):")
    for label in STRATEGY_SETS:
        if other is not None:
            print(_row(f"riskguard replay, {label}, before", before[label], freqtrade))
        print(_row(f"riskguard replay, {label}", ours[label], freqtrade))
    print(f"  {'freqtrade backtest() loop, EmaTrendCross':<48} {freqtrade:7.3f} s "
          f"({min(freqtrade_seconds):.3f} - {max(freqtrade_seconds):.3f})  {trades:,} trades")
    if other is not None:
        print(_targets("before", before, freqtrade))
        for label in STRATEGY_SETS:
            was = statistics.median(t.seconds for t in before[label])
            now = statistics.median(t.seconds for t in ours[label])
            print(f"{label}: after / before {now / was:.3f}x")
    print(_targets("this tree" if other is not None else "riskguard", ours, freqtrade))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
