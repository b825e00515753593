"""``riskguard check``: one intent against a posture and a STATE.json."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from riskguard.cli import output
from riskguard.cli.output import ExitCode

PostureOption = Annotated[str | None, typer.Option(
    "--posture", "-p", help="Posture file (.yaml/.json/.toml) or preset:NAME.", show_default=False)]
PresetOption = Annotated[str | None, typer.Option(
    "--preset", help="Shipped preset: conservative, moderate or aggressive (default: moderate).",
    show_default=False)]

CHECK_EPILOG = (
    "Example: riskguard check --preset moderate --state example:state_moderate --intent example:intent_btc\n\n"
    "Exit codes: 0 approved, 1 vetoed, 2 bad input."
)


def check(
    intent: Annotated[str, typer.Option(
        "--intent", "-i", help="Order intent JSON file, or example:NAME (see `riskguard examples`).")],
    state: Annotated[str, typer.Option(
        "--state", "-s", help="STATE.json (NAV, quotes, positions; see docs/cli.md), or example:NAME.")],
    posture: PostureOption = None,
    preset_name: PresetOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full decision detail as JSON.")] = False,
) -> None:
    """Decide on one order intent: every gate, the verdict, reasons and sizes.

    Loads the posture, feeds the STATE.json snapshot to a fresh engine and runs the intent
    through every gate at the state's now_ms (a dry run: nothing is recorded).
    """
    # Imported here, not at module level: every command module is imported for `riskguard --help`.
    from riskguard.cli.inputs import load_intent, resolve_posture
    from riskguard.cli.state import load_state
    from riskguard.engine.engine import RiskEngine

    with output.bad_input_exits():
        chosen = resolve_posture(preset_name, posture)
        snapshot = load_state(state)
        order = load_intent(intent)
    engine = RiskEngine(chosen, clock=lambda: snapshot.now_ms)
    snapshot.apply(engine)
    veto, detail = engine.check_order(order, now_ms=snapshot.now_ms, commit=False)
    if as_json:
        output.echo_json(detail)
    else:
        render_decision(detail)
    raise typer.Exit(int(ExitCode.NEGATIVE if veto else ExitCode.OK))


def render_decision(detail: dict[str, Any]) -> None:
    """Verdict, reasons, warnings, the gate table and requested vs sized vs allowed notional."""
    console = output.stdout()
    console.print(f"{output.styled_verdict(detail)}  {escape(detail['symbol'])} {detail['side']} "
                  f"strategy={escape(detail['strategy'])} intent={escape(detail['intent_id'])}")
    console.print(f"posture {escape(detail['posture'])} config_hash {detail['config_hash']}  "
                  f"NAV {output.usdt(detail['nav'])} USDT (fresh: {str(detail['nav_fresh']).lower()})  "
                  f"trading_state {detail['trading_state']}")
    if detail["reasons"]:
        console.print(f"[bold red]reasons:[/] {', '.join(detail['reasons'])}")
    if detail["warnings"]:
        console.print(f"[yellow]warnings:[/] {', '.join(detail['warnings'])}")
    console.print(output.checks_table(detail["checks"], width=console.width))
    sizes = Table(title="Size (USDT)", title_justify="left")
    for name in ("requested", "sized", "max_notional_allowed", "clamped_by", "leverage", "risk at stop"):
        sizes.add_column(name, justify="left" if name == "clamped_by" else "right", overflow="fold")
    risk = output.usdt(detail["risk_usdt"]) + (" (estimated)" if detail["risk_estimated"] else "")
    sizes.add_row(output.usdt(detail["requested"]["notional"]), output.usdt(detail["sized"]["notional"]),
                  output.usdt(detail["max_notional_allowed"]), detail["clamped_by"] or "-",
                  output.cell(detail["requested"]["leverage"]), risk)
    console.print(sizes)
    pyramid = detail.get("pyramid")
    if pyramid is not None:
        console.print(f"add {pyramid['adds'] + pyramid['pending_adds'] + 1} of at most {pyramid['max_adds']}: "
                      f"position {output.cell(pyramid['profit_r'])} R in profit; the position must carry a stop at "
                      f"{output.cell(pyramid['stop_price'])} (loosest within the "
                      f"{output.usdt(pyramid['risk_budget_usdt'])} USDT budget: "
                      f"{output.cell(pyramid['loosest_stop'])})",
                      markup=False)
    console.print(f"open positions {detail['open_positions']}/{detail['max_open_positions']}  "
                  f"strategy cap {detail['max_concurrent_positions']}  decision {detail['decision_id']}",
                  markup=False)
