"""The risk budget at a glance: every cap's use against its limit, open positions, pending
reservations, NAV and drawdown, computed from the ledger's state. The dashboard and the Prometheus
gauges both read it, so they can never disagree."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from riskguard.book.book import DAY_MS, Book
from riskguard.config.limits import Limits
from riskguard.ledger.rows import AccountRow
from riskguard.ledger.state import BookState


@dataclass(frozen=True, slots=True)
class CapUse:
    """One cap: ``used`` against ``limit`` in ``unit`` (``positions``, ``trades`` or ``USDT``);
    ``utilisation`` is used / limit (0 when the limit is 0 and nothing is used, inf past a zero limit)."""

    cap: str
    scope: str
    used: float
    limit: float
    unit: str

    @property
    def utilisation(self) -> float:
        """used / limit as a fraction (1.0 = the cap is full)."""
        if self.limit > 0.0:
            return self.used / self.limit
        return 0.0 if self.used <= 0.0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (utilisation included; inf as None)."""
        utilisation = self.utilisation
        return {"cap": self.cap, "scope": self.scope, "used": self.used, "limit": self.limit, "unit": self.unit,
                "utilisation": utilisation if utilisation != float("inf") else None}


def cap_uses(book: Book, limits: Limits, nav: float | None, now_ms: int) -> list[CapUse]:
    """Every cap of the posture against ``book``: concurrency (global, per strategy), per-symbol
    NAV share, gross, same direction, correlated groups, total risk at the stop, daily trades.
    NAV-based limits are in USDT at ``nav`` (0 when NAV is unknown: the gates then veto anyway)."""
    usdt = nav if nav is not None and nav > 0.0 else 0.0
    caps = [CapUse("global_concurrency", "all", float(book.open_count), float(limits.max_open_positions),
                   "positions")]
    for strategy in sorted(set(book.strategy_open) | set(limits.strategies)):
        caps.append(CapUse("strategy_concurrency", strategy, float(book.strategy_open.get(strategy, 0)),
                           float(limits.strategy(strategy).max_concurrent_positions), "positions"))
    for symbol in sorted({s for s in book.symbols if book.symbol_gross(s) > 0.0} | set(limits.symbols)):
        caps.append(CapUse("symbol_nav", symbol, book.symbol_gross(symbol),
                           limits.symbol(symbol).max_nav_pct * usdt, "USDT"))
    caps.append(CapUse("gross_exposure", "all", book.gross_notional, limits.max_gross_nav_multiple * usdt, "USDT"))
    for side, long in (("long", True), ("short", False)):
        caps.append(CapUse("same_direction", side, book.direction_notional(long),
                           limits.max_same_direction_nav_pct * usdt, "USDT"))
    for group in sorted(limits.group_caps):
        caps.append(CapUse("correlated_group", group, book.group_gross(group), limits.group_caps[group] * usdt,
                           "USDT"))
    caps.append(CapUse("total_risk", "all", max(0.0, book.total_risk_usdt), limits.max_total_risk_nav_pct * usdt,
                       "USDT"))
    trades = book.trades_today if now_ms // DAY_MS == book.trade_day else 0
    caps.append(CapUse("daily_trades", "all", float(trades), float(limits.max_trades_per_day), "trades"))
    return caps


def drawdown_from_peak(navs: list[float]) -> float:
    """Drawdown of the last NAV from the highest before it (fraction, 0 when at the peak or empty)."""
    if not navs:
        return 0.0
    peak = max(navs)
    return (peak - navs[-1]) / peak if peak > 0.0 else 0.0


def daily_drawdown(account: AccountRow) -> float:
    """Drawdown from the UTC day's NAV high (fraction; 0 without a NAV mark)."""
    if account.nav is None or not account.day_high_nav:
        return 0.0
    return max(0.0, (account.day_high_nav - account.nav) / account.day_high_nav)


def budget_snapshot(state: BookState, limits: Limits, account: AccountRow, marks: dict[str, float],
                    navs: list[tuple[int, float]], now_ms: int) -> dict[str, Any]:
    """The dashboard's (and the gauges') whole view at ``now_ms``: account and trading state with who
    changed it and why, every cap, positions with their notional at the mark (USDT), pending
    reservations, NAV history (``navs``: (ts ms, NAV USDT), oldest first) with drawdowns."""
    book = state.build_book(limits, marks)
    caps = cap_uses(book, limits, account.nav, now_ms)
    positions = []
    for position in state.positions:
        mark = marks.get(position.symbol, position.entry_price)
        legs = position.legs_or_opening(limits.default_stop_distance_pct)
        profit = (mark - position.entry_price) * (1.0 if position.is_long else -1.0) * position.qty
        positions.append({**position.to_dict(), "mark_price": mark, "notional": position.qty * mark,
                          "adds": legs.adds, "max_adds": limits.strategy(position.strategy).pyramid.max_adds,
                          "r_unit": legs.r_unit, "profit_r": profit / legs.initial_risk_usdt})
    reservations = [{"reservation_id": r.reservation_id, "intent_id": r.intent_id, "strategy": r.strategy,
                     "symbol": r.symbol, "side": str(r.side), "notional": r.notional, "risk_usdt": r.risk_usdt,
                     "expires_ms": r.expires_ms} for r in state.reservations]
    return {
        "ts_ms": now_ms,
        "posture": {"name": limits.name, "config_hash": limits.config_hash},
        "account": {"account_id": account.account_id, "mode": account.mode, "version": account.version,
                    "nav": account.nav, "nav_ts_ms": account.nav_ts_ms,
                    "available_balance": account.available_balance, "realized_pnl": account.realized_pnl,
                    "trading_state": account.trading_state.value, "state_reason": account.state_reason,
                    "state_actor": account.state_actor, "state_ts_ms": account.state_ts_ms},
        "open_positions": book.open_count,
        "pending_reservations": len(state.reservations),
        "gross_exposure_usdt": book.gross_notional,
        "daily_drawdown": daily_drawdown(account),
        "drawdown_from_peak": drawdown_from_peak([nav for _, nav in navs]),
        "caps": [cap.to_dict() for cap in caps],
        "positions": positions,
        "reservations": reservations,
        "nav_history": [{"ts_ms": ts, "nav": nav} for ts, nav in navs],
    }
