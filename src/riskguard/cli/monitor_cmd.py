"""``riskguard monitor``: the live risk view of an account (Rich), or one pass as JSON for scripts."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.table import Table

from riskguard.cli import output
from riskguard.cli.check import PostureOption, PresetOption
from riskguard.cli.db_commands import AccountOption, DbUrlOption, JsonOption, _ledger
from riskguard.cli.exchange_cmd import exchange_errors
from riskguard.cli.inputs import resolve_posture
from riskguard.cli.monitor_options import ActorOption, ExchangeOption, exchange_for
from riskguard.cli.output import ExitCode
from riskguard.model.clock import wall_clock_ms

MONITOR_EPILOG = (
    "Examples: riskguard monitor --exchange binance; riskguard monitor --once --json; riskguard monitor --once "
    "--dry-run (what the drawdown ladder and the kill switch would do, changing nothing).\n\n"
    "Every pass computes the metrics, raises or clears alerts (ledger events, log, webhooks of the posture's "
    "monitor.alerts), checks the kill-switch triggers and executes the drawdown ladder's rungs. Exit codes "
    "(--once): 0 nothing open, 1 an alert is open or the kill switch is active, 2 bad input."
)


def _metrics_table(data: dict[str, Any]) -> Table:
    metrics = data.get("metrics") or {}
    table = Table(title=f"Risk monitor: account {metrics.get('account', '-')}, NAV {output.usdt(metrics.get('nav'))}, "
                        f"{metrics.get('trading_state', '-')}")
    for column in ("metric", "value", "unit", "breakdown / note"):
        table.add_column(column, overflow="fold")
    for name, metric in (metrics.get("metrics") or {}).items():
        value = metric["value"]
        if value is None:
            shown = "-"
        elif metric["unit"] == "USDT":
            shown = output.usdt(value)
        else:
            shown = f"{value:.0f}" if metric["unit"] == "positions" else f"{value:.4f}"
        breakdown = ", ".join(f"{k} {v:.4g}" for k, v in metric["by_key"].items())
        table.add_row(name, shown, metric["unit"], breakdown or metric["note"] or "")
    return table


def _alerts_table(data: dict[str, Any]) -> Table:
    table = Table(title="Open alerts")
    for column in ("severity", "alert", "message"):
        table.add_column(column, overflow="fold")
    for alert in data.get("open_alerts", []):
        style = "bold red" if alert["severity"] == "critical" else "yellow"
        table.add_row(f"[{style}]{alert['severity']}[/]", alert["key"], alert["message"])
    kill = data.get("kill_switch_status") or {}
    if kill.get("active"):
        table.add_row("[bold red]KILL SWITCH[/]", str(kill.get("trigger")),
                      f"{kill.get('reason')} ({kill.get('status')})")
    return table


def _view(data: dict[str, Any]) -> Group:
    parts: list[Any] = [_metrics_table(data), _alerts_table(data)]
    actions = data.get("actions") or {}
    for action in actions.get("executed", []):
        parts.append(f"[bold]drawdown action[/] {action['rung']}: {action.get('summary')}")
    for planned in actions.get("planned", []) if actions.get("dry_run") else []:
        parts.append(f"[bold]would[/] {planned['rung']}: {planned['effect']}")
    for error in data.get("errors", []):
        parts.append(f"[red]{error}[/]")
    return Group(*parts)


def monitor(
    posture: PostureOption = None,
    preset_name: PresetOption = None,
    exchange: ExchangeOption = "none",
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit.")] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Report what the drawdown ladder and kill switch would do; change nothing.")] = False,
    reconcile: Annotated[bool, typer.Option(
        "--reconcile", help="Reconcile ledger and exchange on every pass; drift pulls the kill switch "
                            "(monitor.kill_switch.reconciliation_drift_count).")] = False,
    mark_nav: Annotated[bool, typer.Option(
        "--mark-nav", help="Store the exchange's margin balance as the ledger's NAV mark on every pass (for "
                           "processes that are not fed NAV otherwise).")] = False,
    interval: Annotated[float, typer.Option("--interval", min=0.5, help="Seconds between passes (live view).")] = 5.0,
    actor: ActorOption = "monitor",
    account: AccountOption = "default",
    db_url: DbUrlOption = None,
    json: JsonOption = False,
) -> None:
    """Watch an account: exposure, drawdown, risk consumed, correlation risk, VaR/CVaR, margin, liquidation
    distance; alerts; kill-switch triggers; drawdown actions."""
    from riskguard.monitor.watch import Monitor

    with output.bad_input_exits():
        chosen = resolve_posture(preset_name, posture)
    with exchange_errors():
        adapter = exchange_for(exchange)
    if json and not once:
        output.fail("--json needs --once (the live view is for terminals)")
    with _ledger(db_url, account) as ledger:
        watcher = Monitor(ledger, chosen, adapter, actor=actor, clock=wall_clock_ms, reconcile_each_tick=reconcile,
                          mark_exchange_nav=mark_nav)
        if once:
            data = watcher.tick(dry_run=dry_run).to_dict()
            if json:
                output.echo_json(data)
            else:
                output.stdout().print(_view(data))
            if data["open_alerts"] or (data["kill_switch_status"] or {}).get("active"):
                raise typer.Exit(int(ExitCode.NEGATIVE))
            return
        from rich.live import Live

        with Live(console=output.stdout(), refresh_per_second=2, screen=False) as live:
            try:
                while True:
                    live.update(_view(watcher.tick(dry_run=dry_run).to_dict()))
                    time.sleep(interval)
            except KeyboardInterrupt:
                return
