"""Portfolio-level gates: concurrency, clocks, counters, exposure and risk caps, account state."""

from __future__ import annotations

from riskguard.book.book import DAY_MS
from riskguard.gates.context import SIZE_TOLERANCE, GateContext
from riskguard.gates.order_gates import exempt, fill, nav_cap, template
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
_BUY = Side.BUY
_HALTED = TradingState.HALTED
_REDUCING = TradingState.REDUCING


def strategy_concurrency_exceeded(ctx: GateContext) -> GateCheck:
    """A new position only while the strategy holds fewer than its max_concurrent_positions
    (reservations count)."""
    limit = ctx.strategy_limits.max_concurrent_positions
    count = ctx.book.strategy_open.get(ctx.intent.strategy, 0)
    if not ctx.opens_new:
        check = _T_STRATEGY_CONCURRENCY_EXCEEDED.copy()
        check["observed"] = count
        check["threshold"] = limit
        check["note"] = _NOT_NEW
        return check
    check = _T_STRATEGY_CONCURRENCY_EXCEEDED.copy()
    check["observed"] = count + 1
    check["threshold"] = limit
    if not (count < limit):
        check["passed"] = False
    return check


def global_concurrency_exceeded(ctx: GateContext) -> GateCheck:
    """A new position only while the account holds fewer than portfolio.max_open_positions (reservations
    count), or portfolio.max_open_positions_high_confidence for signals at or above
    portfolio.high_confidence_threshold; the policy's per-regime cap may lower it (stage 3)."""
    limits = ctx.limits
    confidence = ctx.intent.confidence
    if confidence is not None and confidence >= limits.high_confidence_threshold:
        limit, note = limits.max_open_positions_high_confidence, "high-confidence cap"
    else:
        limit, note = limits.max_open_positions, None
    policy = ctx.policy
    if policy is not None and policy.max_positions is not None and policy.max_positions < limit:
        limit, note = policy.max_positions, "policy cap for the regime (stage use_for_position_limits)"
    count = ctx.book.open_count
    if not ctx.opens_new:
        check = _T_GLOBAL_CONCURRENCY_EXCEEDED.copy()
        check["observed"] = count
        check["threshold"] = limit
        check["note"] = _NOT_NEW
        return check
    check = _T_GLOBAL_CONCURRENCY_EXCEEDED.copy()
    check["observed"] = count + 1
    check["threshold"] = limit
    if not (count < limit):
        check["passed"] = False
    check["note"] = note
    return check


def cooldown_active(ctx: GateContext) -> GateCheck:
    """Time since the strategy's last entry at least its cooldown (ms): cooldown_open_s while it holds
    positions, cooldown_flat_s while flat."""
    limits = ctx.strategy_limits
    strategy = ctx.intent.strategy
    book = ctx.book
    holding = book.strategy_positions.get(strategy, 0) > 0
    cooldown = limits.cooldown_open_ms if holding else limits.cooldown_flat_ms
    if ctx.reducing:
        return exempt(_T_COOLDOWN_ACTIVE, cooldown)
    last = book.last_entry_ms.get(strategy)
    if last is None:
        check = _T_COOLDOWN_ACTIVE.copy()
        check["observed"] = None
        check["threshold"] = cooldown
        check["note"] = "no previous entry"
        return check
    elapsed = ctx.now_ms - last
    check = _T_COOLDOWN_ACTIVE.copy()
    check["observed"] = elapsed
    check["threshold"] = cooldown
    if not (elapsed >= cooldown):
        check["passed"] = False
    check["note"] = "positions open" if holding else "flat"
    return check


def daily_trade_limit(ctx: GateContext) -> GateCheck:
    """Risk-adding approvals today (UTC) below portfolio.max_trades_per_day."""
    limit = ctx.limits.max_trades_per_day
    if ctx.reducing:
        return exempt(_T_DAILY_TRADE_LIMIT, limit)
    book = ctx.book
    count = book.trades_today if ctx.now_ms // DAY_MS == book.trade_day else 0
    check = _T_DAILY_TRADE_LIMIT.copy()
    check["observed"] = count + 1
    check["threshold"] = limit
    if not (count < limit):
        check["passed"] = False
    return check


def order_rate_exceeded(ctx: GateContext) -> GateCheck:
    """Approvals within portfolio.order_rate_window_s below portfolio.max_orders_per_window."""
    limits = ctx.limits
    limit = limits.max_orders_per_window
    if ctx.reducing:
        return exempt(_T_ORDER_RATE_EXCEEDED, limit)
    count = ctx.book.orders_since(ctx.now_ms - limits.order_rate_window_ms)
    check = _T_ORDER_RATE_EXCEEDED.copy()
    check["observed"] = count + 1
    check["threshold"] = limit
    if not (count < limit):
        check["passed"] = False
    return check


def duplicate_intent(ctx: GateContext) -> GateCheck:
    """An intent id approved before is not approved again."""
    first = ctx.book.seen_intents.get(ctx.intent.intent_id)
    if first is None:
        check = _T_DUPLICATE_INTENT.copy()
        check["observed"] = None
        check["threshold"] = "unique intent_id"
        return check
    check = _T_DUPLICATE_INTENT.copy()
    check["observed"] = first
    check["threshold"] = "unique intent_id"
    check["passed"] = False
    check["note"] = f"already approved as decision {first}"
    return check


def gross_exposure_exceeded(ctx: GateContext) -> GateCheck:
    """Gross exposure after the trade at most portfolio.max_gross_nav_multiple x NAV."""
    return nav_cap(ctx, _T_GROSS_EXPOSURE_EXCEEDED, ctx.limits.max_gross_nav_multiple, ctx.book.gross_notional)


def correlated_exposure_exceeded(ctx: GateContext) -> GateCheck:
    """Each correlation group's exposure after the trade at most its max_nav_pct x NAV; the tightest
    group is reported."""
    limits = ctx.limits
    groups = limits.symbol_groups.get(ctx.intent.symbol)
    if not groups:
        check = _T_CORRELATED_EXPOSURE_EXCEEDED.copy()
        check["observed"] = None
        check["threshold"] = None
        check["note"] = "symbol in no correlation group"
        return check
    worst: GateCheck | None = None
    for group in groups:
        check = nav_cap(ctx, _T_CORRELATED_EXPOSURE_EXCEEDED, limits.group_caps[group], ctx.book.group_gross(group))
        if worst is None or (check["headroom_notional"] or 0.0) < (worst["headroom_notional"] or 0.0):
            worst, worst_group = check, group
    assert worst is not None
    if worst["note"] is None:
        worst["note"] = f"group {worst_group}"
    return worst


def same_direction_exposure_exceeded(ctx: GateContext) -> GateCheck:
    """Exposure of all positions on the intent's side after the trade at most
    portfolio.max_same_direction_nav_pct x NAV."""
    return nav_cap(ctx, _T_SAME_DIRECTION_EXPOSURE_EXCEEDED, ctx.limits.max_same_direction_nav_pct,
                   ctx.book.direction_notional(ctx.intent.side is _BUY))


def total_risk_exceeded(ctx: GateContext) -> GateCheck:
    """Sum of losses at the stops after the trade at most portfolio.max_total_risk_nav_pct x NAV."""
    if ctx.risk_fraction is None:
        check = fill(_T_TOTAL_RISK_EXCEEDED, False, None, None, "risk at stop unknown")
        check["headroom_notional"] = 0.0
        return check
    return nav_cap(ctx, _T_TOTAL_RISK_EXCEEDED, ctx.limits.max_total_risk_nav_pct, ctx.book_risk_usdt,
                   ctx.risk_fraction)


def drawdown_halt(ctx: GateContext) -> GateCheck:
    """No new risk once the day's drawdown from its NAV high reaches portfolio.daily_drawdown_halt_pct."""
    limit = ctx.limits.daily_drawdown_halt_pct
    if ctx.reducing:
        return exempt(_T_DRAWDOWN_HALT, limit)
    drawdown = ctx.drawdown
    if drawdown is None:
        check = _T_DRAWDOWN_HALT.copy()
        check["observed"] = None
        check["threshold"] = limit
        check["passed"] = False
        check["note"] = "drawdown unknown (no NAV)"
        return check
    check = _T_DRAWDOWN_HALT.copy()
    check["observed"] = drawdown
    check["threshold"] = limit
    if not (drawdown < limit):
        check["passed"] = False
    return check


def trading_halted(ctx: GateContext) -> GateCheck:
    """No new risk while the account is HALTED, while the policy stops new trades (stage 4), or in
    a mode with more real money at stake than the account's (a live order once the drawdown ladder
    switched the account to demo)."""
    if ctx.reducing:
        return exempt(_T_TRADING_HALTED, "not HALTED")
    state = ctx.trading_state
    check = _T_TRADING_HALTED.copy()
    check["observed"] = state
    check["threshold"] = "not HALTED"
    if state is _HALTED:
        check["passed"] = False
    policy = ctx.policy
    if policy is not None and not policy.allow_new_trades:
        check["passed"] = False
        check["note"] = "the trading policy allows no new trades (stage use_for_trading_gate)"
    order_mode, account_mode = ctx.order_mode, ctx.account_mode
    if order_mode.stake > account_mode.stake:
        check["passed"] = False
        check["note"] = (f"the account trades in {account_mode.value} mode now: no {order_mode.value} order may "
                         f"add risk; send it with mode {account_mode.value}")
    return check


def reduce_only_mode(ctx: GateContext) -> GateCheck:
    """Only reducing orders while the account is REDUCING."""
    if ctx.reducing:
        return exempt(_T_REDUCE_ONLY_MODE, "not REDUCING")
    state = ctx.trading_state
    check = _T_REDUCE_ONLY_MODE.copy()
    check["observed"] = state
    check["threshold"] = "not REDUCING"
    if state is _REDUCING:
        check["passed"] = False
    return check


def cvar_limit_exceeded(ctx: GateContext) -> GateCheck:
    """Historical CVaR (USDT) of the portfolio with this trade at most portfolio.max_cvar_nav_pct x NAV.

    Unknown CVaR (no or too short return history) counts as a soft failure, so that an engine that
    is never fed returns still trades on its other caps but loses its soft-failure allowance.
    """
    nav = ctx.nav
    notional = ctx.notional
    if nav is None or notional is None:
        check = fill(_T_CVAR_LIMIT_EXCEEDED, False, None, None, "NAV or notional unknown")
        check["headroom_notional"] = 0.0
        return check
    limit = ctx.limits.max_cvar_nav_pct * nav
    if ctx.reducing:
        return exempt(_T_CVAR_LIMIT_EXCEEDED, limit)
    cvar = ctx.cvar
    if cvar is None:
        check = fill(_T_CVAR_LIMIT_EXCEEDED, False, None, limit, "no return history: CVaR unknown")
        check["severity"] = "soft"
        return check
    signed = notional if ctx.intent.side is _BUY else -notional
    observed, headroom, note = cvar.evaluate(ctx.book, ctx.intent.symbol, signed, limit)
    if observed is None:
        check = fill(_T_CVAR_LIMIT_EXCEEDED, False, None, limit, note)
        check["severity"] = "soft"
        return check
    check = _T_CVAR_LIMIT_EXCEEDED.copy()
    check["observed"] = observed
    check["threshold"] = limit
    check["headroom_notional"] = headroom
    if not (observed <= limit + SIZE_TOLERANCE * (limit if limit > 1.0 else 1.0)):
        check["passed"] = False
    return check
