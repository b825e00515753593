"""``riskguard probe``: the screener's view, one representative intent per symbol."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from riskguard.cli import output
from riskguard.cli.check import PostureOption, PresetOption
from riskguard.cli.output import ExitCode, InputFileError
from riskguard.model import validation as v
from riskguard.model.enums import Side
from riskguard.model.errors import InputValidationError
from riskguard.model.intent import OrderIntent, parse_side

if TYPE_CHECKING:  # the posture and the engine are imported by the command, not for `riskguard --help`
    from riskguard.cli.state import State
    from riskguard.config.limits import Limits
    from riskguard.engine.engine import RiskEngine

PROBE_STRATEGY = "probe"
PROBE_SIZE_SHARE = 0.5
"""Default probe notional as a share of the tighter of the trade cap and the symbol cap: a
representative trade, comfortably inside both, so a veto points at the market or the book."""

PROBE_EPILOG = (
    "Example: riskguard probe --preset moderate --nav 4400 --state example:state_moderate "
    "--symbols BTCUSDT,ETHUSDT,SOLUSDT\n\n"
    "Exit codes: 0 at least one symbol would emit, 1 none would, 2 bad input."
)

SUMMARY_KEYS = ("symbol", "strategy", "side", "notional", "would_emit", "reasons", "max_concurrent_positions",
                "max_notional_allowed")
VERBOSE_KEYS = ("nav", "nav_fresh", "warnings", "clamped_by", "open_positions", "max_open_positions",
                "posture", "config_hash", "checks")


def strategy_for(symbol: str, limits: Limits) -> str:
    """The posture's strategy whose name has the symbol's base asset as a word (``btc_trend``
    for BTCUSDT), else ``probe`` (which gets the posture's default strategy limits)."""
    from riskguard.config.schema import DEFAULT_KEY

    base = symbol.removesuffix("USDT").lower()
    for name in sorted(limits.posture.strategies):
        if name != DEFAULT_KEY and base in name.lower().replace("-", "_").split("_"):
            return name
    return PROBE_STRATEGY


def probe_intent(symbol: str, limits: Limits, nav: float | None, price: float | None, *, side: Side,
                 notional: float | None, leverage: float, confidence: float, stop_pct: float | None,
                 reward_risk: float) -> OrderIntent:
    """A representative intent for ``symbol``: ``notional`` USDT, or half the tighter of the trade
    and symbol caps at ``nav``; stop ``stop_pct`` (default: the posture's default stop distance)
    from ``price``; take-profit at ``reward_risk`` R."""
    if notional is None:
        cap = min(limits.max_trade_nav_pct, limits.symbol(symbol).max_nav_pct)
        # Without a NAV any positive size does: the engine vetoes on nav_stale anyway.
        notional = cap * nav * PROBE_SIZE_SHARE if nav is not None else limits.min_notional_usdt
    distance = limits.default_stop_distance_pct if stop_pct is None else stop_pct
    stop = target = None
    if price is not None:
        sign = 1.0 if side is Side.BUY else -1.0
        stop = price * (1.0 - sign * distance)
        target = price * (1.0 + sign * distance * reward_risk)
    return OrderIntent(intent_id=f"probe-{symbol}", strategy=strategy_for(symbol, limits), symbol=symbol,
                       side=side, notional=notional, leverage=leverage, stop_price=stop,
                       take_profit_price=target, confidence=confidence)


def parse_symbols(text: str | None, limits: Limits) -> list[str]:
    """Comma-separated symbols (normalised), or the posture's allowed symbols."""
    if text is None:
        return list(limits.posture.allowed_symbols)
    symbols = [v.symbol("--symbols", part) for part in text.split(",") if part.strip()]
    if not symbols:
        raise InputValidationError("--symbols", "give at least one symbol", text)
    return symbols


def probe_rows(engine: RiskEngine, snapshot: State, symbols: list[str], *, side: Side, notional: float | None,
               leverage: float, confidence: float, stop_pct: float | None,
               reward_risk: float) -> list[dict[str, Any]]:
    """One dry-run decision detail per symbol (nothing is committed), with ``would_emit`` added."""
    nav = engine.account.nav if engine.account is not None else None
    rows = []
    for symbol in symbols:
        market = engine.markets.get(symbol)
        intent = probe_intent(symbol, engine.limits, nav, market.mark_price if market else None, side=side,
                              notional=notional, leverage=leverage, confidence=confidence,
                              stop_pct=stop_pct, reward_risk=reward_risk)
        emits, detail = engine.would_emit(intent, now_ms=snapshot.now_ms)
        detail["would_emit"] = emits
        detail["notional"] = intent.notional
        rows.append(detail)
    return rows


def probe(
    posture: PostureOption = None,
    preset_name: PresetOption = None,
    nav: Annotated[float | None, typer.Option(
        help="NAV in USDT; overrides the state's NAV (timestamped like it, else now).", show_default=False)] = None,
    state: Annotated[str | None, typer.Option(
        "--state", "-s", help="STATE.json or example:NAME; without it there are no quotes, so nothing emits.",
        show_default=False)] = None,
    symbols: Annotated[str | None, typer.Option(
        help="Comma-separated symbols (default: the posture's allowed_symbols).", show_default=False)] = None,
    side: Annotated[str, typer.Option(help="BUY or SELL.")] = "BUY",
    notional: Annotated[float | None, typer.Option(
        help="Probe size in USDT (default: half the tighter of the trade cap and the symbol cap).",
        show_default=False)] = None,
    leverage: Annotated[float, typer.Option(help="Requested leverage (x).")] = 2.0,
    confidence: Annotated[float, typer.Option(help="Signal confidence, 0..1.")] = 0.8,
    stop_pct: Annotated[float | None, typer.Option(
        help="Stop distance, fraction of price (default: the posture's trade.default_stop_distance_pct).",
        show_default=False)] = None,
    reward_risk: Annotated[float, typer.Option("--rr", help="Take-profit distance in R (stop distances).")] = 2.0,
    table: Annotated[bool, typer.Option("--table", help="Print a Rich table instead of JSON Lines.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines (the default; wins over --table).")] = False,
    verbose: Annotated[bool, typer.Option(
        "--verbose", "-v", help="Add nav, nav_fresh, warnings, clamped_by, posture and every gate check.")] = False,
) -> None:
    """Would a representative signal emit on each symbol right now? (the screener probe)

    For every symbol builds an intent (strategy: the posture's strategy named after the symbol,
    else "probe"; BUY; half the tighter of the trade and symbol caps; stop at the posture's
    default distance; take-profit at 2R) and asks engine.would_emit. Prints one JSON object per
    symbol (JSON Lines) with symbol, would_emit, reasons, max_concurrent_positions and
    max_notional_allowed.
    """
    from riskguard.cli.inputs import resolve_posture
    from riskguard.cli.state import empty_state, load_state
    from riskguard.engine.engine import RiskEngine

    with output.bad_input_exits():
        chosen = resolve_posture(preset_name, posture)
        snapshot = load_state(state) if state is not None else empty_state()
        if nav is not None:
            try:
                snapshot = snapshot.with_nav(nav)
            except InputValidationError as exc:
                raise InputFileError("--nav", str(exc)) from None
        order_side = parse_side("--side", side)
        for name, value in (("--leverage", leverage), ("--rr", reward_risk)):
            v.positive(name, value)
        v.fraction("--confidence", confidence)
        if notional is not None:
            v.positive("--notional", notional)
        if stop_pct is not None and not 0.0 < v.finite("--stop-pct", stop_pct) < 1.0:
            raise InputValidationError("--stop-pct", "must be within (0, 1)", stop_pct)
        engine = RiskEngine(chosen, clock=lambda: snapshot.now_ms)
        snapshot.apply(engine)
        chosen_symbols = parse_symbols(symbols, engine.limits)
    rows = probe_rows(engine, snapshot, chosen_symbols, side=order_side, notional=notional, leverage=leverage,
                      confidence=confidence, stop_pct=stop_pct, reward_risk=reward_risk)
    keys = SUMMARY_KEYS + (VERBOSE_KEYS if verbose else ())
    if table and not as_json:
        render_probe(rows, verbose)
    else:
        for row in rows:
            output.echo_json({k: row[k] for k in keys}, indent=None)
    raise typer.Exit(int(ExitCode.OK if any(r["would_emit"] for r in rows) else ExitCode.NEGATIVE))


def render_probe(rows: list[dict[str, Any]], verbose: bool) -> None:
    """The probe as a Rich table (one row per symbol), plus every gate per symbol with ``verbose``."""
    console = output.stdout()
    table = Table(title=f"probe: posture {rows[0]['posture']} config_hash {rows[0]['config_hash']}"
                  if rows else "probe", title_justify="left")
    for name in ("symbol", "strategy", "notional USDT", "would_emit", "reasons", "max_concurrent_positions",
                 "max_notional_allowed USDT", "nav_fresh"):
        table.add_column(name, overflow="fold")
    for row in rows:
        emits = "[bold green]true[/]" if row["would_emit"] else "[bold red]false[/]"
        table.add_row(row["symbol"], row["strategy"], output.usdt(row["notional"]), emits,
                      ", ".join(row["reasons"]) or "-", str(row["max_concurrent_positions"]),
                      output.usdt(row["max_notional_allowed"]), str(row["nav_fresh"]).lower())
    console.print(table)
    if verbose:
        for row in rows:
            console.print(output.checks_table(row["checks"], title=f"{row['symbol']} gates", width=console.width))
