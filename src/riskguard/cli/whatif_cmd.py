"""``riskguard decisions replay --posture NEW --since 24h``: every stored decision of the window
re-decided under another posture with its stored inputs; the flips and the gates that changed."""

from __future__ import annotations

import typer
from rich.table import Table

from riskguard.cli import output
from riskguard.cli.db_commands import _ledger, _time
from riskguard.cli.inputs import parse_duration_ms, posture_from_ref
from riskguard.cli.output import ExitCode
from riskguard.model.clock import wall_clock_ms


def replay_under_posture(posture_ref: str, since: str, db_url: str | None, account: str, as_json: bool) -> None:
    """Print the flips of the window; exit 1 when any decision flips."""
    from riskguard.monitor.posture_replay import replay_window

    with output.bad_input_exits():
        new = posture_from_ref(posture_ref)
        since_ms = wall_clock_ms() - parse_duration_ms(since)
    with _ledger(db_url, account) as ledger:
        result = replay_window(ledger, new, since_ms=since_ms)
    if as_json:
        output.echo_json(result.to_dict())
    else:
        console = output.stdout()
        console.print(f"{result.decisions} stored decisions since {_time(since_ms)} UTC re-decided under posture "
                      f"{result.posture} ({result.config_hash}): {len(result.tightened)} approved -> vetoed, "
                      f"{len(result.loosened)} vetoed -> approved")
        if result.flips:
            table = Table(title="Flips")
            for column in ("time (UTC)", "decision", "strategy", "symbol", "flip", "gates changed"):
                table.add_column(column, overflow="fold")
            for flip in result.flips:
                gates = ", ".join(f"{g.gate} {'pass' if g.before else 'fail'}->{'pass' if g.after else 'fail'}"
                                  for g in flip.gates)
                table.add_row(_time(flip.ts_ms), flip.decision_id, flip.strategy, flip.symbol, flip.direction,
                              gates or "-")
            console.print(table)
        for error in result.errors:
            console.print(f"[yellow]not replayed: {error}[/]")
    if result.flips:
        raise typer.Exit(int(ExitCode.NEGATIVE))
