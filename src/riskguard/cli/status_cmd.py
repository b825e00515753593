"""``riskguard status``: which policy stages are active, each symbol's policy and why."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from riskguard.cli import output
from riskguard.cli.check import PostureOption, PresetOption
from riskguard.cli.output import InputFileError

STATUS_EPILOG = (
    "Example: riskguard status --preset moderate --data ../shared/data/freqtrade-testdata\n\n"
    "Without --data every regime is unknown (the policy then fails closed for new trades where the "
    "trading-gate stage is on). Exit codes: 0 ok, 2 bad input."
)

_STAGES = {
    "use_for_signal_filter": "1 block symbols the policy disallows",
    "use_for_confidence_threshold": "1 apply the policy's minimum confidence",
    "use_for_risk_sizing": "2 scale size by the policy multiplier",
    "use_for_position_limits": "3 the policy's max positions per regime",
    "use_for_trading_gate": "4 stop new trades when the policy says so",
    "use_for_exit_mode": "5 the policy's exit style",
}


def status(
    posture: PostureOption = None,
    preset_name: PresetOption = None,
    data: Annotated[Path | None, typer.Option(
        "--data", help="Directory of freqtrade-named OHLCV files (e.g. BTC_USDT_USDT-1h-futures.feather); "
                       "the regime of each symbol is detected on its last bar.")] = None,
    timeframe: Annotated[str, typer.Option("--timeframe", help="Timeframe of the files in --data.")] = "1h",
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """Show the staged policy flags (on = applied, off = computed and logged only), the drawdown
    ladder, and each symbol's current policy with the reasons behind it."""
    from riskguard.cli.inputs import resolve_posture
    from riskguard.policy.policy_engine import PolicyEngine
    from riskguard.replay.data import DataFileError, load_directory

    with output.bad_input_exits():
        chosen = resolve_posture(preset_name, posture)
        frames = {}
        if data is not None:
            try:
                frames = load_directory(data, timeframe, "futures")
            except DataFileError as exc:
                raise InputFileError(str(data), str(exc)) from None
    policy = PolicyEngine(chosen)
    for symbol, frame in frames.items():
        policy.update_ohlcv(symbol, frame)
    report: dict[str, Any] = policy.status()
    report["posture"] = chosen.name
    report["regime_source"] = str(data) if data is not None else None
    if as_json:
        output.echo_json(report)
        raise typer.Exit(0)
    _render(report)


def _render(report: dict[str, Any]) -> None:
    from riskguard.policy.flags import FLAG_NAMES

    console = output.stdout()
    flags = Table(title=f"Policy stages of posture {report['posture']}")
    flags.add_column("stage")
    flags.add_column("flag")
    flags.add_column("state")
    for name in FLAG_NAMES:
        on = report["flags"][name]
        flags.add_row(_STAGES[name], name, "[green]applied[/]" if on else "[yellow]shadow[/]")
    console.print(flags)
    ladder = report["ladder"]
    console.print(f"Drawdown ladder: trading state {ladder['trading_state']}, size x{ladder['size_multiplier']}, "
                  f"mode {ladder['mode'] or 'posture'}, active rungs {', '.join(ladder['active_rungs']) or 'none'}; "
                  f"losing streak {report['losing_streak']}")
    table = Table(title="Policy per symbol" + ("" if report["regime_source"] else " (no candles: regimes unknown)"))
    for column in ("symbol", "regime", "allowed", "min conf", "risk x", "profile", "max pos", "new trades",
                   "exit", "why"):
        table.add_column(column)
    for symbol, views in report["policies"].items():
        policy = views["policy"]
        table.add_row(symbol, policy["regime"] or "unknown", "yes" if policy["symbol_allowed"] else "no",
                      f"{policy['min_confidence']:.2f}", f"{policy['max_risk_pct']:.2f}", policy["risk_profile"],
                      str(policy["max_positions"]), "yes" if policy["allow_new_trades"] else "[red]no[/]",
                      policy["exit_mode"], "; ".join(policy["notes"]) or "-")
    console.print(table)
