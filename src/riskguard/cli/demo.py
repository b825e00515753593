"""``riskguard demo``: the scenario of :mod:`riskguard.cli.demo_steps` as a table of decisions."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from riskguard.cli import output
from riskguard.cli.check import PostureOption, PresetOption
from riskguard.cli.replay_cmd import run_demo_replay

if TYPE_CHECKING:  # the engine is imported by the command, not for `riskguard --help`
    from riskguard.cli.demo_steps import DemoResult

DEMO_EPILOG = (
    "Examples: riskguard demo; riskguard demo --data ../shared/data/freqtrade-testdata --out report; "
    "riskguard demo --walkthrough --preset conservative --json\n\n"
    "Exit codes: 0 ok, 2 bad input."
)


def demo(
    posture: PostureOption = None,
    preset_name: PresetOption = None,
    data: Annotated[Path | None, typer.Option(
        "--data", help="OHLCV file or directory (freqtrade / ccxt layouts) instead of the shipped synthetic "
                       "sample.")] = None,
    out: Annotated[Path, typer.Option("--out", help="Directory for the report (HTML, SVG plots, JSON).")] = Path(
        "riskguard-report"),
    walkthrough: Annotated[bool, typer.Option(
        "--walkthrough", help="Instead of the replay, walk a fixed sequence of 13 intents through the posture "
                              "and print each decision.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """The main job: replay the `moderate` posture (or --preset / --posture) with two example strategies
    over the shipped **synthetic** sample (or --data real candles), with the real engine and a SQLite
    ledger in the loop, and write a report (terminal summary, HTML with plots, SVG files, JSON).

    With --walkthrough: a deterministic sequence of BTCUSDT/ETHUSDT/SOLUSDT intents at NAV 4,400 —
    reasonable entries APPROVED, an oversized trade and excessive leverage VETOed, the resize_to_fit
    variant RESIZES, a burst hits the cooldown, the global cap of 4 stops a fifth position, a NAV
    drop, a stale NAV and a HALT veto, and a reducing order passes while HALTED.
    """
    from riskguard.cli.demo_steps import DEMO_NAV, DEMO_START_MS, run_demo
    from riskguard.cli.inputs import resolve_posture

    with output.bad_input_exits():
        chosen = resolve_posture(preset_name, posture)
    if not walkthrough:
        raise typer.Exit(run_demo_replay(data, out, as_json, chosen))
    started = time.perf_counter()
    results, engine, variant = run_demo(chosen)
    elapsed_ms = (time.perf_counter() - started) * 1000.0
    if as_json:
        output.echo_json([{"step": r.number, "note": r.step.note, "verdict": r.verdict, "decision": r.detail}
                          for r in results])
        return
    console = output.stdout()
    console.print(f"[bold]riskguard demo[/]  posture [bold]{engine.limits.name}[/] config_hash "
                  f"{engine.limits.config_hash}  (resize_to_fit variant {variant.limits.name} config_hash "
                  f"{variant.limits.config_hash})")
    console.print(f"NAV {output.usdt(DEMO_NAV)} USDT, clock fixed at {DEMO_START_MS} ms "
                  "(2026-01-05 13:00 UTC), quotes refreshed at every step")
    console.print(demo_table(results))
    counts = Counter(r.verdict for r in results)
    console.print(f"{len(results)} intents: [green]{counts['APPROVED']} APPROVED[/], "
                  f"[yellow]{counts['RESIZED']} RESIZED[/], [red]{counts['VETO']} VETO[/]  "
                  f"({elapsed_ms:.1f} ms)")


def demo_table(results: list[DemoResult]) -> Table:
    """step, symbol, strategy, side, requested/sized USDT, verdict, reasons, and what the step shows."""
    table = Table(title="decisions", title_justify="left")
    for name, justify in (("step", "right"), ("symbol", "left"), ("strategy", "left"), ("side", "left"),
                          ("requested USDT", "right"), ("sized USDT", "right"), ("verdict", "left"),
                          ("reasons", "left"), ("scenario", "left")):
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for r in results:
        d = r.detail
        if d["veto"]:
            reasons = ", ".join(d["reasons"])
        elif d["resized"]:
            reasons = f"clamped_by {d['clamped_by']} (max {output.usdt(d['max_notional_allowed'])})"
        else:
            notes = (["reducing"] if d["reducing"] else []) + [f"warning {w}" for w in d["warnings"]]
            reasons = ", ".join(notes) or "-"
        posture = f" (posture {d['posture']})" if r.step.resize_variant else ""
        table.add_row(str(r.number), d["symbol"], d["strategy"], d["side"], output.usdt(d["requested"]["notional"]),
                      output.usdt(d["sized"]["notional"]), output.styled_verdict(d), reasons, r.step.note + posture)
    return table
