"""Replay reports: a deterministic JSON document, Rich tables for the terminal, and a self-contained
offline HTML page with its plots (equity, drawdown, exposure, vetoes by reason over time) inline as
SVG and also written as SVG files. A run on synthetic data says so in every one of them."""

from __future__ import annotations

import html
import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from riskguard.model.codec import encode_pretty
from riskguard.replay.metrics import DAY_MS, Summary, drawdown_curve, pyramiding_summary, summarize
from riskguard.replay.runner import ReplayResult

FLOAT_DIGITS = 6
"""Decimals kept for every float of the JSON report (byte-identical reruns need one fixed rounding)."""
SYNTHETIC_BANNER = "SYNTHETIC DATA: seeded simulation, not market data; results say nothing about real markets."
WEEK_MS = 7 * DAY_MS


def rounded(value: Any) -> Any:
    """``value`` with floats rounded to FLOAT_DIGITS, NaN/inf as None, tuples as lists, numpy as Python."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float | np.floating):
        number = float(value)
        return round(number, FLOAT_DIGITS) + 0.0 if math.isfinite(number) else None
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, dict):
        return {str(k): rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(v) for v in value]
    raise TypeError(f"cannot put {type(value).__name__} in a report")


def _daily_equity(result: ReplayResult) -> list[list[float]]:
    days = result.timeline_ms // DAY_MS
    if days.size == 0:
        return []
    last = np.flatnonzero(np.append(np.diff(days) != 0, True))
    return [[int(days[i] * DAY_MS), float(result.equity[i])] for i in last]


VETO_REASONS_TITLE = "veto reasons (a veto counts once per reason)"
"""Title of the count of veto reasons: a decision vetoed for three reasons counts three times."""


def vetoes_by_week(result: ReplayResult) -> dict[str, dict[int, int]]:
    """Veto reasons counted per week (key: week start, epoch ms, weeks counted from the epoch)."""
    out: dict[str, Counter[int]] = {}
    for d in result.decisions:
        if d.approved:
            continue
        week = d.ts_ms // WEEK_MS * WEEK_MS
        for reason in d.reasons:
            out.setdefault(reason, Counter())[week] += 1
    return {reason: dict(sorted(c.items())) for reason, c in sorted(out.items())}


def report_data(result: ReplayResult, summary: Summary | None = None) -> dict[str, Any]:
    """The JSON report as a dict (rounded; no wall-clock times, no random ids)."""
    s = summary or summarize(result)
    market = result.market
    options = result.options
    data: dict[str, Any] = {
        "report": "riskguard replay",
        "synthetic": market.synthetic,
        "data": market.description,
        "posture": result.posture_name,
        "config_hash": result.config_hash,
        "strategies": list(result.strategies),
        "options": {"nav": options.nav, "taker_bps": options.fees.taker_bps, "maker_bps": options.fees.maker_bps,
                    "spread_bps": options.spread_bps, "ledger": result.ledger_in_loop,
                    "atr_period": options.atr_period},
        "period": {"start_ms": int(min(int(x.bars.time_ms[0]) for x in market.series)),
                   "end_ms": int(result.timeline_ms[-1]) if result.timeline_ms.size else None,
                   "symbols": list(market.symbols), "bars": market.bar_count},
        "summary": s.to_dict(),
        "ledger_realized_pnl_usdt": result.ledger_realized_usdt,
        "daily_equity": _daily_equity(result),
        "vetoes_by_week": {k: [[w, n] for w, n in v.items()] for k, v in vetoes_by_week(result).items()},
        "trades": [{"symbol": t.symbol, "strategy": t.strategy, "side": t.side, "entry_ts_ms": t.entry_ts_ms,
                    "entry_price": t.entry_price, "qty": t.qty, "stop_price": t.stop_price,
                    "exit_ts_ms": t.exit_ts_ms, "exit_price": t.exit_price, "exit_kind": t.exit_kind,
                    "gross_usdt": t.gross_usdt, "fees_usdt": t.fees_usdt, "funding_usdt": t.funding_usdt,
                    "net_usdt": t.net_usdt, "net_r": t.net_r} for t in result.trades],
    }
    if options.pyramid or options.dynamic_stops:
        _add_pyramiding(data, result)
    if market.synthetic:
        data["warning"] = SYNTHETIC_BANNER
    out: dict[str, Any] = rounded(data)
    return out


def _add_pyramiding(data: dict[str, Any], result: ReplayResult) -> None:
    """The adds and stop moves of a run with them on (absent otherwise, so that a run without them
    keeps its report byte for byte): the options, the summary, and per trade its add requests and
    stop path."""
    data["options"]["pyramid"] = result.options.pyramid
    data["options"]["dynamic_stops"] = result.options.dynamic_stops
    data["pyramiding"] = pyramiding_summary(result)
    for row, trade in zip(data["trades"], result.trades, strict=True):
        row["adds"] = [{"ts_ms": a.ts_ms, "trigger": a.trigger, "approved": a.approved, "resized": a.resized,
                        "reasons": list(a.reasons), "qty": a.qty, "price": a.price, "fill_ts_ms": a.fill_ts_ms,
                        "r_at_add": a.r_at_add, "stop_price": a.stop_price, "nav": a.nav, "risk_usdt": a.risk_usdt}
                       for a in trade.adds]
        row["stop_path"] = [{"ts_ms": m.ts_ms, "old_stop": m.old_stop, "new_stop": m.new_stop, "reason": m.reason}
                            for m in trade.stop_path]


def report_json(result: ReplayResult, summary: Summary | None = None) -> str:
    """The JSON report as text: sorted keys, fixed rounding, byte-identical for identical inputs."""
    return encode_pretty(report_data(result, summary), sort_keys=True) + "\n"


# -- terminal -------------------------------------------------------------------------------------
def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.2f} %"


def print_summary(result: ReplayResult, summary: Summary, console: Any) -> None:
    """Rich tables: headline numbers, vetoes by reason, resizes by binding gate."""
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    if result.market.synthetic:
        console.print(f"[bold yellow]{SYNTHETIC_BANNER}[/]")
    console.print(f"[bold]riskguard replay[/]  posture [bold]{escape(result.posture_name)}[/] config_hash "
                  f"{result.config_hash}  strategies {', '.join(result.strategies)}  "
                  f"ledger {'on' if result.ledger_in_loop else 'off'}")
    console.print(result.market.description, markup=False)
    head = Table(title="summary", title_justify="left")
    head.add_column("metric")
    head.add_column("value", justify="right")
    rows = [
        ("NAV start -> end (USDT)", f"{summary.start_nav:,.2f} -> {summary.end_nav:,.2f}"),
        ("return", _pct(summary.total_return)),
        ("max drawdown", _pct(summary.max_drawdown)),
        ("Sharpe (daily, annualised)", f"{summary.sharpe:.2f}"),
        ("trades", str(summary.trades)),
        ("win rate", _pct(summary.win_rate)),
        ("average R (net)", "-" if summary.average_r is None else f"{summary.average_r:.3f}"),
        ("fees / funding (USDT)", f"{summary.fees_usdt:,.2f} / {summary.funding_usdt:,.2f}"),
        ("signals / decided", f"{summary.signals} / {summary.decisions}"),
        ("approved / vetoed / resized", f"{summary.approved} / {summary.vetoed} / {summary.resized}"),
        ("pass rate", _pct(summary.pass_rate)),
        ("max gross exposure (x NAV)", f"{summary.max_exposure_nav:.2f}"),
        ("gate binding most often", summary.binding_gate or "-"),
    ]
    for key, value in rows:
        head.add_row(key, value)
    console.print(head)
    for title, counts in ((VETO_REASONS_TITLE, summary.vetoes_by_reason),
                          ("resizes by binding gate", summary.resizes_by_gate),
                          ("signals not decided", summary.skipped)):
        if not counts:
            continue
        table = Table(title=title, title_justify="left")
        table.add_column("name")
        table.add_column("count", justify="right")
        for name, count in counts.items():
            table.add_row(Text(name), str(count))
        console.print(table)


# -- plots and HTML -------------------------------------------------------------------------------
PLOT_NAMES = ("equity", "drawdown", "exposure", "vetoes")
"""The report's plots, each inline in report.html and written as ``<name>.svg``."""


def _figures(result: ReplayResult) -> dict[str, str]:
    from riskguard.replay.charts import COLORS, line_chart, stacked_bar_chart

    times = result.timeline_ms.astype(np.int64)
    equity = result.equity
    tag = " (SYNTHETIC DATA)" if result.market.synthetic else ""
    exposure = np.divide(result.exposure, equity, out=np.zeros_like(equity), where=equity > 0.0)
    posture = f", posture {result.posture_name}{tag}"
    return {
        "equity": line_chart(times, equity, f"equity (USDT){posture}", COLORS["blue"]),
        "drawdown": line_chart(times, -drawdown_curve(equity) * 100.0, f"drawdown (%){posture}", COLORS["red"],
                               filled=True),
        "exposure": line_chart(times, exposure, f"gross exposure (x NAV){posture}", COLORS["green"]),
        "vetoes": stacked_bar_chart(vetoes_by_week(result), WEEK_MS,
                                    f"veto reasons per week (a veto counts once for each of its reasons){tag}",
                                    "reasons counted"),
    }


TRADE_PLOTS = 8
"""Trades plotted with their stop path and adds in report.html (most adds first, then most moves)."""
_TRADE_MARGIN_BARS = 5


def _trade_figures(result: ReplayResult) -> list[str]:
    """Plots of the trades with the most adds and stop moves: price, stop path (step line), adds."""
    from riskguard.replay.charts import trade_chart

    shown = [t for t in result.trades if t.stop_path or any(a.approved for a in t.adds)]
    shown.sort(key=lambda t: (-sum(1 for a in t.adds if a.approved), -len(t.stop_path), t.entry_ts_ms, t.symbol))
    by_symbol = {s.symbol: s for s in result.market.series}
    figures = []
    for trade in sorted(shown[:TRADE_PLOTS], key=lambda t: (t.entry_ts_ms, t.symbol, t.strategy)):
        series = by_symbol[trade.symbol]
        closes_ms = series.close_times_ms
        first = int(np.searchsorted(series.bars.time_ms, trade.entry_ts_ms, side="left"))
        last = int(np.searchsorted(closes_ms, trade.exit_ts_ms, side="left"))
        lo, hi = max(0, first - _TRADE_MARGIN_BARS), min(len(closes_ms), last + _TRADE_MARGIN_BARS + 1)
        steps = [(trade.entry_ts_ms, trade.stop_price)] + [(m.ts_ms, m.new_stop) for m in trade.stop_path]
        adds = [(a.fill_ts_ms, a.price) for a in trade.adds if a.approved and a.fill_ts_ms is not None
                and a.price is not None]
        day = np.datetime64(trade.entry_ts_ms, "ms").astype("datetime64[m]")
        title = (f"{trade.symbol} {trade.strategy} {trade.side} from {day}: {len(adds)} adds, "
                 f"{len(trade.stop_path)} stop moves, {trade.net_r:+.2f} R")
        figures.append(trade_chart(closes_ms[lo:hi], series.bars.close[lo:hi], steps, trade.exit_ts_ms, adds, title))
    return figures


def _pyramiding_html(result: ReplayResult) -> str:
    if not (result.options.pyramid or result.options.dynamic_stops):
        return ""
    p = pyramiding_summary(result)
    counts = {k: v for k, v in p.items() if isinstance(v, int)}
    plots = "".join(f'<figure class="trade" id="trade-{n}">{svg}</figure>'
                    for n, svg in enumerate(_trade_figures(result)))
    return (_table_html("adds and stop moves", counts)
            + _table_html("add vetoes by reason", p["add_vetoes_by_reason"])
            + _table_html("stop moves by reason", p["stop_moves_by_reason"])
            + (f"<h2>trades: price, stop path (red step line), adds (green)</h2>{plots}" if plots else ""))


def _table_html(title: str, counts: dict[str, int]) -> str:
    if not counts:
        return ""
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td class=n>{v}</td></tr>" for k, v in counts.items())
    return f"<h2>{html.escape(title)}</h2><table><tr><th>name</th><th>count</th></tr>{rows}</table>"


def write_report(result: ReplayResult, out_dir: Path, summary: Summary | None = None) -> dict[str, Path]:
    """Write ``report.json``, ``report.html`` (offline: plots inline as SVG) and one SVG file per
    plot into ``out_dir``; returns the paths by name."""
    s = summary or summarize(result)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    json_path = out_dir / "report.json"
    json_path.write_text(report_json(result, s), encoding="utf-8")
    paths["json"] = json_path
    figures = _figures(result)
    for name, svg in figures.items():
        path = out_dir / f"{name}.svg"
        path.write_text(svg, encoding="utf-8")
        paths[name] = path
    banner = (f'<p class="synthetic">{html.escape(SYNTHETIC_BANNER)}</p>' if result.market.synthetic else "")
    headline = {
        "return": _pct(s.total_return), "max drawdown": _pct(s.max_drawdown), "Sharpe": f"{s.sharpe:.2f}",
        "trades": str(s.trades), "win rate": _pct(s.win_rate), "pass rate": _pct(s.pass_rate),
        "approved / vetoed / resized": f"{s.approved} / {s.vetoed} / {s.resized}",
        "NAV start -> end (USDT)": f"{s.start_nav:,.2f} -> {s.end_nav:,.2f}",
        "gate binding most often": s.binding_gate or "-",
    }
    head_rows = "".join(f"<tr><td>{html.escape(k)}</td><td class=n>{html.escape(v)}</td></tr>"
                        for k, v in headline.items())
    images = "".join(f'<h2>{name}</h2><figure id="{name}">{svg}</figure>' for name, svg in figures.items())
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>riskguard replay: {html.escape(result.posture_name)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;color:#222}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:3px 8px}}.n{{text-align:right}}
.synthetic{{background:#fff3cd;border:2px solid #e0a800;padding:8px;font-weight:bold}}
figure{{margin:0}}svg{{max-width:100%;height:auto}}</style>
</head><body>
<h1>riskguard replay: posture {html.escape(result.posture_name)}</h1>
{banner}
<p>{html.escape(result.market.description)}<br>config_hash {html.escape(result.config_hash)};
strategies {html.escape(", ".join(result.strategies))}; ledger {"on" if result.ledger_in_loop else "off"}</p>
<table>{head_rows}</table>
{_table_html(VETO_REASONS_TITLE, s.vetoes_by_reason)}
{_table_html("resizes by binding gate", s.resizes_by_gate)}
{_table_html("signals not decided", s.skipped)}
{images}{_pyramiding_html(result)}
</body></html>
"""
    html_path = out_dir / "report.html"
    html_path.write_text(page, encoding="utf-8")
    paths["html"] = html_path
    return paths
