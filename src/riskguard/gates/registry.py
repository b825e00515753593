"""The gates in evaluation order. Every gate runs on every check (no early exit)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from riskguard.gates import order_gates as o
from riskguard.gates import portfolio_gates as p
from riskguard.gates.context import GateContext
from riskguard.model.decision import GateCheck

GateFunction = Callable[[GateContext], GateCheck]


@dataclass(frozen=True, slots=True)
class GateSpec:
    """A registered gate: its reason code, its function, and whether it bounds the size."""

    name: str
    check: GateFunction
    size_bound: bool


GATES: tuple[GateSpec, ...] = (
    GateSpec("invalid_intent", o.invalid_intent, False),
    GateSpec("unknown_symbol", o.unknown_symbol, False),
    GateSpec("symbol_not_allowed", o.symbol_not_allowed, False),
    GateSpec("nav_stale", o.nav_stale, False),
    GateSpec("market_data_stale", o.market_data_stale, False),
    GateSpec("trading_halted", p.trading_halted, False),
    GateSpec("reduce_only_mode", p.reduce_only_mode, False),
    GateSpec("drawdown_halt", p.drawdown_halt, False),
    GateSpec("duplicate_intent", p.duplicate_intent, False),
    GateSpec("below_min_notional", o.below_min_notional, False),
    GateSpec("qty_below_min", o.qty_below_min, False),
    GateSpec("price_outside_band", o.price_outside_band, False),
    GateSpec("trade_gt_max_trade_nav_pct", o.trade_gt_max_trade_nav_pct, True),
    GateSpec("trade_gt_10pct_equity", o.trade_gt_10pct_equity, True),
    GateSpec("symbol_nav_cap_exceeded", o.symbol_nav_cap_exceeded, True),
    GateSpec("leverage_exceeded", o.leverage_exceeded, False),
    GateSpec("exchange_leverage_bracket_exceeded", o.exchange_leverage_bracket_exceeded, False),
    GateSpec("max_loss_exceeded", o.max_loss_exceeded, True),
    GateSpec("gross_exposure_exceeded", p.gross_exposure_exceeded, True),
    GateSpec("correlated_exposure_exceeded", p.correlated_exposure_exceeded, True),
    GateSpec("same_direction_exposure_exceeded", p.same_direction_exposure_exceeded, True),
    GateSpec("total_risk_exceeded", p.total_risk_exceeded, True),
    GateSpec("cvar_limit_exceeded", p.cvar_limit_exceeded, True),
    GateSpec("strategy_concurrency_exceeded", p.strategy_concurrency_exceeded, False),
    GateSpec("global_concurrency_exceeded", p.global_concurrency_exceeded, False),
    GateSpec("cooldown_active", p.cooldown_active, False),
    GateSpec("daily_trade_limit", p.daily_trade_limit, False),
    GateSpec("order_rate_exceeded", p.order_rate_exceeded, False),
    GateSpec("rr_below_min", o.rr_below_min, False),
    GateSpec("confidence_below_min", o.confidence_below_min, False),
    GateSpec("source_credibility_low", o.source_credibility_low, False),
    GateSpec("outside_trading_window", o.outside_trading_window, False),
    GateSpec("spread_too_wide", o.spread_too_wide, False),
    GateSpec("feed_latency_too_high", o.feed_latency_too_high, False),
)

GATE_NAMES: tuple[str, ...] = tuple(g.name for g in GATES)
SIZE_BOUND_GATES: frozenset[str] = frozenset(g.name for g in GATES if g.size_bound)
