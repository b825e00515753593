"""``riskguard recover``: the staged recovery after a kill switch; shows where it stands and runs the
pending steps, stopping at the first that fails."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from riskguard.cli import output
from riskguard.cli.check import PostureOption, PresetOption
from riskguard.cli.db_commands import AccountOption, DbUrlOption, JsonOption, _ledger, _time
from riskguard.cli.exchange_cmd import exchange_errors
from riskguard.cli.inputs import posture_from_ref, resolve_posture
from riskguard.cli.monitor_options import DEFAULT_ACTOR, ActorOption, ExchangeOption, exchange_for
from riskguard.cli.output import ExitCode
from riskguard.model.clock import wall_clock_ms

RECOVER_EPILOG = (
    "Steps: assess (flat, kill switch done) -> review (audit trail since activation) -> root_cause (--note "
    "required) -> fixes (--fixed-posture validates; the review window's stored decisions are replayed under it and "
    "the flips listed) -> reactivate (REDUCING, then ACTIVE at x0.25, x0.5, x1.0, one step per "
    "monitor.recovery.step_interval_s). Each step is a `recovery` event.\n\n"
    "Examples: riskguard recover --status; riskguard recover --note 'stale mark feed' --fixed-posture fixed.yaml. "
    "Exit codes: 0 no step failed, 1 a step failed, 2 bad input."
)


def recover(
    note: Annotated[str | None, typer.Option("--note", help="The root cause (required by that step).")] = None,
    fixed_posture: Annotated[str | None, typer.Option(
        "--fixed-posture", help="Posture file (or preset:NAME) with the fixes; default the --posture/--preset.")]
    = None,
    status_only: Annotated[bool, typer.Option("--status", help="Show where the recovery stands; run nothing.")]
    = False,
    posture: PostureOption = None,
    preset_name: PresetOption = None,
    exchange: ExchangeOption = "none",
    actor: ActorOption = DEFAULT_ACTOR,
    account: AccountOption = "default",
    db_url: DbUrlOption = None,
    json: JsonOption = False,
) -> None:
    """Recover from a kill switch step by step (REQUIREMENTS section E)."""
    from riskguard.monitor.recovery import Recovery

    with output.bad_input_exits():
        chosen = resolve_posture(preset_name, posture)
        fixed = None if fixed_posture is None else posture_from_ref(fixed_posture)
    with exchange_errors():
        adapter = exchange_for(exchange)
    with _ledger(db_url, account) as ledger:
        recovery = Recovery(ledger, chosen, adapter, actor=actor, clock=wall_clock_ms)
        result = recovery.status() if status_only else recovery.run(note=note, fixed_posture=fixed)
    failed = any(not r.passed for r in result.ran)
    if json:
        output.echo_json(result.to_dict())
    else:
        console = output.stdout()
        if result.activation_id is None:
            console.print("no kill switch was ever activated: nothing to recover")
            return
        table = Table(title=f"Recovery of kill switch {result.activation_id}")
        for column in ("step", "result", "summary"):
            table.add_column(column, overflow="fold")
        for r in result.ran:
            table.add_row(r.step, "[green]passed[/]" if r.passed else "[red]FAILED[/]", r.summary)
        console.print(table)
        stage = (f"reactivation stage {result.stage} of {len(result.stages)}"
                 + ("" if result.next_stage_ms is None else f", next at {_time(result.next_stage_ms)} UTC"))
        console.print(f"passed: {', '.join(result.passed) or 'none'}; next: {result.next_step or 'done'}; {stage}")
    if failed:
        raise typer.Exit(int(ExitCode.NEGATIVE))
