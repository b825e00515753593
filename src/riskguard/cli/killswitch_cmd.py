"""``riskguard killswitch activate | status | release``: the durable kill switch of an account."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from riskguard.cli import output
from riskguard.cli.check import PostureOption, PresetOption
from riskguard.cli.db_commands import AccountOption, DbUrlOption, JsonOption, _ledger
from riskguard.cli.exchange_cmd import exchange_errors
from riskguard.cli.inputs import resolve_posture
from riskguard.cli.monitor_options import DEFAULT_ACTOR, ActorOption, ExchangeOption, exchange_for
from riskguard.cli.output import ExitCode
from riskguard.model.clock import wall_clock_ms

if TYPE_CHECKING:
    from riskguard.config.schema import Posture

TRIGGERS = ("manual", "drawdown", "exchange_unreachable", "market_data_stale", "reconciliation_drift",
            "ledger_errors", "regulatory")

killswitch_app = typer.Typer(
    name="killswitch",
    help="The kill switch: activate (HALTED + safe mode in the ledger for every process at once, then cancel every "
         "order and close every position through the exchange), show its status, or release it.",
    epilog="Examples: riskguard killswitch activate --reason 'exchange outage' --exchange binance; riskguard "
           "killswitch status --json; riskguard killswitch release --reason 'root cause fixed'. Exit codes: 0 done, "
           "1 incomplete (a step failed: run activate again to retry) or active (status), 2 bad input.",
    no_args_is_help=True,
)


def _switch(ledger: Any, exchange: Any, actor: str, posture: Posture | None = None) -> Any:
    from riskguard.config.monitor_schema import KillSwitchSection
    from riskguard.monitor.killswitch import KillSwitch

    section = KillSwitchSection() if posture is None else posture.monitor.kill_switch
    return KillSwitch(ledger, exchange, section, actor=actor, clock=wall_clock_ms)


@killswitch_app.command(epilog="Example: riskguard killswitch activate --reason 'runaway bot' --exchange binance")
def activate(
    reason: Annotated[str, typer.Option("--reason", help="Why (required; recorded).")],
    trigger: Annotated[str, typer.Option("--trigger", help=f"One of {', '.join(TRIGGERS)}.")] = "manual",
    exchange: ExchangeOption = "none",
    posture: PostureOption = None,
    preset_name: PresetOption = None,
    actor: ActorOption = DEFAULT_ACTOR,
    account: AccountOption = "default",
    db_url: DbUrlOption = None,
    json: JsonOption = False,
) -> None:
    """Pull the kill switch, or finish an activation a killed process left: idempotent, nothing is closed twice.
    Retries and fees come from the posture's monitor.kill_switch section."""
    with output.bad_input_exits():
        chosen = resolve_posture(preset_name, posture)
    if trigger not in TRIGGERS:
        output.fail(f"--trigger must be one of {', '.join(TRIGGERS)}")
    if not reason.strip():
        output.fail("--reason must not be empty")
    with exchange_errors():
        adapter = exchange_for(exchange)
    with _ledger(db_url, account) as ledger:
        ledger.ensure_account(chosen.mode.value, actor=actor)  # a fresh ledger can be halted before any bot ran
        report = _switch(ledger, adapter, actor, chosen).activate(trigger, reason)
    data = report.to_dict()
    if json:
        output.echo_json(data)
    else:
        console = output.stdout()
        console.print(f"[bold red]KILL SWITCH {'ACTIVATED' if report.created else 'RESUMED'}[/] "
                      f"{report.activation_id} ({report.trigger}): {report.status}")
        for note in report.notes:
            console.print(f"[yellow]{note}[/]")
        table = Table(title="What was done")
        for column in ("what", "symbol", "detail"):
            table.add_column(column, overflow="fold")
        for c in report.cancelled:
            table.add_row("cancelled", c["symbol"], f"{len(c['regular'])} regular, {len(c['conditional'])} conditional")
        for c in report.closed:
            table.add_row("closed", c["symbol"], f"{c.get('qty')} at {c.get('exit_price')}, fee {c.get('fee_usdt')}")
        for f in report.failed:
            table.add_row("[red]FAILED[/]", str(f.get("symbol", "-")), str(f.get("error")))
        console.print(table)
        console.print(f"estimated loss {report.estimated_loss_usdt:.2f} USDT (fees {report.fees_usdt:.2f} USDT)")
    if report.status == "incomplete":
        raise typer.Exit(int(ExitCode.NEGATIVE))


@killswitch_app.command(epilog="Example: riskguard killswitch status --json")
def status(account: AccountOption = "default", db_url: DbUrlOption = None, json: JsonOption = False) -> None:
    """Whether the kill switch is active: trigger, reason, actor, time and what was done. Exit 1 while active."""
    with _ledger(db_url, account) as ledger:
        data = _switch(ledger, None, "cli").status()
    if json:
        output.echo_json(data)
    else:
        table = Table(title="Kill switch", show_header=False)
        for key in ("active", "activation_id", "status", "trigger", "category", "reason", "actor", "ts_ms", "runs",
                    "trading_state", "safe_mode", "released_by", "release_reason"):
            if key in data:
                table.add_row(key, output.cell(data[key]))
        outcome = data.get("outcome") or {}
        if outcome:
            table.add_row("closed", ", ".join(str(c.get("symbol")) for c in outcome.get("closed", [])) or "-")
            table.add_row("failed", ", ".join(str(f.get("step")) for f in outcome.get("failed", [])) or "-")
            table.add_row("estimated loss USDT", output.cell(outcome.get("estimated_loss_usdt")))
        output.stdout().print(table)
    if data["active"]:
        raise typer.Exit(int(ExitCode.NEGATIVE))


@killswitch_app.command(epilog="Example: riskguard killswitch release --reason 'feed fixed, reviewed'")
def release(
    reason: Annotated[str, typer.Option("--reason", help="Why (required; recorded).")],
    actor: ActorOption = DEFAULT_ACTOR,
    account: AccountOption = "default",
    db_url: DbUrlOption = None,
    json: JsonOption = False,
) -> None:
    """Lift the kill switch: safe mode off, the account REDUCING (exits only); `riskguard recover` reactivates."""
    with _ledger(db_url, account) as ledger:
        record = _switch(ledger, None, actor).release(reason)
    if json:
        output.echo_json(record.to_dict())
    else:
        output.stdout().print(f"kill switch {record.activation_id} released by {record.released_by}: the account is "
                              "REDUCING (exits only); run `riskguard recover` to reactivate step by step")
