"""``riskguard replay`` as a user runs it (whole process, HTML report) against ``freqtrade
backtesting`` on the same real year, measured in the same run.

Run: python benchmarks/bench_replay_cli.py [--runs 5] [--ledger] [--before-src ../main/src]
(needs the freqtrade extra, which the test extra pulls in; data from ../shared/data or
RISKGUARD_SHARED_DATA). Offline: freqtrade runs through tests/freqtrade_offline_runner.py
(recorded exchangeInfo, no socket but 127.0.0.1).

Each round runs every contender once, one process each, in turn (interleaved, so the shared
machine's drift hits them alike); the medians and the ratio riskguard / freqtrade are printed.

* riskguard: ``riskguard replay --preset moderate --data <freqtrade-testdata> --symbols
  BTCUSDT,ETHUSDT,SOLUSDT,BNBUSDT --out <tmp>`` (both shipped strategies, the whole data year
  2023-12-01 .. 2024-12-04, 1h), ``--no-ledger`` unless ``--ledger``; stdout to a pipe.
* freqtrade: ``freqtrade backtesting`` of the example ``EmaCross`` on the same four pairs, 1h,
  mark and funding files, timerange 20231204-20241204 (its 60 warm-up candles before), results
  exported (tests/freqtrade_harness.py).
* ``--before-src DIR``: also time the replay with the sources of DIR on PYTHONPATH (another
  checkout's ``src``, same venv), for before/after figures in one run.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from freqtrade_harness import TESTDATA, missing_data, run_backtest

SYMBOLS = "BTCUSDT,ETHUSDT,SOLUSDT,BNBUSDT"
FULL_YEAR = "20231204-20241204"
RISKGUARD_MAIN = "import sys; from riskguard.cli.app import main; sys.argv[0] = 'riskguard'; main()"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_replay(out: Path, ledger: bool, src: Path | None) -> tuple[float, float, float]:
    """One ``riskguard replay`` process: (wall s, CPU s, s until the summary's first line)."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(src), env.get("PYTHONPATH", "")])
    args = [sys.executable, "-c", RISKGUARD_MAIN, "replay", "--preset", "moderate", "--data", str(TESTDATA),
            "--symbols", SYMBOLS, "--out", str(out), "--ledger" if ledger else "--no-ledger"]
    cpu = _children_cpu()
    started = time.perf_counter()
    first_summary = float("nan")
    with subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            if first_summary != first_summary and "riskguard replay" in line:
                first_summary = time.perf_counter() - started
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"riskguard replay exited {proc.returncode}")
    return wall, _children_cpu() - cpu, first_summary


def time_freqtrade(root: Path) -> tuple[float, float]:
    """One ``freqtrade backtesting`` process: (wall s, CPU s)."""
    cpu = _children_cpu()
    started = time.perf_counter()
    run_backtest(root, "EmaCross", timerange=FULL_YEAR, max_open_trades=4, riskguard=None)
    return time.perf_counter() - started, _children_cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--ledger", action="store_true", help="replay with the SQLite ledger in the loop")
    parser.add_argument("--before-src", type=Path, default=None, help="also time the replay from this src dir")
    args = parser.parse_args()
    absent = missing_data()
    if absent:
        sys.exit(absent)
    names = ["riskguard"] + (["riskguard-before"] if args.before_src else []) + ["freqtrade"]
    walls: dict[str, list[float]] = {n: [] for n in names}
    cpus: dict[str, list[float]] = {n: [] for n in names}
    summary_at: dict[str, list[float]] = {n: [] for n in names}
    with tempfile.TemporaryDirectory(prefix="rg-bench-cli-") as tmp:
        root = Path(tmp)
        time_freqtrade(root)  # warm-up: user_data, page cache
        for _ in range(args.runs):
            for name in names:
                if name == "freqtrade":
                    wall, cpu = time_freqtrade(root)
                else:
                    src = args.before_src.resolve() if name == "riskguard-before" else None
                    wall, cpu, first = time_replay(root / name, args.ledger, src)
                    summary_at[name].append(first)
                walls[name].append(wall)
                cpus[name].append(cpu)
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load {os.getloadavg()[0]:.1f}, {args.runs} interleaved rounds, ledger {'on' if args.ledger else 'off'}")
    ft_wall, ft_cpu = statistics.median(walls["freqtrade"]), statistics.median(cpus["freqtrade"])
    for name in names:
        wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
        line = (f"{name:17s} wall {wall:6.2f} s (min {min(walls[name]):.2f}, max {max(walls[name]):.2f})  "
                f"CPU {cpu:6.2f} s")
        if name != "freqtrade":
            line += (f"  summary at {statistics.median(summary_at[name]):.2f} s  "
                     f"ratio to freqtrade: wall {wall / ft_wall:.3f}x, CPU {cpu / ft_cpu:.3f}x")
        print(line)


if __name__ == "__main__":
    main()
