"""Pyramiding gates: the rules for an intent that adds to an open position of its strategy.

An *add* is an intent on the side of the open position its strategy holds in the symbol. One R is
the opening leg's stop distance, fixed for the life of the position (``Position.legs``); the
position's *initial risk* is the opening leg's loss at its stop. The rule is the strategy's
``strategies.<name>.pyramiding`` or else the account's ``exits.pyramiding``. Every other intent
passes these gates with the note "not an add". Like every gate they never raise, and an input
they need that is unknown fails them.
"""

from __future__ import annotations

from riskguard.book.reservation import Reservation
from riskguard.config.limits import PyramidRule
from riskguard.gates.context import GateContext
from riskguard.gates.result import SIZE_TOLERANCE, count_below, template, unknown, verdict
from riskguard.model.decision import GateCheck
from riskguard.model.enums import TradingState
from riskguard.model.position import Position, PositionLegs

_T_PYRAMID_ADD_LIMIT = template("pyramid_add_limit")
_T_PYRAMID_NOT_IN_PROFIT = template("pyramid_not_in_profit")
_T_PYRAMID_ADD_TOO_CLOSE = template("pyramid_add_too_close")
_T_PYRAMID_ADD_TOO_SOON = template("pyramid_add_too_soon")
_T_PYRAMID_PAUSED = template("pyramid_paused")
_T_PYRAMID_STOP_LOOSENED = template("pyramid_stop_loosened")
_T_PYRAMID_SIZE_EXCEEDED = template("pyramid_size_exceeded")
_T_PYRAMID_RISK_EXCEEDED = template("pyramid_risk_exceeded")
_NOT_AN_ADD = "not an add to an open position"
_ACTIVE = TradingState.ACTIVE


def _rule(ctx: GateContext) -> PyramidRule:
    return ctx.strategy_limits.pyramid


def _legs(position: Position, ctx: GateContext) -> PositionLegs:
    return position.legs_or_opening(ctx.limits.default_stop_distance_pct)


def _direction(position: Position) -> float:
    return 1.0 if position.is_long else -1.0


def _profit_r(position: Position, legs: PositionLegs, price: float) -> float:
    """The whole position's unrealised profit at ``price``, in units of its initial risk."""
    return (price - position.entry_price) * _direction(position) * position.qty / legs.initial_risk_usdt


def pending_add_reservations(ctx: GateContext) -> list[Reservation]:
    """Adds of this strategy in this symbol reserved and not filled at all yet (each will be a leg;
    the remainder of a partly filled order belongs to the leg it started). Every process sees them
    in the ledger's book, so two adds reserved at once are judged together."""
    intent = ctx.intent
    return [r for r in ctx.book.reservations.values()
            if r.strategy == intent.strategy and r.symbol == intent.symbol and r.side is intent.side
            and not r.opens_new and not r.partly_filled]


def pending_adds(ctx: GateContext) -> int:
    """How many adds of this strategy in this symbol are reserved and not filled yet."""
    return len(pending_add_reservations(ctx))


def stop_after_add(ctx: GateContext, position: Position) -> float | None:
    """The stop the whole position carries after the add, USDT: the intent's (one position has one
    stop), else the position's own, else None (the risk is then estimated)."""
    stop = ctx.intent.stop_price
    return stop if stop is not None else position.stop_price


def risk_budget_usdt(ctx: GateContext, legs: PositionLegs) -> float | None:
    """The largest loss of the whole position at its stop after an add, USDT: the rule's multiple
    of the initial risk and the per-trade max loss, whichever is lower (None without NAV)."""
    if ctx.nav is None:
        return None
    by_rule = _rule(ctx).max_combined_risk_r * legs.initial_risk_usdt
    by_trade = ctx.limits.max_loss_nav_pct * ctx.nav
    return by_rule if by_rule < by_trade else by_trade


def pyramid_add_limit(ctx: GateContext) -> GateCheck:
    """An add only while the position has fewer than pyramiding.max_adds adds (filled plus
    reserved)."""
    position, limit = ctx.adding_to, _rule(ctx).max_adds
    if position is None:
        return verdict(_T_PYRAMID_ADD_LIMIT, True, None, limit, _NOT_AN_ADD)
    return count_below(_T_PYRAMID_ADD_LIMIT, _legs(position, ctx).adds + pending_adds(ctx), limit)


def pyramid_not_in_profit(ctx: GateContext) -> GateCheck:
    """An add only when the whole position's unrealised profit at the add's price is at least
    pyramiding.min_profit_r times its initial risk (R): adds step up behind a winner, never average
    down."""
    position, limit, price = ctx.adding_to, _rule(ctx).min_profit_r, ctx.price
    if position is None:
        return verdict(_T_PYRAMID_NOT_IN_PROFIT, True, None, limit, _NOT_AN_ADD)
    if price is None:
        return unknown(_T_PYRAMID_NOT_IN_PROFIT, limit, "price unknown")
    legs = _legs(position, ctx)
    profit_r = _profit_r(position, legs, price)
    return verdict(_T_PYRAMID_NOT_IN_PROFIT, profit_r >= limit, profit_r, limit)


def pyramid_add_too_close(ctx: GateContext) -> GateCheck:
    """An add only at least pyramiding.min_add_distance_r R beyond the last leg's fill price, in the
    position's favour."""
    position, limit, price = ctx.adding_to, _rule(ctx).min_add_distance_r, ctx.price
    if position is None:
        return verdict(_T_PYRAMID_ADD_TOO_CLOSE, True, None, limit, _NOT_AN_ADD)
    if price is None:
        return unknown(_T_PYRAMID_ADD_TOO_CLOSE, limit, "price unknown")
    legs = _legs(position, ctx)
    distance_r = (price - legs.last_price) * _direction(position) / legs.r_unit
    return verdict(_T_PYRAMID_ADD_TOO_CLOSE, distance_r >= limit, distance_r, limit,
                   f"last leg filled at {legs.last_price:.8g}")


def pyramid_add_too_soon(ctx: GateContext) -> GateCheck:
    """An add only pyramiding.min_add_interval_s (ms here) after the last leg's fill; an unknown
    fill time fails."""
    position, limit = ctx.adding_to, _rule(ctx).min_add_interval_ms
    if position is None:
        return verdict(_T_PYRAMID_ADD_TOO_SOON, True, None, limit, _NOT_AN_ADD)
    if position.legs is None and position.opened_ts_ms is None and limit > 0.0:
        return unknown(_T_PYRAMID_ADD_TOO_SOON, limit, "the position's last fill time is unknown")
    elapsed = ctx.now_ms - _legs(position, ctx).last_ts_ms
    return verdict(_T_PYRAMID_ADD_TOO_SOON, elapsed >= limit, elapsed, limit)


def pyramid_paused(ctx: GateContext) -> GateCheck:
    """No add while the account is REDUCING or HALTED, nor (under pyramiding.pause_when_size_reduced)
    while the drawdown ladder or an operator has reduced position size."""
    position, rule = ctx.adding_to, _rule(ctx)
    multiplier, state = ctx.size_multiplier, ctx.trading_state
    observed = f"{state.value}, size x{multiplier:g}"
    if position is None:
        return verdict(_T_PYRAMID_PAUSED, True, observed, "ACTIVE, size x1", _NOT_AN_ADD)
    reduced = rule.pause_when_size_reduced and multiplier < 1.0
    note = "position size is reduced: no adds" if reduced else None
    return verdict(_T_PYRAMID_PAUSED, state is _ACTIVE and not reduced, observed, "ACTIVE, size x1", note)


def pyramid_stop_loosened(ctx: GateContext) -> GateCheck:
    """An add's stop, which becomes the whole position's stop, at least as tight as the position's
    current stop: a stop only ratchets."""
    position = ctx.adding_to
    stop = ctx.intent.stop_price
    if position is None:
        return verdict(_T_PYRAMID_STOP_LOOSENED, True, stop, None, _NOT_AN_ADD)
    current = position.stop_price
    if stop is None or current is None:
        return verdict(_T_PYRAMID_STOP_LOOSENED, True, stop, current,
                       "the position keeps its stop" if stop is None else "the position had no stop")
    return verdict(_T_PYRAMID_STOP_LOOSENED, (stop - current) * _direction(position) >= 0.0, stop, current)


def pyramid_size_exceeded(ctx: GateContext) -> GateCheck:
    """An add at most pyramiding.size_ratio of the last leg (a decaying ladder; a reserved add counts
    as the last leg); the headroom is that leg's notional at the add's price times the ratio."""
    position, ratio, price, notional = ctx.adding_to, _rule(ctx).size_ratio, ctx.price, ctx.notional
    if position is None:
        return verdict(_T_PYRAMID_SIZE_EXCEEDED, True, None, ratio, _NOT_AN_ADD)
    if price is None or notional is None:
        return unknown(_T_PYRAMID_SIZE_EXCEEDED, ratio, "price or notional unknown", headroom=0.0)
    legs = _legs(position, ctx)
    last_notional = legs.last_qty * price
    # A reserved add will be the last leg once it fills: the ladder decays from the smallest.
    for reservation in pending_add_reservations(ctx):
        last_notional = min(last_notional, reservation.notional)
    headroom = ratio * last_notional
    fits = notional <= headroom + SIZE_TOLERANCE * (headroom if headroom > 1.0 else 1.0)
    return verdict(_T_PYRAMID_SIZE_EXCEEDED, fits, notional, headroom,
                   f"at most {ratio:g} x the last leg's {last_notional:.8g} USDT", headroom)


def pyramid_risk_exceeded(ctx: GateContext) -> GateCheck:
    """The whole position's loss at the stop it carries after the add (USDT), reserved adds
    included, at most pyramiding.max_combined_risk_r times its initial risk and at most
    trade.max_loss_nav_pct x NAV; without a stop on the add or the position, the stop is estimated
    from trade.default_stop_distance_pct."""
    position, price, notional = ctx.adding_to, ctx.price, ctx.notional
    if position is None:
        return verdict(_T_PYRAMID_RISK_EXCEEDED, True, None, None, _NOT_AN_ADD)
    legs = _legs(position, ctx)
    budget = risk_budget_usdt(ctx, legs)
    if budget is None or price is None or notional is None:
        return unknown(_T_PYRAMID_RISK_EXCEEDED, budget, "NAV, price or notional unknown", headroom=0.0)
    direction = _direction(position)
    stop = stop_after_add(ctx, position)
    note = None
    if stop is None:
        stop = price * (1.0 - direction * ctx.limits.default_stop_distance_pct)
        note = "no stop: risk estimated from trade.default_stop_distance_pct"
    held_risk = (position.entry_price - stop) * direction * position.qty  # < 0: profit locked in
    # A reserved add fills at its own stop or a tighter one (the position keeps the tightest), so
    # its approved risk bounds what it adds: two adds reserved at once stay within one budget.
    held_risk += sum(r.risk_usdt for r in pending_add_reservations(ctx))
    per_notional = (price - stop) * direction / price
    room = budget - held_risk
    if per_notional <= 0.0:
        # A stop at or through the add's price (invalid_intent vetoes it); the add then risks nothing
        # more, and the size is bounded only by what the position already risks.
        return verdict(_T_PYRAMID_RISK_EXCEEDED, room >= 0.0, held_risk, budget, note, None if room >= 0.0 else 0.0)
    headroom = room / per_notional if room > 0.0 else 0.0
    fits = notional <= headroom + SIZE_TOLERANCE * (headroom if headroom > 1.0 else 1.0)
    return verdict(_T_PYRAMID_RISK_EXCEEDED, fits, held_risk + notional * per_notional, budget, note, headroom)


def loosest_stop(position: Position, add_qty: float, price: float, budget: float) -> float:
    """The loosest stop (USDT, unrounded) at which ``position`` plus an add of ``add_qty`` base units
    at ``price`` loses at most ``budget`` USDT."""
    total = position.qty + add_qty
    average = (position.entry_price * position.qty + price * add_qty) / total
    return average - _direction(position) * budget / total


def add_summary(ctx: GateContext) -> dict[str, object] | None:
    """The decision's ``pyramid`` entry for an add (None for any other intent): the legs so far,
    the rule's budget, and the stop the whole position must carry: ``stop_price`` is the stop it
    carries after the add (USDT), ``loosest_stop`` the loosest stop at which the position with
    this add (at its sized quantity) stays within ``risk_budget_usdt``."""
    position, price = ctx.adding_to, ctx.price
    if position is None:
        return None
    rule, legs = _rule(ctx), _legs(position, ctx)
    budget = risk_budget_usdt(ctx, legs)
    stop = stop_after_add(ctx, position)
    qty = ctx.sized_qty
    if budget is not None:
        budget -= sum(r.risk_usdt for r in pending_add_reservations(ctx))  # what reserved adds may lose
    loosest = (loosest_stop(position, qty, price, budget)
               if budget is not None and price is not None and qty is not None and qty > 0.0 else None)
    risk_at_stop = None
    if stop is not None and price is not None and qty is not None:
        total = position.qty + qty
        average = (position.entry_price * position.qty + price * qty) / total
        risk_at_stop = (average - stop) * _direction(position) * total
    return {
        "adds": legs.adds,
        "pending_adds": pending_adds(ctx),
        "max_adds": rule.max_adds,
        "r_unit": legs.r_unit,
        "initial_risk_usdt": legs.initial_risk_usdt,
        "profit_r": None if price is None else
        _profit_r(position, legs, price),
        "risk_budget_usdt": budget,
        "stop_price": stop,
        "loosest_stop": loosest,
        "risk_at_stop_usdt": risk_at_stop,
    }
