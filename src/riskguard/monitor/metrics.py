"""Risk metrics of one account from the ledger and (when connected) the exchange or paper account:
open positions, exposure, drawdown per window, risk consumed, correlation risk, VaR and CVaR,
margin usage and liquidation distance. Each metric carries its unit and the time it was computed.

Positions, stops and reservations come from the ledger (the one source of truth); marks, margin
and liquidation prices from the exchange when it is given, else from the marks passed in (or the
entry price, flagged). VaR / CVaR use the return history the CVaR gate decided with: the return
set of the account's newest stored decision, unless returns are passed in.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from riskguard.config.limits import Limits
from riskguard.config.monitor_schema import AlertsSection
from riskguard.engine.instruments import default_instruments
from riskguard.exchange.errors import ExchangeError
from riskguard.exchange.protocol import Exchange
from riskguard.exchange.types import ExchangePosition
from riskguard.ledger.errors import LedgerNotFound
from riskguard.ledger.ledger import Ledger
from riskguard.math.margin import bracket_for, isolated_liquidation_price, liquidation_distance
from riskguard.math.var import historical_cvar, historical_var
from riskguard.model.enums import PositionSide
from riskguard.model.errors import InputValidationError
from riskguard.model.instrument import InstrumentRules
from riskguard.model.position import Position
from riskguard.monitor.alerts import Alert, AlertSeverity
from riskguard.policy.drawdown import DrawdownMonitor, DrawdownWindow

USDT, FRACTION, COUNT, RATIO = "USDT", "fraction of NAV", "positions", "ratio to limit"
PEAK_FRACTION, MARK_FRACTION = "fraction of the window's NAV peak", "fraction of mark price"
METRIC_ALERTS = ("drawdown_daily", "risk_consumed", "margin_usage", "liquidation:")
"""Key prefixes of the alerts :func:`alerts_for` raises."""
VAR_ALPHA = 0.95
"""Confidence level of the VaR metric (REQUIREMENTS section E: VaR 95 %)."""


@dataclass(frozen=True, slots=True)
class Metric:
    """One metric: ``value`` in ``unit`` (None when it cannot be computed, ``note`` says why),
    computed at ``ts_ms``; ``by_key`` breaks it down (per symbol, per group)."""

    name: str
    value: float | None
    unit: str
    ts_ms: int
    by_key: dict[str, float] = field(default_factory=dict)
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"name": self.name, "value": self.value, "unit": self.unit, "ts_ms": self.ts_ms,
                "by_key": dict(self.by_key), "note": self.note}


@dataclass(frozen=True, slots=True)
class PositionView:
    """One open position as the monitor sees it (USDT, fraction of mark for the distance)."""

    symbol: str
    side: str
    qty: float
    entry_price: float
    mark_price: float
    notional: float
    unrealized_pnl: float
    liquidation_price: float | None
    liquidation_distance: float | None
    source: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {f: getattr(self, f) for f in self.__slots__}


@dataclass(frozen=True, slots=True)
class RiskMetrics:
    """Every metric of one account at ``ts_ms``."""

    account_id: str
    ts_ms: int
    nav: float | None
    trading_state: str
    positions: tuple[PositionView, ...]
    metrics: dict[str, Metric]

    def value(self, name: str) -> float | None:
        """The value of metric ``name``."""
        return self.metrics[name].value

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"account": self.account_id, "ts_ms": self.ts_ms, "nav": self.nav,
                "trading_state": self.trading_state, "positions": [p.to_dict() for p in self.positions],
                "metrics": {name: m.to_dict() for name, m in self.metrics.items()}}


def _drawdowns(ledger: Ledger, nav: float | None, now_ms: int) -> DrawdownMonitor:
    monitor = DrawdownMonitor()
    for mark in ledger.equity_marks():
        if mark.nav is not None and mark.nav > 0 and mark.ts_ms >= monitor.last_ts_ms:
            monitor.update(int(mark.ts_ms), float(mark.nav))
    if nav is not None and nav > 0 and now_ms >= monitor.last_ts_ms:
        monitor.update(now_ms, nav)
    return monitor


def _newest_returns(ledger: Ledger) -> dict[str, list[float]] | None:
    """The return set of the newest decision that had one (the CVaR gate's data)."""
    for record in ledger.decisions(limit=20):
        returns_hash = record.inputs.get("returns")
        if returns_hash is not None:
            try:
                return ledger.return_set(str(returns_hash))
            except LedgerNotFound:
                return None
    return None


def portfolio_pnl(signed_notional: Mapping[str, float], returns: Mapping[str, Sequence[float]],
                  window: int) -> np.ndarray | None:
    """Per-period P&L (USDT) of holding ``signed_notional`` (long > 0) over the newest ``window``
    aligned returns; None when a held symbol has no returns or fewer than 2 periods align."""
    held = {s: n for s, n in signed_notional.items() if n != 0.0}
    if not held or any(s not in returns for s in held):
        return None
    length = min(min(len(returns[s]) for s in held), window)
    if length < 2:
        return None
    pnl = np.zeros(length)
    for symbol, notional in held.items():
        pnl += notional * np.asarray(returns[symbol][-length:], dtype=np.float64)
    return pnl


def _liquidation(position: Position, mark: float, rules: InstrumentRules | None) -> float | None:
    """Isolated liquidation price of a ledger position from the instrument's brackets (no exchange)."""
    if rules is None or not rules.brackets:
        return None
    try:
        bracket = bracket_for(position.qty * mark, rules.brackets)
        return isolated_liquidation_price(PositionSide(position.side), position.qty, position.entry_price,
                                          position.leverage, bracket.maintenance_margin_rate,
                                          bracket.maintenance_amount)
    except InputValidationError:
        return None


def compute_metrics(ledger: Ledger, limits: Limits, *, now_ms: int, exchange: Exchange | None = None,
                    marks: Mapping[str, float] | None = None,
                    returns: Mapping[str, Sequence[float]] | None = None) -> RiskMetrics:
    """Every risk metric of ``ledger``'s account at ``now_ms``. ``marks``: symbol -> mark price
    (USDT) when no exchange is given; ``returns``: symbol -> simple returns (oldest first)."""
    exchange_positions: dict[str, ExchangePosition] = {}
    nav: float | None
    notes: list[str] = []
    account = ledger.account()
    nav = account.nav
    price: dict[str, float] = dict(marks or {})
    if exchange is not None:
        try:
            exchange_positions = {p.symbol: p for p in exchange.positions()}
            nav = exchange.account().nav
            price.update({s: p.mark_price for s, p in exchange_positions.items()})
        except ExchangeError as exc:
            notes.append(f"exchange unreadable: {exc}")
    positions = ledger.positions()
    for p in positions:
        if p.symbol not in price and exchange is not None:
            with contextlib.suppress(ExchangeError):  # unmarked: valued at entry below, and flagged
                price[p.symbol] = exchange.mark_price(p.symbol).mark_price
    unmarked = sorted({p.symbol for p in positions if p.symbol not in price})
    for p in positions:
        price.setdefault(p.symbol, p.entry_price)
    with ledger.reading() as conn:
        state = ledger.load_state(conn, limits, now_ms, account)
    book = state.build_book(limits, price)

    def metric(name: str, value: float | None, unit: str, by_key: Mapping[str, float] | None = None,
               note: str | None = None) -> Metric:
        return Metric(name, value, unit, now_ms, dict(by_key or {}), note)

    rules = default_instruments()
    views = []
    for p in positions:
        mark = price[p.symbol]
        on_exchange = exchange_positions.get(p.symbol)
        sign = 1.0 if PositionSide(p.side) is PositionSide.LONG else -1.0
        if on_exchange is not None:
            liq: float | None = on_exchange.liquidation_price
            source = "exchange"
        else:
            liq = _liquidation(p, mark, rules.get(p.symbol))
            source = "ledger" if p.symbol not in unmarked else "ledger (entry price, no mark)"
        distance = None if liq is None else liquidation_distance(PositionSide(p.side), mark, liq)
        views.append(PositionView(p.symbol, PositionSide(p.side).value, p.qty, p.entry_price, mark, p.qty * mark,
                                  sign * (mark - p.entry_price) * p.qty, liq, distance, source))
    per_symbol = {s: book.symbol_gross(s) for s in sorted(book.symbols) if book.symbol_gross(s) > 0}
    no_nav = "no NAV mark in the ledger" if nav is None else None
    metrics = [metric("open_positions", float(len(positions)), COUNT),
               metric("exposure_total", book.gross_notional, USDT, per_symbol,
                      "unmarked: " + ", ".join(unmarked) if unmarked else None),
               metric("exposure_nav", None if nav is None else book.gross_notional / nav, FRACTION,
                      {s: v / nav for s, v in per_symbol.items()} if nav else None, no_nav)]
    drawdowns = _drawdowns(ledger, nav, now_ms)
    for window in DrawdownWindow:
        metrics.append(metric(f"drawdown_{window.value}",
                              drawdowns.drawdown_pct(window) if drawdowns.has_marks else None, PEAK_FRACTION,
                              note=None if drawdowns.has_marks else "no NAV marks"))
    risk_limit = None if nav is None else limits.max_total_risk_nav_pct * nav
    metrics.append(metric("risk_at_stops", book.total_risk_usdt, USDT))
    metrics.append(metric("risk_consumed", None if not risk_limit else book.total_risk_usdt / risk_limit, RATIO,
                          note=no_nav))
    groups = {g: book.group_gross(g) / (cap * nav) for g, cap in sorted(limits.group_caps.items())} if nav else {}
    metrics.append(metric("correlation_risk", max(groups.values(), default=0.0) if nav else None, RATIO, groups,
                          no_nav))
    signed: dict[str, float] = {}
    for p in positions:
        signed[p.symbol] = signed.get(p.symbol, 0.0) + (1.0 if PositionSide(p.side) is PositionSide.LONG else -1.0) \
            * p.qty * price[p.symbol]
    history = returns if returns is not None else _newest_returns(ledger)
    pnl = None if history is None else portfolio_pnl(signed, history, limits.cvar_window)
    var_note = None
    if pnl is None:
        var_note = "no open positions" if not signed else "no return history for every held symbol"
    var = None if pnl is None else max(0.0, historical_var(pnl, VAR_ALPHA))
    cvar = None if pnl is None else max(0.0, historical_cvar(pnl, limits.cvar_alpha))
    if not signed:
        var = cvar = 0.0
    metrics.append(metric("var_95", var, USDT, note=var_note))
    metrics.append(metric("cvar", cvar, USDT, note=var_note))
    metrics.append(metric("var_95_nav", None if var is None or not nav else var / nav, FRACTION, note=var_note))
    if exchange_positions:
        margin = sum(p.margin for p in exchange_positions.values())
    else:
        margin = sum(p.qty * price[p.symbol] / p.leverage for p in positions)
    metrics.append(metric("margin_usage", None if not nav else margin / nav, FRACTION, note=no_nav))
    distances = {v.symbol: v.liquidation_distance for v in views if v.liquidation_distance is not None}
    metrics.append(metric("liquidation_distance_min", min(distances.values(), default=None), MARK_FRACTION, distances,
                          None if distances or not positions else "no liquidation price known"))
    if notes:
        metrics.append(metric("exchange_status", 0.0, "ok=1", note="; ".join(notes)))
    return RiskMetrics(ledger.account_id, now_ms, nav, account.trading_state.value, tuple(views),
                       {m.name: m for m in metrics})


def alerts_for(metrics: RiskMetrics, section: AlertsSection) -> list[Alert]:
    """The alert conditions that hold now (REQUIREMENTS E: drawdown > 2.5 % warning, risk consumed
    > 0.8 warning, liquidation distance < 0.1 critical; margin usage above its threshold)."""
    now = metrics.ts_ms
    alerts = []
    daily = metrics.value("drawdown_daily")
    if daily is not None and daily > section.drawdown_warning_pct:
        alerts.append(Alert("drawdown_daily", AlertSeverity.WARNING,
                            f"daily drawdown {daily:.2%} above {section.drawdown_warning_pct:.2%}", daily,
                            section.drawdown_warning_pct, now))
    consumed = metrics.value("risk_consumed")
    if consumed is not None and consumed > section.risk_consumed_warning:
        alerts.append(Alert("risk_consumed", AlertSeverity.WARNING,
                            f"risk consumed {consumed:.2f} of the total-risk limit, above "
                            f"{section.risk_consumed_warning:.2f}", consumed, section.risk_consumed_warning, now))
    margin = metrics.value("margin_usage")
    if margin is not None and margin > section.margin_usage_warning:
        alerts.append(Alert("margin_usage", AlertSeverity.WARNING,
                            f"margin usage {margin:.2%} of NAV above {section.margin_usage_warning:.2%}", margin,
                            section.margin_usage_warning, now))
    for symbol, distance in sorted(metrics.metrics["liquidation_distance_min"].by_key.items()):
        if distance < section.liquidation_distance_critical:
            alerts.append(Alert(f"liquidation:{symbol}", AlertSeverity.CRITICAL,
                                f"{symbol} is {distance:.2%} from its liquidation price (critical below "
                                f"{section.liquidation_distance_critical:.0%})", distance,
                                section.liquidation_distance_critical, now))
    return alerts
