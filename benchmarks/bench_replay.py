"""Replay throughput: riskguard's event-driven replay (engine in the loop) against vectorbt's
``Portfolio.from_signals`` and backtesting.py on the same signals with the same stop and target,
plus a scaling run up to 10 million synthetic bars.

    python benchmarks/bench_replay.py                 # comparisons (1 year x 4 symbols of 1h candles)
    python benchmarks/bench_replay.py --scaling       # also 0.1 / 1 / 10 million bars (minutes)
    python benchmarks/bench_replay.py --split         # also where a no-ledger replay's time goes
    python benchmarks/bench_replay.py --split --split-strategies ema_trend  # the same, ema_trend only
    python benchmarks/bench_replay.py --ledger-split  # also where the SQLite-ledger replay's extra time goes
    python benchmarks/bench_replay.py --calibrate     # also calibrate (8 postures) with / without the ledger

vectorbt and backtesting.py are benchmark-only extras (``pip install -e .[bench]``); a missing one
is reported as skipped. Data: the real candles of ../shared/data when present (else the synthetic
sample, labelled). Throughput is bars per second over all symbols (higher is better).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import os
import platform
import statistics
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from riskguard.config import preset
from riskguard.math.indicators import atr as atr_indicator
from riskguard.policy.policy_engine import PolicyEngine
from riskguard.replay.accounts import LedgerAccount, MemoryAccount
from riskguard.replay.calibrate import calibrate, load_grid
from riskguard.replay.market import MarketData, load_market, market_from_frames, synthetic_market
from riskguard.replay.runner import Replay, ReplayOptions, run_replay
from riskguard.replay.strategies import Breakout, EmaTrend, strategy_by_name
from riskguard.replay.synthetic import DEFAULT_SYMBOLS, generate_ohlcv

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RISKGUARD_SHARED_DATA", REPO / ".." / "shared" / "data")).resolve()
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT")
STOP_ATR = 1.5  # the stop of the comparison: 1.5 ATR(14) (the moderate preset's normal stop)
TARGET_R = 2.0  # and one target at 2 R, the same for all three engines
FEE = 0.0005  # 5 bps taker
YEAR_BARS = 24 * 365


REPEAT = 3
"""Timed runs per engine; the median is reported (the 2-vCPU VM is shared and noisy)."""


def _timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    """Seconds of ``repeat`` calls of ``fn``, sorted."""
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - started)
    return sorted(seconds)


def year_market() -> MarketData:
    """One year x 4 symbols of 1h candles: the real 2024 candles if present, else the synthetic sample."""
    folder = SHARED / "freqtrade-testdata"
    if (folder / "BTC_USDT_USDT-1h-futures.feather").is_file():
        market = load_market([folder], symbols=list(SYMBOLS))
        end = int(market.series[0].bars.time_ms[-1])
        return market.window(end - 365 * 86_400_000, None)
    return synthetic_market(days=365)


def directions(market: MarketData) -> dict[str, npt.NDArray[np.int8]]:
    """The replay's own signals (ema_trend, then breakout where ema_trend is silent) per symbol."""
    ema, brk = EmaTrend(), Breakout()
    out: dict[str, npt.NDArray[np.int8]] = {}
    for s in market.series:
        ema.prepare(s.symbol, s.bars)
        brk.prepare(s.symbol, s.bars)
        out[s.symbol] = np.where(ema.directions[s.symbol] != 0, ema.directions[s.symbol],
                                 brk.directions[s.symbol]).astype(np.int8)
    return out


def bench_riskguard(market: MarketData, ledger: bool, repeat: int = REPEAT) -> list[float]:
    posture = preset("moderate")
    return _timed(lambda: run_replay(posture, market, strategies=[EmaTrend(), Breakout()],
                                     options=ReplayOptions(use_ledger=ledger)), repeat)


def bench_vectorbt(market: MarketData, signals: dict[str, npt.NDArray[np.int8]],
                   repeat: int = REPEAT) -> list[float] | None:
    try:
        import vectorbt as vbt
    except ImportError:
        print("vectorbt: not installed, comparison skipped (pip install -e .[bench])")
        return None

    def run() -> None:
        for s in market.series:
            b = s.bars
            index = pd.DatetimeIndex(pd.to_datetime(b.time_ms, unit="ms", utc=True))
            atr = atr_indicator(b.high, b.low, b.close, 14)
            stop_pct = np.nan_to_num(STOP_ATR * atr / b.close, nan=0.02)
            d = signals[s.symbol]
            close = pd.Series(b.close, index=index)
            vbt.Portfolio.from_signals(
                close, entries=pd.Series(d > 0, index=index), exits=pd.Series(False, index=index),
                short_entries=pd.Series(d < 0, index=index), short_exits=pd.Series(False, index=index),
                open=pd.Series(b.open, index=index), high=pd.Series(b.high, index=index),
                low=pd.Series(b.low, index=index), sl_stop=stop_pct, tp_stop=stop_pct * TARGET_R,
                fees=FEE, init_cash=4_400.0, size=880.0, size_type="value", upon_opposite_entry="ignore",
                freq="1h")

    run()  # numba compiles on the first call; time the steady state like a calibration sweep sees it
    return _timed(run, repeat)


def bench_backtesting(market: MarketData, signals: dict[str, npt.NDArray[np.int8]],
                      repeat: int = REPEAT) -> list[float] | None:
    try:
        from backtesting import Backtest, Strategy
    except ImportError:
        print("backtesting.py: not installed, comparison skipped (pip install -e .[bench])")
        return None

    class FromSignals(Strategy):  # type: ignore[misc]
        direction: Any = None
        stop: Any = None

        def init(self) -> None:
            pass

        def next(self) -> None:
            i = len(self.data) - 1
            d = int(self.direction[i])
            if d == 0 or self.position:
                return
            price = float(self.data.Close[-1])
            dist = float(self.stop[i])
            if d > 0:
                self.buy(size=0.2, sl=price - dist, tp=price + TARGET_R * dist)
            else:
                self.sell(size=0.2, sl=price + dist, tp=price - TARGET_R * dist)

    def run() -> None:
        for s in market.series:
            b = s.bars
            frame = pd.DataFrame({"Open": b.open, "High": b.high, "Low": b.low, "Close": b.close, "Volume": b.volume},
                                 index=pd.DatetimeIndex(pd.to_datetime(b.time_ms, unit="ms")))
            atr = atr_indicator(b.high, b.low, b.close, 14)
            stop = np.nan_to_num(STOP_ATR * atr, nan=float(np.nanmean(atr)) * STOP_ATR)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                # backtesting.py trades whole units: a large cash balance keeps 20 % of equity above one BTC.
                bt = Backtest(frame, FromSignals, cash=1e9, commission=FEE, exclusive_orders=False,
                              finalize_trades=True)
                bt.run(direction=signals[s.symbol], stop=stop)

    return _timed(run, repeat)


SPLIT_SITES: tuple[tuple[type, str, str], ...] = (
    (MemoryAccount, "decide", "decisions: check_order (policy read, sizing, every gate incl. CVaR)"),
    (MemoryAccount, "mark_nav", "NAV mark: engine account update and policy equity"),
    (MemoryAccount, "entered", "engine: add the filled position"),
    (MemoryAccount, "exited", "engine: close / reduce the position"),
    (Replay, "_signal", "signal objects"),
    (Replay, "_feed", "feeding marks and NAV"),
    (Replay, "_feed_returns", "feeding returns"),
    (Replay, "_enter", "entries: exit plan, exit simulation, fees and funding"),
    (Replay, "_on_exit", "exit fills"),
    (Replay, "_curves", "equity and exposure curves"),
    (Replay, "_prepare_series", "set-up: ATR, regimes, returns"),
    (PolicyEngine, "record_trade", "policy refresh after each closed trade"),
    (PolicyEngine, "update_regime", "policy: regime changes"),
)
"""Call sites timed by :func:`split` (pure-Python methods; the compiled engine is timed at its caller)."""


LEDGER_SITES: tuple[tuple[type, str, str], ...] = (
    (LedgerAccount, "mark_nav", "ledger: NAV mark (engine + one ledger transaction)"),
    (LedgerAccount, "decide", "ledger: reserve (lock, load, check_order, inputs, record, commit)"),
    (LedgerAccount, "entered", "ledger: fill of the reservation (one transaction)"),
    (LedgerAccount, "abandoned", "ledger: release of an unplaced entry"),
    (LedgerAccount, "exited", "ledger: close / reduce with funding (one transaction)"),
    (LedgerAccount, "__init__", "ledger: create the scratch file, migrate, account row"),
    (LedgerAccount, "realized_pnl", "ledger: read the realised PnL at the end"),
)
"""Call sites timed by :func:`ledger_split`: the ledger account's methods (what the replay loop hands it)."""


@contextlib.contextmanager
def _timed_sites(totals: dict[str, float], calls: dict[str, int],
                 sites: tuple[tuple[type, str, str], ...] = SPLIT_SITES) -> Iterator[None]:
    """Time each of ``sites`` exclusive of the others nested in it (seconds into ``totals``)."""
    stack = [0.0]
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in sites]

    def wrap(label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            stack.append(0.0)
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                nested = stack.pop()
                totals[label] += elapsed - nested
                calls[label] += 1
                stack[-1] += elapsed
        return timed

    try:
        for (owner, name, label), (_, _, fn) in zip(sites, saved, strict=True):
            setattr(owner, name, wrap(label, fn))
        yield
    finally:
        for owner, name, fn in saved:
            setattr(owner, name, fn)


def split(market: MarketData, repeat: int, strategies: tuple[str, ...] = ("ema_trend", "breakout")) -> None:
    """Print where a ledger-off replay of ``market`` with ``strategies`` spends its time: median ms,
    share and us per call of each site over ``repeat`` timed runs (about 10k timer pairs per year:
    ~1 % overhead)."""
    _split(market, repeat, False, SPLIT_SITES, "the rest: event loop, signal events, bookkeeping", strategies)


def ledger_split(market: MarketData, repeat: int) -> None:
    """Print where the SQLite-ledger replay of ``market`` spends its time per ledger call (median
    ms, share, us per call over ``repeat`` runs); the rest is the same work as without the ledger."""
    _split(market, repeat, True, LEDGER_SITES, "the rest: the replay's own work")


def _split(market: MarketData, repeat: int, ledger: bool, sites: tuple[tuple[type, str, str], ...],
           rest: str, strategies: tuple[str, ...] = ("ema_trend", "breakout")) -> None:
    posture = preset("moderate")
    rows: list[dict[str, float]] = []
    calls: dict[str, int] = defaultdict(int)
    run_replay(posture, market, strategies=[strategy_by_name(n) for n in strategies],
               options=ReplayOptions(use_ledger=ledger))
    for _ in range(repeat):
        totals: dict[str, float] = defaultdict(float)
        calls.clear()
        with _timed_sites(totals, calls, sites):
            started = time.perf_counter()
            result = run_replay(posture, market, strategies=[strategy_by_name(n) for n in strategies],
                                options=ReplayOptions(use_ledger=ledger))
            total = time.perf_counter() - started
        totals[rest] = total - sum(totals.values())
        totals["TOTAL"] = total
        rows.append(totals)
    total = statistics.median(r["TOTAL"] for r in rows)
    print(f"split of the {'SQLite-ledger' if ledger else 'no-ledger'} replay of {' + '.join(strategies)} "
          f"({len(result.decisions):,} decisions, "
          f"{len(result.trades):,} trades), median of {repeat}: {total * 1e3:.0f} ms")
    for label in rows[0]:
        if label == "TOTAL":
            continue
        ms = statistics.median(r[label] for r in rows) * 1e3
        share = statistics.median(r[label] / r["TOTAL"] for r in rows) * 100
        per_call = f"{ms * 1e3 / calls[label]:8.1f} us/call ({calls[label]:,})" if calls.get(label) else ""
        print(f"  {label:<70} {ms:7.1f} ms {share:5.1f} %  {per_call}")


def bench_calibrate(market: MarketData, repeat: int, workers: int) -> None:
    """Print calibrate's seconds over the example grid (8 postures, ema_trend + breakout) without
    and with the ledger, alternating, and the ratio of the medians (the same run, same load)."""
    points = load_grid("example:calibrate_grid")
    seconds: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(repeat):
        for ledger in (False, True):
            started = time.perf_counter()
            calibrate(points, market, strategy_names=("ema_trend", "breakout"),
                      options=ReplayOptions(use_ledger=ledger), workers=workers)
            seconds[ledger].append(time.perf_counter() - started)
    without, with_ledger = (statistics.median(seconds[k]) for k in (False, True))
    print(f"calibrate, {len(points)} postures, {workers} worker(s), median of {repeat}: "
          f"no ledger {without:.2f} s ({min(seconds[False]):.2f} - {max(seconds[False]):.2f}), "
          f"SQLite ledger {with_ledger:.2f} s ({min(seconds[True]):.2f} - {max(seconds[True]):.2f}); "
          f"ledger / no ledger {with_ledger / without:.2f}x")


def scaling(sizes: list[int]) -> list[tuple[int, float, int]]:
    """Seconds of a ledger-off replay of ``sizes`` synthetic bars (4 symbols), per size."""
    rows = []
    for total in sizes:
        per_symbol = total // len(DEFAULT_SYMBOLS)
        # One seeded year after another (a 285-year random walk would drift below the tick), relabelled
        # as 1-minute bars because 10 million hours overflow pandas' nanosecond dates.
        chunks = [generate_ohlcv(seed=5 + k, bars=min(YEAR_BARS, per_symbol - k * YEAR_BARS))
                  for k in range(-(-per_symbol // YEAR_BARS))]
        dates = pd.date_range("2000-01-01", periods=per_symbol, freq="1min", tz="UTC")
        frames = {}
        for symbol in chunks[0]:
            frame = pd.concat([c[symbol] for c in chunks], ignore_index=True)
            frame["date"] = dates
            frames[symbol] = frame
        del chunks  # the stitched frames hold the bars; do not keep a second copy through the run
        market = market_from_frames(frames, description="SYNTHETIC scaling sample", synthetic=True)
        posture = preset("moderate")
        started = time.perf_counter()
        result = run_replay(posture, market, strategies=[EmaTrend(), Breakout()],
                            options=ReplayOptions(use_ledger=False))
        seconds = time.perf_counter() - started
        rows.append((market.bar_count, seconds, len(result.decisions)))
        print(f"  {market.bar_count:>11,} bars: {seconds:8.1f} s  ({market.bar_count / seconds:,.0f} bars/s, "
              f"{len(result.decisions):,} decisions)", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scaling", action="store_true", help="also run 0.1 / 1 / 10 million bars")
    parser.add_argument("--sizes", default="100000,1000000,10000000", help="bar counts of the scaling run")
    parser.add_argument("--repeat", type=int, default=REPEAT, help="timed runs per engine (median reported)")
    parser.add_argument("--skip-ledger", action="store_true", help="leave out the SQLite-ledger replay")
    parser.add_argument("--split", action="store_true", help="also time the replay's parts (decisions, exits, ...)")
    parser.add_argument("--split-strategies", default="ema_trend,breakout",
                        help="the shipped strategies of --split (comma-separated)")
    parser.add_argument("--ledger-split", action="store_true", help="also time the ledger replay's ledger calls")
    parser.add_argument("--calibrate", action="store_true", help="also calibrate 8 postures with / without ledger")
    parser.add_argument("--workers", type=int, default=1, help="calibrate's worker processes")
    args = parser.parse_args()
    repeat = max(1, args.repeat)
    logging.getLogger("riskguard").setLevel(logging.ERROR)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"numpy {np.__version__}")
    market = year_market()
    bars = market.bar_count
    print(f"data: {market.description}; {bars:,} bars")
    signals = directions(market)
    print(f"signals: {sum(int(np.count_nonzero(d)) for d in signals.values()):,} entries")
    runs: dict[str, list[float] | None] = {
        "riskguard (engine, no ledger)": bench_riskguard(market, False, repeat),
        "riskguard (engine + SQLite ledger)": None if args.skip_ledger else bench_riskguard(market, True, repeat),
        "vectorbt from_signals": bench_vectorbt(market, signals, repeat),
        "backtesting.py": bench_backtesting(market, signals, repeat),
    }
    print(f"median of {repeat} runs (min - max):")
    results: dict[str, float | None] = {}
    for name, seconds in runs.items():
        if seconds is None:
            results[name] = None
            print(f"{name:<38} skipped")
            continue
        median = statistics.median(seconds)
        results[name] = median
        print(f"{name:<38} {median:8.3f} s  {bars / median:>12,.0f} bars/s  ({seconds[0]:.3f} - {seconds[-1]:.3f} s)")
    ours = results["riskguard (engine, no ledger)"]
    assert ours is not None
    with_ledger = results["riskguard (engine + SQLite ledger)"]
    if with_ledger is not None:
        print(f"replay with the SQLite ledger / without: {with_ledger / ours:.2f}x (target <= 2x)")
    for name in ("vectorbt from_signals", "backtesting.py"):
        other = results[name]
        if other is not None:
            print(f"riskguard / {name}: {other / ours:.2f}x the throughput")
    if args.split:
        split(market, repeat, tuple(n.strip() for n in args.split_strategies.split(",") if n.strip()))
    if args.ledger_split:
        ledger_split(market, repeat)
    if args.calibrate:
        bench_calibrate(market, repeat, max(1, args.workers))
    if args.scaling:
        print("scaling (synthetic, 4 symbols, engine in the loop, no ledger):")
        scaling([int(x) for x in args.sizes.split(",")])


if __name__ == "__main__":
    main()
