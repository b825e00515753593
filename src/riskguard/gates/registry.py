"""Every gate's spec, in evaluation order, and the one evaluation of them.

Every gate runs on every check (no early exit), so that a vetoed decision lists all its reasons.
Gates marked ``exempt_when_reducing`` limit new risk or need data only new risk needs (a fresh NAV,
a fresh quote, a spread): an order that only reduces an open position passes them whatever they
observe, so that exits are never blocked by the caps or by stale or missing data.
"""

from __future__ import annotations

from itertools import repeat
from operator import call

from riskguard.gates import margin_gates as m
from riskguard.gates import order_gates as o
from riskguard.gates import portfolio_gates as p
from riskguard.gates import pyramid_gates as y
from riskguard.gates.context import GateContext
from riskguard.gates.result import exempted
from riskguard.gates.spec import GateSpec
from riskguard.model.decision import GateCheck
from riskguard.model.enums import Severity

_SOFT = Severity.SOFT


def _pyramid(field: str) -> tuple[str, str]:
    """A pyramiding setting: the account's, and each strategy's own."""
    return (f"exits.pyramiding.{field}", f"strategies.*.pyramiding.{field}")


GATES: tuple[GateSpec, ...] = (
    GateSpec("invalid_intent", o.invalid_intent),
    GateSpec("unknown_symbol", o.unknown_symbol),
    GateSpec("symbol_not_allowed", o.symbol_not_allowed, ("allowed_symbols", "policy.flags.use_for_signal_filter"),
             exempt_when_reducing=True),
    GateSpec("nav_stale", o.nav_stale, ("account.nav_max_age_s",), exempt_when_reducing=True),
    GateSpec("market_data_stale", o.market_data_stale, ("account.market_max_age_s",), exempt_when_reducing=True),
    GateSpec("trading_halted", p.trading_halted, ("policy.flags.use_for_trading_gate",), exempt_when_reducing=True),
    GateSpec("reduce_only_mode", p.reduce_only_mode, exempt_when_reducing=True),
    GateSpec("drawdown_halt", p.drawdown_halt, ("portfolio.daily_drawdown_halt_pct",), exempt_when_reducing=True),
    GateSpec("duplicate_intent", p.duplicate_intent),
    GateSpec("below_min_notional", o.below_min_notional, ("trade.min_notional_usdt",), exempt_when_reducing=True),
    GateSpec("qty_below_min", o.qty_below_min),
    GateSpec("price_outside_band", o.price_outside_band, ("trade.max_price_deviation_pct",), may_be_soft=True),
    GateSpec("trade_gt_max_trade_nav_pct", o.trade_gt_max_trade_nav_pct, ("trade.max_trade_nav_pct",),
             size_bound=True, exempt_when_reducing=True),
    GateSpec("trade_gt_10pct_equity", o.trade_gt_10pct_equity,
             ("trade.equity_clamp_nav_pct", "trade.equity_clamp_basis"),
             size_bound=True, exempt_when_reducing=True),
    GateSpec("symbol_nav_cap_exceeded", o.symbol_nav_cap_exceeded, ("symbols.*.max_nav_pct",),
             size_bound=True, exempt_when_reducing=True),
    GateSpec("leverage_exceeded", o.leverage_exceeded, ("symbols.*.max_leverage",), exempt_when_reducing=True),
    GateSpec("exchange_leverage_bracket_exceeded", o.exchange_leverage_bracket_exceeded, exempt_when_reducing=True),
    GateSpec("margin_insufficient", m.margin_insufficient, ("account.unknown_margin_blocks",),
             size_bound=True, exempt_when_reducing=True),
    GateSpec("liquidation_too_close", m.liquidation_too_close,
             ("trade.liquidation_buffer_pct", "trade.default_stop_distance_pct"),
             size_bound=True, exempt_when_reducing=True),
    GateSpec("max_loss_exceeded", o.max_loss_exceeded, ("trade.max_loss_nav_pct", "trade.default_stop_distance_pct"),
             size_bound=True, exempt_when_reducing=True),
    GateSpec("gross_exposure_exceeded", p.gross_exposure_exceeded, ("portfolio.max_gross_nav_multiple",),
             size_bound=True, exempt_when_reducing=True),
    GateSpec("correlated_exposure_exceeded", p.correlated_exposure_exceeded,
             ("portfolio.correlation_groups.*.max_nav_pct",), size_bound=True, exempt_when_reducing=True),
    GateSpec("same_direction_exposure_exceeded", p.same_direction_exposure_exceeded,
             ("portfolio.max_same_direction_nav_pct",), size_bound=True, exempt_when_reducing=True),
    GateSpec("total_risk_exceeded", p.total_risk_exceeded, ("portfolio.max_total_risk_nav_pct",),
             size_bound=True, exempt_when_reducing=True),
    GateSpec("cvar_limit_exceeded", p.cvar_limit_exceeded, ("portfolio.max_cvar_nav_pct", "portfolio.cvar_alpha",
                                                             "portfolio.cvar_window", "portfolio.cvar_min_history"),
             size_bound=True, exempt_when_reducing=True),
    GateSpec("pyramid_add_limit", y.pyramid_add_limit, _pyramid("max_adds"), exempt_when_reducing=True),
    GateSpec("pyramid_not_in_profit", y.pyramid_not_in_profit, _pyramid("min_profit_r"), exempt_when_reducing=True),
    GateSpec("pyramid_add_too_close", y.pyramid_add_too_close, _pyramid("min_add_distance_r"),
             exempt_when_reducing=True),
    GateSpec("pyramid_add_too_soon", y.pyramid_add_too_soon, _pyramid("min_add_interval_s"),
             exempt_when_reducing=True),
    GateSpec("pyramid_paused", y.pyramid_paused, _pyramid("pause_when_size_reduced"), exempt_when_reducing=True),
    GateSpec("pyramid_stop_loosened", y.pyramid_stop_loosened, exempt_when_reducing=True),
    GateSpec("pyramid_size_exceeded", y.pyramid_size_exceeded, _pyramid("size_ratio"), size_bound=True,
             exempt_when_reducing=True),
    GateSpec("pyramid_risk_exceeded", y.pyramid_risk_exceeded,
             (*_pyramid("max_combined_risk_r"), "trade.max_loss_nav_pct", "trade.default_stop_distance_pct"),
             size_bound=True, exempt_when_reducing=True),
    GateSpec("strategy_concurrency_exceeded", p.strategy_concurrency_exceeded,
             ("strategies.*.max_concurrent_positions",)),
    GateSpec("global_concurrency_exceeded", p.global_concurrency_exceeded,
             ("portfolio.max_open_positions", "portfolio.max_open_positions_high_confidence",
              "portfolio.high_confidence_threshold", "policy.flags.use_for_position_limits")),
    GateSpec("cooldown_active", p.cooldown_active, ("strategies.*.cooldown_flat_s", "strategies.*.cooldown_open_s"),
             exempt_when_reducing=True, may_be_soft=True),
    GateSpec("daily_trade_limit", p.daily_trade_limit, ("portfolio.max_trades_per_day",), exempt_when_reducing=True),
    GateSpec("order_rate_exceeded", p.order_rate_exceeded,
             ("portfolio.max_orders_per_window", "portfolio.order_rate_window_s"), exempt_when_reducing=True),
    GateSpec("rr_below_min", o.rr_below_min, ("trade.min_reward_risk",), exempt_when_reducing=True,
             severity=_SOFT, may_be_soft=True),
    GateSpec("confidence_below_min", o.confidence_below_min,
             ("trade.min_confidence", "policy.flags.use_for_confidence_threshold"), exempt_when_reducing=True,
             severity=_SOFT, may_be_soft=True),
    GateSpec("source_credibility_low", o.source_credibility_low,
             ("sources.min_credibility", "sources.unknown_source_credibility"), severity=_SOFT, may_be_soft=True),
    GateSpec("outside_trading_window", o.outside_trading_window,
             ("trading_window.allowed_weekdays", "trading_window.blackout_utc"), exempt_when_reducing=True,
             severity=_SOFT, may_be_soft=True),
    GateSpec("spread_too_wide", o.spread_too_wide, ("trade.max_spread_bps",), exempt_when_reducing=True,
             severity=_SOFT, may_be_soft=True),
    GateSpec("feed_latency_too_high", o.feed_latency_too_high, ("trade.max_feed_latency_ms",),
             exempt_when_reducing=True, severity=_SOFT, may_be_soft=True),
)

GATE_NAMES: tuple[str, ...] = tuple(g.reason for g in GATES)
SIZE_BOUND_GATES: frozenset[str] = frozenset(g.reason for g in GATES if g.size_bound)

_CHECKS = tuple(g.check for g in GATES)
_COUNT = len(_CHECKS)
_EXEMPT_WHEN_REDUCING = tuple(i for i, g in enumerate(GATES) if g.exempt_when_reducing)


def evaluate(ctx: GateContext) -> list[GateCheck]:
    """Every gate's result for ``ctx``, in :data:`GATES` order; for a reducing order the gates that
    exempt it pass (their threshold and headroom still reported)."""
    checks = list(map(call, _CHECKS, repeat(ctx, _COUNT)))  # a C loop: ~1 us less than a comprehension
    if ctx.reducing:
        for i in _EXEMPT_WHEN_REDUCING:
            exempted(checks[i])
    return checks


def gate(reason: str) -> GateSpec:
    """The spec of the gate with reason code ``reason`` (KeyError for an unknown one)."""
    return _BY_REASON[reason]


_BY_REASON = {g.reason: g for g in GATES}
