"""The gates in evaluation order. Every gate runs on every check (no early exit)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from riskguard.gates import margin_gates as m
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
    GateSpec("margin_insufficient", m.margin_insufficient, True),
    GateSpec("liquidation_too_close", m.liquidation_too_close, True),
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


def evaluate_all(ctx: GateContext) -> list[GateCheck]:
    """Every gate's result for ``ctx``, in :data:`GATES` order (a test holds the two in step).

    Spelled out call by call rather than looping over ``GATES`` so that the compiled build calls
    each gate directly instead of through a Python function object: about 34 calls per decision.
    """
    return [
        o.invalid_intent(ctx),
        o.unknown_symbol(ctx),
        o.symbol_not_allowed(ctx),
        o.nav_stale(ctx),
        o.market_data_stale(ctx),
        p.trading_halted(ctx),
        p.reduce_only_mode(ctx),
        p.drawdown_halt(ctx),
        p.duplicate_intent(ctx),
        o.below_min_notional(ctx),
        o.qty_below_min(ctx),
        o.price_outside_band(ctx),
        o.trade_gt_max_trade_nav_pct(ctx),
        o.trade_gt_10pct_equity(ctx),
        o.symbol_nav_cap_exceeded(ctx),
        o.leverage_exceeded(ctx),
        o.exchange_leverage_bracket_exceeded(ctx),
        m.margin_insufficient(ctx),
        m.liquidation_too_close(ctx),
        o.max_loss_exceeded(ctx),
        p.gross_exposure_exceeded(ctx),
        p.correlated_exposure_exceeded(ctx),
        p.same_direction_exposure_exceeded(ctx),
        p.total_risk_exceeded(ctx),
        p.cvar_limit_exceeded(ctx),
        p.strategy_concurrency_exceeded(ctx),
        p.global_concurrency_exceeded(ctx),
        p.cooldown_active(ctx),
        p.daily_trade_limit(ctx),
        p.order_rate_exceeded(ctx),
        o.rr_below_min(ctx),
        o.confidence_below_min(ctx),
        o.source_credibility_low(ctx),
        o.outside_trading_window(ctx),
        o.spread_too_wide(ctx),
        o.feed_latency_too_high(ctx),
    ]
SIZE_BOUND_GATES: frozenset[str] = frozenset(g.name for g in GATES if g.size_bound)
