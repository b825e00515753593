"""``riskguard replay`` and ``riskguard calibrate``: signals over OHLCV through the real engine and
ledger, with a terminal summary, a JSON report and an offline HTML report with plots.

``run_demo_replay`` is the replay ``riskguard demo`` runs: the ``moderate`` preset, both shipped
strategies, on the labelled synthetic sample or on real files.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from riskguard.cli import output
from riskguard.cli.check import PostureOption, PresetOption
from riskguard.cli.output import ExitCode, InputFileError
from riskguard.model.errors import InputValidationError
from riskguard.replay.strategies import STRATEGIES, strategy_by_name

if TYPE_CHECKING:  # the replay machinery (pandas, the ledger, plots) is imported by the commands only
    from riskguard.config.schema import Posture
    from riskguard.replay.market import MarketData
    from riskguard.replay.runner import ReplayOptions, ReplayResult

DEFAULT_STRATEGIES = ("ema_trend", "breakout")
DEFAULT_OUT = Path("replay-report")
REPLAY_EPILOG = (
    "Examples: riskguard replay --synthetic; riskguard replay --preset moderate "
    "--data ../shared/data/freqtrade-testdata --symbols BTCUSDT,ETHUSDT --strategy ema_trend --out report/\n\n"
    "Exit codes: 0 done, 2 bad input."
)
CALIBRATE_EPILOG = (
    "Example: riskguard calibrate --grid example:calibrate_grid "
    "--data ../shared/data/freqtrade-testdata --symbols BTCUSDT,ETHUSDT --leverage 3 --workers 2\n\n"
    "Exit codes: 0 done, 2 bad input."
)

DataOption = Annotated[list[Path] | None, typer.Option(
    "--data", "-d", help="OHLCV file(s) or freqtrade data directory (repeatable). Default: the synthetic sample.",
    show_default=False)]
SyntheticOption = Annotated[bool, typer.Option(
    "--synthetic", help="Use the labelled synthetic sample (seeded GBM, NOT market data).")]
SymbolsOption = Annotated[str | None, typer.Option(
    "--symbols", help="Comma-separated symbols to keep, e.g. BTCUSDT,ETHUSDT.", show_default=False)]
StrategyOption = Annotated[list[str] | None, typer.Option(
    "--strategy", "-s", help=f"Shipped strategy (repeatable): {', '.join(STRATEGIES)}. "
                             "Default: both, unless --signals is given.", show_default=False)]
SignalsOption = Annotated[Path | None, typer.Option(
    "--signals", help="Signals file (CSV or JSON: ts, symbol, side, ...).", show_default=False)]
LeverageOption = Annotated[float | None, typer.Option(
    "--leverage", help="Leverage the strategies ask for (x). Default: each symbol's posture cap.",
    show_default=False)]
NavOption = Annotated[float, typer.Option("--nav", help="Starting NAV, USDT.")]
OutOption = Annotated[Path, typer.Option(
    "--out", "-o", help="Directory for report.json, report.html and the plots (SVG).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the JSON report on stdout.")]
LedgerOption = Annotated[bool, typer.Option(
    "--ledger/--no-ledger", help="Keep the real ledger (temporary SQLite) in the loop.")]
PyramidOption = Annotated[bool, typer.Option(
    "--pyramid/--no-pyramid", help="Ask the engine for adds to open trades (posture exits.pyramiding; "
                                   "every add is an intent the gates decide).")]
DynamicStopsOption = Annotated[bool, typer.Option(
    "--dynamic-stops/--no-dynamic-stops", help="Move open trades' stops bar by bar (posture exits.dynamic_stop; "
                                               "only tightens).")]
TimeframeOption = Annotated[str, typer.Option(
    "--timeframe", help="Candle timeframe of the --data files to read (freqtrade names, e.g. 1h, 5m).")]
StartOption = Annotated[str | None, typer.Option("--start", help="First bar (UTC date).", show_default=False)]
EndOption = Annotated[str | None, typer.Option("--end", help="End, exclusive (UTC date).", show_default=False)]
TakerOption = Annotated[float, typer.Option("--taker-bps", help="Taker fee, basis points of notional.")]
MakerOption = Annotated[float, typer.Option("--maker-bps", help="Maker fee, basis points of notional.")]


@contextmanager
def _quiet_decision_logs() -> Iterator[None]:
    """A replay makes thousands of decisions: keep per-decision logs off unless INFO was asked for."""
    logger = logging.getLogger("riskguard")
    before = logger.level
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(before)


@contextmanager
def _progress(label: str, enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    if not enabled:
        yield None
        return
    console = Console(stderr=True, emoji=False)
    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console,
                  transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _date_ms(field: str, value: str | None) -> int | None:
    if value is None:
        return None
    import pandas as pd

    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise InputFileError(field, f"not a date: {value!r}") from None
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int(stamp.value // 1_000_000)


def _market(data: list[Path] | None, synthetic: bool, symbols: str | None, start: str | None,
            end: str | None, default_symbols: Sequence[str], timeframe: str = "1h") -> MarketData:
    """The candles to replay. From --data, only the files of the requested symbols (default: the
    posture's allowed symbols) and timeframe are read: a stray file in a data directory (another
    symbol, another year) never joins the replay and stretches its period."""
    from riskguard.replay.market import load_market, synthetic_market

    if data and synthetic:
        raise InputFileError("--data/--synthetic", "give one of them, not both")
    wanted = [s.strip().upper() for s in symbols.split(",") if s.strip()] if symbols else None
    if data:
        market = load_market(data, symbols=wanted or sorted(set(default_symbols)), timeframe=timeframe)
    else:
        market = synthetic_market(symbols=wanted)
    start_ms, end_ms = _date_ms("--start", start), _date_ms("--end", end)
    if start_ms is not None or end_ms is not None:
        market = market.window(start_ms, end_ms)
    return market


def _options(nav: float, ledger: bool, taker_bps: float, maker_bps: float, *, pyramid: bool = False,
             dynamic_stops: bool = False) -> ReplayOptions:
    from riskguard.replay.fees import FeeSchedule
    from riskguard.replay.runner import ReplayOptions

    return ReplayOptions(nav=nav, fees=FeeSchedule(taker_bps=taker_bps, maker_bps=maker_bps), use_ledger=ledger,
                         pyramid=pyramid, dynamic_stops=dynamic_stops)


def _finish(result: ReplayResult, out: Path, as_json: bool) -> None:
    from riskguard.replay.metrics import summarize
    from riskguard.replay.report import print_summary, report_json, write_report

    summary = summarize(result)
    if as_json:
        write_report(result, out, summary)
        typer.echo(report_json(result, summary), nl=False)
        return
    console = output.stdout()
    print_summary(result, summary, console)  # before the report: the user reads while the plots are drawn
    paths = write_report(result, out, summary)
    console.print(f"report: {paths['html']}  (JSON {paths['json']}; plots as SVG in {out})", markup=False,
                  soft_wrap=True)


def replay(
    posture: PostureOption = None,
    preset_name: PresetOption = None,
    data: DataOption = None,
    synthetic: SyntheticOption = False,
    symbols: SymbolsOption = None,
    strategy: StrategyOption = None,
    signals: SignalsOption = None,
    leverage: LeverageOption = None,
    nav: NavOption = 4_400.0,
    timeframe: TimeframeOption = "1h",
    start: StartOption = None,
    end: EndOption = None,
    out: OutOption = DEFAULT_OUT,
    as_json: JsonOption = False,
    ledger: LedgerOption = True,
    taker_bps: TakerOption = 5.0,
    maker_bps: MakerOption = 2.0,
    pyramid: PyramidOption = False,
    dynamic_stops: DynamicStopsOption = False,
) -> None:
    """Replay strategy signals (or a signals file) over OHLCV with the real engine and ledger in the loop.

    Every signal goes through the posture's policy, sizing and gates; approved ones are reserved,
    filled at the next bar's open and exited by the posture's exit plan (stop first when a bar
    touches stop and target), with fees and funding. Writes report.json, report.html and the plots as SVG.
    --pyramid and --dynamic-stops (both off by default) add adds and stop moves while trades are open.
    """
    from riskguard.cli.inputs import resolve_posture
    from riskguard.replay.runner import run_replay
    from riskguard.replay.signals_file import load_signals

    with output.bad_input_exits():
        output.require_writable_dir(out)
        chosen = resolve_posture(preset_name, posture)
        market = _market(data, synthetic, symbols, start, end, chosen.allowed_symbols, timeframe)
        file_signals = load_signals(signals) if signals is not None else []
        names = strategy or ([] if signals is not None else list(DEFAULT_STRATEGIES))
        strategies = [strategy_by_name(n, leverage=leverage) for n in names]
        options = _options(nav, ledger, taker_bps, maker_bps, pyramid=pyramid, dynamic_stops=dynamic_stops)
        with _quiet_decision_logs(), _progress("replay", not as_json) as progress:
            result = run_replay(chosen, market, strategies=strategies, file_signals=file_signals, options=options,
                                progress=progress)
    _finish(result, out, as_json)


def calibrate(
    grid: Annotated[Path, typer.Option("--grid", "-g", help="Grid YAML (base / postures / grid).")],
    data: DataOption = None,
    synthetic: SyntheticOption = False,
    symbols: SymbolsOption = None,
    strategy: StrategyOption = None,
    signals: SignalsOption = None,
    leverage: LeverageOption = None,
    nav: NavOption = 4_400.0,
    timeframe: TimeframeOption = "1h",
    start: StartOption = None,
    end: EndOption = None,
    workers: Annotated[int, typer.Option("--workers", "-w", help="Parallel processes.")] = max(
        1, min(4, os.cpu_count() or 1)),
    out: OutOption = Path("calibrate-report"),
    as_json: JsonOption = False,
    ledger: LedgerOption = True,
    taker_bps: TakerOption = 5.0,
    maker_bps: MakerOption = 2.0,
) -> None:
    """Replay every posture of a grid over the same data and signals (in parallel processes).

    Prints, per posture, return, max drawdown, pass rate, trades and the gate that binds most
    often; writes calibrate.json and calibrate.png (return and pass rate against max drawdown).
    """
    from riskguard.replay.calibrate import calibrate as run_calibrate
    from riskguard.replay.calibrate import calibrate_json, calibrate_plot, load_grid
    from riskguard.replay.report import SYNTHETIC_BANNER
    from riskguard.replay.signals_file import load_signals

    with output.bad_input_exits():
        if workers < 1:
            raise InputFileError("--workers", "must be >= 1")
        output.require_writable_dir(out)
        points = load_grid(grid)
        allowed = {s for p in points for s in p.data.get("allowed_symbols", [])}
        market = _market(data, synthetic, symbols, start, end, sorted(allowed), timeframe)
        file_signals = load_signals(signals) if signals is not None else []
        names = strategy or ([] if signals is not None else list(DEFAULT_STRATEGIES))
        for n in names:
            strategy_by_name(n)
        options = _options(nav, ledger, taker_bps, maker_bps)
        with _quiet_decision_logs(), _progress("calibrate", not as_json) as progress:
            rows = run_calibrate(points, market, strategy_names=names, leverage=leverage, file_signals=file_signals,
                                 options=options, workers=workers, progress=progress)
    out.mkdir(parents=True, exist_ok=True)
    text = calibrate_json(rows, market)
    (out / "calibrate.json").write_text(text, encoding="utf-8")
    calibrate_plot(rows, market, out / "calibrate.png")
    if as_json:
        typer.echo(text, nl=False)
        return
    console = output.stdout()
    if market.synthetic:
        console.print(f"[bold yellow]{SYNTHETIC_BANNER}[/]")
    console.print(market.description, markup=False)
    table = Table(title="postures", title_justify="left")
    for name, justify in (("#", "right"), ("posture", "left"), ("return", "right"), ("max DD", "right"),
                          ("Sharpe", "right"), ("pass rate", "right"), ("trades", "right"),
                          ("binds most often", "left")):
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for i, row in enumerate(rows, start=1):
        rate = row["pass_rate"]
        table.add_row(str(i), output.plain(row["label"]), f"{row['total_return'] * 100:.2f} %",
                      f"{row['max_drawdown'] * 100:.2f} %",
                      f"{row['sharpe']:.2f}", "-" if rate is None else f"{rate * 100:.1f} %", str(row["trades"]),
                      row["binding_gate"] or "-")
    console.print(table)
    console.print(f"written: {out / 'calibrate.json'}, {out / 'calibrate.png'}", markup=False, soft_wrap=True)


def run_demo_replay(data: Path | None, out_dir: Path, json_output: bool, posture: Posture | None = None) -> int:
    """The replay of ``riskguard demo``: preset ``moderate``, strategies ema_trend and breakout, on the
    synthetic sample (``data`` None) or on the OHLCV file/directory ``data`` restricted to the
    posture's allowed symbols. Writes the report into ``out_dir``; returns the exit code (0, or 2
    after a one-line error on stderr)."""
    from riskguard.config.errors import PostureError
    from riskguard.config.loader import preset
    from riskguard.replay.market import load_market, synthetic_market
    from riskguard.replay.runner import run_replay

    try:
        output.require_writable_dir(out_dir)
        posture = posture or preset("moderate")
        if data is None:
            market = synthetic_market()
        else:
            market = load_market([data], symbols=sorted(set(posture.allowed_symbols)))
        strategies = [strategy_by_name(n) for n in DEFAULT_STRATEGIES]
        with _quiet_decision_logs(), _progress("demo replay", not json_output) as progress:
            result = run_replay(posture, market, strategies=strategies, progress=progress)
    except (InputValidationError, InputFileError) as exc:
        output.print_error(str(exc))
        return int(ExitCode.BAD_INPUT)
    except PostureError as exc:
        output.print_error(output.posture_error_line(exc))
        return int(ExitCode.BAD_INPUT)
    _finish(result, out_dir, json_output)
    return int(ExitCode.OK)
