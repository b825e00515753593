"""A real, offline ``freqtrade backtesting`` of the example strategies on the shared 1h candles.

The candles, mark and funding files of ../shared/data/freqtrade-testdata are LINKED (never copied)
into a temporary ``user_data/``; freqtrade runs in a subprocess through
``freqtrade_offline_runner.py`` (recorded exchangeInfo, no socket but 127.0.0.1). Used by
tests/test_integrations_freqtrade_backtest.py and benchmarks/freqtrade_with_without.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("RISKGUARD_SHARED_DATA", REPO / ".." / "shared" / "data")).resolve()
TESTDATA = SHARED_DATA / "freqtrade-testdata"
RECORDED = SHARED_DATA / "binance-usdm"
RUNNER = Path(__file__).resolve().with_name("freqtrade_offline_runner.py")
STRATEGY_FILE = REPO / "examples" / "freqtrade" / "riskguard_ema_cross.py"
BASES = ("BTC", "ETH", "SOL", "BNB")
PAIRS = tuple(f"{base}/USDT:USDT" for base in BASES)
START_BALANCE = 4_400.0  # USDT: the moderate posture's reference NAV


def missing_data() -> str | None:
    """Why the backtest cannot run here (None when it can)."""
    needed = [TESTDATA / f"{b}_USDT_USDT-{suffix}.feather" for b in BASES
              for suffix in ("1h-futures", "8h-mark", "8h-funding_rate")]
    needed.append(RECORDED / "exchangeInfo.json")
    absent = [str(p) for p in needed if not p.exists()]
    return f"shared data absent: {', '.join(absent)}" if absent else None


def make_user_data(root: Path) -> Path:
    """``root/user_data`` with the data files linked in freqtrade's layout and the example strategy."""
    user_data = root / "user_data"
    futures = user_data / "data" / "binance" / "futures"
    futures.mkdir(parents=True)
    for base in BASES:
        for suffix in ("1h-futures", "8h-mark", "8h-funding_rate"):
            name = f"{base}_USDT_USDT-{suffix}.feather"
            (futures / name).symlink_to(TESTDATA / name)
    strategies = user_data / "strategies"
    strategies.mkdir()
    (strategies / STRATEGY_FILE.name).symlink_to(STRATEGY_FILE)
    return user_data


def backtest_config(user_data: Path, *, max_open_trades: int, riskguard: dict[str, Any] | None) -> dict[str, Any]:
    """freqtrade's config: Binance USD-M futures, isolated margin, the four pairs, dry wallet 4,400 USDT."""
    config: dict[str, Any] = {
        "trading_mode": "futures",
        "margin_mode": "isolated",
        "stake_currency": "USDT",
        "stake_amount": "unlimited",
        "dry_run": True,
        "dry_run_wallet": START_BALANCE,
        "max_open_trades": max_open_trades,
        "timeframe": "1h",
        "fee": 0.0005,  # Binance USD-M taker, 5 bps
        "user_data_dir": str(user_data),
        "datadir": str(user_data / "data" / "binance"),
        "exchange": {
            "name": "binance",
            "pair_whitelist": list(PAIRS),
            # The shared mark and funding files are 8h (freqtrade's default for both is 1h).
            "_ft_has_params": {"mark_ohlcv_timeframe": "8h", "funding_fee_timeframe": "8h"},
        },
        "pairlists": [{"method": "StaticPairList"}],
        "entry_pricing": {"price_side": "same", "use_order_book": True, "order_book_top": 1},
        "exit_pricing": {"price_side": "same", "use_order_book": True, "order_book_top": 1},
        "internals": {"process_throttle_secs": 5},
    }
    if riskguard is not None:
        config["riskguard"] = riskguard
    return config


@dataclass(frozen=True)
class BacktestRun:
    """freqtrade's own results of one backtest."""

    strategy: str
    result: dict[str, Any]  # freqtrade's per-strategy result (its export)
    log: str
    returncode: int

    @property
    def trades(self) -> list[dict[str, Any]]:
        """freqtrade's trade list."""
        return list(self.result["trades"])


def run_backtest(root: Path, strategy: str, *, timerange: str, max_open_trades: int,
                 riskguard: dict[str, Any] | None, timeout_s: float = 900.0) -> BacktestRun:
    """Run ``freqtrade backtesting`` offline in a subprocess; return its exported results and log."""
    user_data = root / "user_data"
    if not user_data.exists():
        make_user_data(root)
    tag = strategy.lower()
    config_path = root / f"config-{tag}.json"
    config_path.write_text(json.dumps(backtest_config(user_data, max_open_trades=max_open_trades,
                                                      riskguard=riskguard), indent=2))
    results = root / f"results-{tag}"
    results.mkdir(exist_ok=True)
    logfile = root / f"freqtrade-{tag}.log"
    args = [sys.executable, str(RUNNER), str(RECORDED), "backtesting", "--config", str(config_path),
            "--userdir", str(user_data), "--strategy", strategy, "--timerange", timerange,
            "--export", "trades", "--backtest-directory", str(results), "--logfile", str(logfile),
            "--cache", "none"]
    # freqtrade sets up no logging at all when it sees pytest's PYTEST_VERSION (its own test mode).
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])
    done = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, timeout=timeout_s, check=False)
    log = logfile.read_text() if logfile.exists() else ""
    if done.returncode != 0:
        raise RuntimeError(f"freqtrade exited {done.returncode}\n{done.stderr[-4000:]}\n{log[-4000:]}")
    return BacktestRun(strategy, _exported(results, strategy), log, done.returncode)


def max_concurrent(trades: list[dict[str, Any]]) -> int:
    """The most trades open at once in freqtrade's trade list. A trade closed at t frees its slot
    before one opened at t takes it (freqtrade runs exits before entries on each candle)."""
    events = sorted([(tr["open_timestamp"], 1) for tr in trades] + [(tr["close_timestamp"], -1) for tr in trades])
    open_now = peak = 0
    for _, step in events:
        open_now += step
        peak = max(peak, open_now)
    return peak


def _exported(results: Path, strategy: str) -> dict[str, Any]:
    archives = sorted(results.glob("backtest-result-*.zip"))
    if not archives:
        raise RuntimeError(f"freqtrade exported no results into {results}")
    with zipfile.ZipFile(archives[-1]) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".json") and "_config" not in n
                    and "meta" not in n)
        data = json.loads(archive.read(name))
    return dict(data["strategy"][strategy])
