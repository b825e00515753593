"""Portfolio-level gates: concurrency, clocks, counters, exposure and risk caps, account state.

Each gate is ``(ctx) -> GateCheck``, one expression over the shapes of ``gates.result``; whether it
applies to orders reducing an open position is declared in its spec (``gates.registry``).
"""

from __future__ import annotations

from riskguard.book.book import DAY_MS
from riskguard.gates.context import GateContext
from riskguard.gates.result import (
    SIZE_TOLERANCE,
    count_below,
    template,
    unknown,
    verdict,
    within_cap,
)
from riskguard.model.decision import GateCheck
from riskguard.model.enums import Side, TradingState

_T_STRATEGY_CONCURRENCY_EXCEEDED = template("strategy_concurrency_exceeded")
_T_GLOBAL_CONCURRENCY_EXCEEDED = template("global_concurrency_exceeded")
_T_COOLDOWN_ACTIVE = template("cooldown_active")
_T_DAILY_TRADE_LIMIT = template("daily_trade_limit")
_T_ORDER_RATE_EXCEEDED = template("order_rate_exceeded")
_T_DUPLICATE_INTENT = template("duplicate_intent")
_T_GROSS_EXPOSURE_EXCEEDED = template("gross_exposure_exceeded")
_T_CORRELATED_EXPOSURE_EXCEEDED = template("correlated_exposure_exceeded")
_T_SAME_DIRECTION_EXPOSURE_EXCEEDED = template("same_direction_exposure_exceeded")
_T_TOTAL_RISK_EXCEEDED = template("total_risk_exceeded")
_T_DRAWDOWN_HALT = template("drawdown_halt")
_T_TRADING_HALTED = template("trading_halted")
_T_REDUCE_ONLY_MODE = template("reduce_only_mode")
_T_CVAR_LIMIT_EXCEEDED = template("cvar_limit_exceeded")
_NOT_NEW = "does not open a new position"
_POLICY_CAP = "policy cap for the regime (stage use_for_position_limits)"
_POLICY_STOPS_TRADES = "the trading policy allows no new trades (stage use_for_trading_gate)"
_BUY = Side.BUY
_HALTED = TradingState.HALTED
_REDUCING = TradingState.REDUCING


def strategy_concurrency_exceeded(ctx: GateContext) -> GateCheck:
    """A new position only while the strategy holds fewer than its max_concurrent_positions
    (reservations count)."""
    limit = ctx.strategy_limits.max_concurrent_positions
    count = ctx.book.strategy_open.get(ctx.intent.strategy, 0)
    if not ctx.opens_new:
        return verdict(_T_STRATEGY_CONCURRENCY_EXCEEDED, True, count, limit, _NOT_NEW)
    return count_below(_T_STRATEGY_CONCURRENCY_EXCEEDED, count, limit)


def global_concurrency_exceeded(ctx: GateContext) -> GateCheck:
    """A new position only while the account holds fewer than portfolio.max_open_positions (reservations
    count), or portfolio.max_open_positions_high_confidence for signals at or above
    portfolio.high_confidence_threshold; the policy's per-regime cap may lower it (stage 3)."""
    limits, policy, confidence = ctx.limits, ctx.policy, ctx.intent.confidence
    if confidence is not None and confidence >= limits.high_confidence_threshold:
        limit, note = limits.max_open_positions_high_confidence, "high-confidence cap"
    else:
        limit, note = limits.max_open_positions, None
    if policy is not None and policy.max_positions is not None and policy.max_positions < limit:
        limit, note = policy.max_positions, _POLICY_CAP
    count = ctx.book.open_count
    if not ctx.opens_new:
        return verdict(_T_GLOBAL_CONCURRENCY_EXCEEDED, True, count, limit, _NOT_NEW)
    return count_below(_T_GLOBAL_CONCURRENCY_EXCEEDED, count, limit, note)


def cooldown_active(ctx: GateContext) -> GateCheck:
    """Time since the strategy's last entry at least its cooldown (ms): cooldown_open_s while it holds
    positions, cooldown_flat_s while flat."""
    limits, strategy, book = ctx.strategy_limits, ctx.intent.strategy, ctx.book
    holding = book.strategy_positions.get(strategy, 0) > 0
    cooldown = limits.cooldown_open_ms if holding else limits.cooldown_flat_ms
    last = book.last_entry_ms.get(strategy)
    if last is None:
        return verdict(_T_COOLDOWN_ACTIVE, True, None, cooldown, "no previous entry")
    elapsed = ctx.now_ms - last
    return verdict(_T_COOLDOWN_ACTIVE, elapsed >= cooldown, elapsed, cooldown, "positions open" if holding else "flat")


def daily_trade_limit(ctx: GateContext) -> GateCheck:
    """Risk-adding approvals today (UTC) below portfolio.max_trades_per_day."""
    book = ctx.book
    count = book.trades_today if ctx.now_ms // DAY_MS == book.trade_day else 0
    return count_below(_T_DAILY_TRADE_LIMIT, count, ctx.limits.max_trades_per_day)


def order_rate_exceeded(ctx: GateContext) -> GateCheck:
    """Approvals within portfolio.order_rate_window_s below portfolio.max_orders_per_window."""
    limits = ctx.limits
    return count_below(_T_ORDER_RATE_EXCEEDED, ctx.book.orders_since(ctx.now_ms - limits.order_rate_window_ms),
                       limits.max_orders_per_window)


def duplicate_intent(ctx: GateContext) -> GateCheck:
    """An intent id approved before is not approved again."""
    first = ctx.book.seen_intents.get(ctx.intent.intent_id)
    return verdict(_T_DUPLICATE_INTENT, first is None, first, "unique intent_id",
                   None if first is None else f"already approved as decision {first}")


def gross_exposure_exceeded(ctx: GateContext) -> GateCheck:
    """Gross exposure after the trade at most portfolio.max_gross_nav_multiple x NAV."""
    return within_cap(_T_GROSS_EXPOSURE_EXCEEDED, ctx.nav, ctx.notional, ctx.limits.max_gross_nav_multiple,
                      ctx.book.gross_notional)


def correlated_exposure_exceeded(ctx: GateContext) -> GateCheck:
    """Each correlation group's exposure after the trade at most its max_nav_pct x NAV; the tightest
    group is reported."""
    limits = ctx.limits
    groups = limits.symbol_groups.get(ctx.intent.symbol)
    if not groups:
        return verdict(_T_CORRELATED_EXPOSURE_EXCEEDED, True, None, None, "symbol in no correlation group")
    worst: GateCheck | None = None
    for group in groups:
        check = within_cap(_T_CORRELATED_EXPOSURE_EXCEEDED, ctx.nav, ctx.notional, limits.group_caps[group],
                           ctx.book.group_gross(group))
        if worst is None or (check["headroom_notional"] or 0.0) < (worst["headroom_notional"] or 0.0):
            worst, worst_group = check, group
    assert worst is not None
    if worst["note"] is None:
        worst["note"] = f"group {worst_group}"
    return worst


def same_direction_exposure_exceeded(ctx: GateContext) -> GateCheck:
    """Exposure of all positions on the intent's side after the trade at most
    portfolio.max_same_direction_nav_pct x NAV."""
    return within_cap(_T_SAME_DIRECTION_EXPOSURE_EXCEEDED, ctx.nav, ctx.notional,
                      ctx.limits.max_same_direction_nav_pct, ctx.book.direction_notional(ctx.intent.side is _BUY))


def total_risk_exceeded(ctx: GateContext) -> GateCheck:
    """Sum of losses at the stops after the trade at most portfolio.max_total_risk_nav_pct x NAV."""
    if ctx.risk_fraction is None:
        return unknown(_T_TOTAL_RISK_EXCEEDED, None, "risk at stop unknown", headroom=0.0)
    return within_cap(_T_TOTAL_RISK_EXCEEDED, ctx.nav, ctx.notional, ctx.limits.max_total_risk_nav_pct,
                      ctx.book_risk_usdt, ctx.risk_fraction)


def drawdown_halt(ctx: GateContext) -> GateCheck:
    """No new risk once the day's drawdown from its NAV high reaches portfolio.daily_drawdown_halt_pct."""
    limit, drawdown = ctx.limits.daily_drawdown_halt_pct, ctx.drawdown
    if drawdown is None:
        return unknown(_T_DRAWDOWN_HALT, limit, "drawdown unknown (no NAV)")
    return verdict(_T_DRAWDOWN_HALT, drawdown < limit, drawdown, limit)


def trading_halted(ctx: GateContext) -> GateCheck:
    """No new risk while the account is HALTED, while the policy stops new trades (stage 4), or in
    an order mode with more real money at stake than the account's (a live order once the drawdown
    ladder switched the account to demo)."""
    state, policy, order_mode, account_mode = ctx.trading_state, ctx.policy, ctx.order_mode, ctx.account_mode
    stopped = policy is not None and not policy.allow_new_trades
    outranked = order_mode.stake > account_mode.stake
    note = (f"the account trades in {account_mode.value} mode now: no {order_mode.value} order may add risk; "
            f"send it with mode {account_mode.value}" if outranked else _POLICY_STOPS_TRADES if stopped else None)
    return verdict(_T_TRADING_HALTED, state is not _HALTED and not stopped and not outranked, state, "not HALTED",
                   note)


def reduce_only_mode(ctx: GateContext) -> GateCheck:
    """Only reducing orders while the account is REDUCING."""
    state = ctx.trading_state
    return verdict(_T_REDUCE_ONLY_MODE, state is not _REDUCING, state, "not REDUCING")


def cvar_limit_exceeded(ctx: GateContext) -> GateCheck:
    """Historical CVaR (USDT) of the portfolio with this trade at most portfolio.max_cvar_nav_pct x NAV.

    Unknown CVaR (no or too short return history) counts as a soft failure, so that an engine that
    is never fed returns still trades on its other caps but loses its soft-failure allowance.
    """
    nav, notional, cvar = ctx.nav, ctx.notional, ctx.cvar
    if nav is None or notional is None:
        return unknown(_T_CVAR_LIMIT_EXCEEDED, None, "NAV or notional unknown", headroom=0.0)
    limit = ctx.limits.max_cvar_nav_pct * nav
    observed, headroom, note = (None, None, "no return history: CVaR unknown") if cvar is None else cvar.evaluate(
        ctx.book, ctx.intent.symbol, notional if ctx.intent.side is _BUY else -notional, limit)
    if observed is None:
        check = verdict(_T_CVAR_LIMIT_EXCEEDED, False, None, limit, note)
        check["severity"] = "soft"
        return check
    return verdict(_T_CVAR_LIMIT_EXCEEDED, observed <= limit + SIZE_TOLERANCE * (limit if limit > 1.0 else 1.0),
                   observed, limit, headroom=headroom)
