"""``riskguard reconcile``: compare the ledger with the exchange, report every drift, optionally
repair the ledger from the exchange's truth (``--apply``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from riskguard.cli import output
from riskguard.cli.check import PostureOption, PresetOption
from riskguard.cli.db_commands import AccountOption, DbUrlOption
from riskguard.cli.db_commands import _ledger as open_ledger
from riskguard.cli.exchange_cmd import (
    JsonOption,
    PaperBalanceOption,
    PaperOption,
    TestnetOption,
    build_exchange,
    exchange_errors,
)
from riskguard.cli.inputs import resolve_posture
from riskguard.cli.output import ExitCode

if TYPE_CHECKING:
    from riskguard.monitor.reconcile import ReconcileReport

RECONCILE_EPILOG = (
    "Example: riskguard reconcile --db-url riskguard.db --testnet --json; add --apply to repair the ledger "
    "from the exchange (each repair is an event with actor, before and after; nothing is deleted).\n\n"
    "Drift above the posture's reconcile.action_* tolerances sets the trading state to reconcile.drift_action. "
    "Exit codes: 0 in sync, 1 drift, 2 bad input or exchange error."
)


def reconcile_command(
    apply: Annotated[bool, typer.Option("--apply", help="Repair the ledger from the exchange's truth.")] = False,
    as_json: JsonOption = False,
    db_url: DbUrlOption = None,
    account_id: AccountOption = "default",
    posture: PostureOption = None,
    preset_name: PresetOption = None,
    paper: PaperOption = False,
    testnet: TestnetOption = False,
    paper_balance: PaperBalanceOption = 10_000.0,
    actor: Annotated[str, typer.Option("--actor", help="Who is recorded on repairs and state changes.")] = "reconcile",
) -> None:
    """Compare positions (side, qty within one step, entry), NAV and open orders with the ledger's
    positions, reservations and NAV marks, and report every drift."""
    from riskguard.monitor.reconcile import reconcile  # loaded on use: keeps the CLI's start-up short

    with output.bad_input_exits():
        settings = resolve_posture(preset_name, posture).reconcile
    with open_ledger(db_url, account_id) as ledger, exchange_errors():
        report = reconcile(ledger, build_exchange(paper, testnet, paper_balance), settings, apply=apply, actor=actor)
    if as_json:
        output.echo_json(report.to_dict())
    else:
        _render(report)
    raise typer.Exit(int(ExitCode.OK if report.in_sync else ExitCode.NEGATIVE))


def _render(report: ReconcileReport) -> None:
    console = output.stdout()
    ledger_nav = "none" if report.ledger_nav is None else f"{report.ledger_nav:.2f}"
    status = "[green]in sync[/]" if report.in_sync else f"[red]{len(report.drifts)} drift(s)[/]"
    console.print(f"Reconcile with {report.exchange}: {status}; exchange NAV {report.exchange_nav:.2f} USDT, "
                  f"ledger NAV {ledger_nav}; drift notional {report.drift_notional_usdt:.2f} USDT "
                  f"({report.drift_pct_nav:.2%} of NAV)")
    if report.drifts:
        table = Table(title="Drift")
        for column in ("kind", "symbol", "notional USDT", "what"):
            table.add_column(column)
        for drift in report.drifts:
            table.add_row(drift.kind.value, drift.symbol or "-", f"{drift.notional_usdt:.2f}", drift.message)
        console.print(table)
    if report.repairs:
        table = Table(title="Repairs applied (events reconcile_repair)")
        for column in ("what", "strategy", "symbol", "before", "after"):
            table.add_column(column)
        for repair in report.repairs:
            table.add_row(repair.what, repair.strategy or "-", repair.symbol or "-", output.cell(repair.before),
                          output.cell(repair.after))
        console.print(table)
    for drift in report.unrepaired:
        console.print(f"[yellow]not repairable in the ledger:[/] {drift.message} (cancel or attribute the order)")
    if report.trading_state_set is not None:
        console.print(f"[bold red]trading state set to {report.trading_state_set.value}[/]: {report.state_reason}")
