"""Order-level gates: validity, instrument, freshness, exchange filters, per-trade caps, signal quality.

Each gate is ``(ctx) -> GateCheck`` and never raises; a gate that needs an unknown input fails.
Results are built by copying a per-gate template (a dict copy costs well under half a dict literal
on CPython, and this runs ~35 times per decision). Verdicts are written ``if not (observed <= limit)``
on purpose: a NaN that slipped past the boundary then fails the gate instead of passing it.
"""

from __future__ import annotations

from riskguard.gates.context import SIZE_TOLERANCE, GateContext
from riskguard.model.decision import GateCheck

EXEMPT_NOTE = "reduces an open position: exempt"


def template(gate: str) -> GateCheck:
    """The passing shape of ``gate``'s result. Severity is set by the engine from the posture."""
    return {"gate": gate, "passed": True, "reason": gate, "observed": None, "threshold": None,
            "headroom_notional": None, "severity": "hard", "note": None}


def fill(tpl: GateCheck, passed: bool, observed: object, threshold: object,
         note: str | None = None) -> GateCheck:
    """A copy of ``tpl`` with the verdict filled in."""
    check = tpl.copy()
    check["observed"] = observed
    check["threshold"] = threshold
    if not passed:
        check["passed"] = False
    if note is not None:
        check["note"] = note
    return check


def exempt(tpl: GateCheck, threshold: object, headroom: float | None = None) -> GateCheck:
    """The result of a gate that does not apply to orders reducing an open position."""
    check = tpl.copy()
    check["threshold"] = threshold
    check["headroom_notional"] = headroom
    check["note"] = EXEMPT_NOTE
    return check


def nav_cap(ctx: GateContext, tpl: GateCheck, cap_pct: float, existing: float,
            per_notional: float = 1.0) -> GateCheck:
    """Shared shape of 'existing + notional x per_notional <= cap_pct x NAV' caps (USDT). The
    headroom is the largest notional of this intent that stays within the cap; None when no
    notional can breach it (``per_notional`` 0, e.g. the risk of a stop at the entry price, which
    the invalid_intent gate vetoes on its own) while the existing amount is within it."""
    nav = ctx.nav
    if nav is None:
        check = fill(tpl, False, None, None, "NAV unknown")
        check["headroom_notional"] = 0.0
        return check
    limit = cap_pct * nav
    room = limit - existing
    headroom: float | None = 0.0
    if room > 0.0:
        headroom = room / per_notional if per_notional > 0.0 else None
    elif room == 0.0 and per_notional <= 0.0:
        headroom = None
    if ctx.reducing:
        return exempt(tpl, limit, headroom)
    notional = ctx.notional
    check = tpl.copy()
    check["threshold"] = limit
    check["headroom_notional"] = headroom
    if notional is None:
        check["passed"] = False
        check["note"] = "notional unknown"
        return check
    check["observed"] = existing + notional * per_notional
    if headroom is not None and notional > headroom + SIZE_TOLERANCE * (headroom if headroom > 1.0 else 1.0):
        check["passed"] = False
    return check


_T_INVALID_INTENT = template("invalid_intent")
_T_UNKNOWN_SYMBOL = template("unknown_symbol")
_T_SYMBOL_NOT_ALLOWED = template("symbol_not_allowed")
_T_NAV_STALE = template("nav_stale")
_T_MARKET_DATA_STALE = template("market_data_stale")
_T_BELOW_MIN_NOTIONAL = template("below_min_notional")
_T_QTY_BELOW_MIN = template("qty_below_min")
_T_PRICE_OUTSIDE_BAND = template("price_outside_band")
_T_TRADE_GT_MAX_TRADE_NAV_PCT = template("trade_gt_max_trade_nav_pct")
_T_TRADE_GT_10PCT_EQUITY = template("trade_gt_10pct_equity")
_T_SYMBOL_NAV_CAP_EXCEEDED = template("symbol_nav_cap_exceeded")
_T_LEVERAGE_EXCEEDED = template("leverage_exceeded")
_T_EXCHANGE_LEVERAGE_BRACKET_EXCEEDED = template("exchange_leverage_bracket_exceeded")
_T_MAX_LOSS_EXCEEDED = template("max_loss_exceeded")
_T_RR_BELOW_MIN = template("rr_below_min")
_T_CONFIDENCE_BELOW_MIN = template("confidence_below_min")
_T_SOURCE_CREDIBILITY_LOW = template("source_credibility_low")
_T_OUTSIDE_TRADING_WINDOW = template("outside_trading_window")
_T_SPREAD_TOO_WIDE = template("spread_too_wide")
_T_FEED_LATENCY_TOO_HIGH = template("feed_latency_too_high")


def invalid_intent(ctx: GateContext) -> GateCheck:
    """Well-formed but inconsistent intents: stop or target on the wrong side of the price, qty and
    notional disagreeing, reduce_only with nothing to reduce."""
    check = _T_INVALID_INTENT.copy()
    check["observed"] = ctx.invalid
    check["threshold"] = "consistent intent"
    if ctx.invalid is not None:
        check["passed"] = False
    return check


def unknown_symbol(ctx: GateContext) -> GateCheck:
    """The exchange has trading rules for the symbol."""
    if ctx.rules is None:
        check = _T_UNKNOWN_SYMBOL.copy()
        check["observed"] = ctx.intent.symbol
        check["threshold"] = "symbol with exchange rules"
        check["passed"] = False
        check["note"] = "no instrument rules loaded for this symbol"
        return check
    check = _T_UNKNOWN_SYMBOL.copy()
    check["observed"] = ctx.intent.symbol
    check["threshold"] = "symbol with exchange rules"
    return check


def symbol_not_allowed(ctx: GateContext) -> GateCheck:
    """New risk only in the posture's allowed symbols, and not in a symbol the trading policy
    disallows (stage use_for_signal_filter); closing is always allowed."""
    limits = ctx.limits
    if ctx.reducing:
        return exempt(_T_SYMBOL_NOT_ALLOWED, limits.allowed_symbols_sorted)
    symbol = ctx.intent.symbol
    check = _T_SYMBOL_NOT_ALLOWED.copy()
    check["observed"] = symbol
    check["threshold"] = limits.allowed_symbols_sorted
    if symbol not in limits.allowed_symbols:
        check["passed"] = False
    policy = ctx.policy
    if policy is not None and policy.block_symbol:
        check["passed"] = False
        check["note"] = "the trading policy disallows this symbol (stage use_for_signal_filter)"
    return check


def nav_stale(ctx: GateContext) -> GateCheck:
    """NAV known and younger than account.nav_max_age_s (ms)."""
    limit = ctx.limits.nav_max_age_ms
    age = ctx.nav_age_ms
    if age is None:
        check = _T_NAV_STALE.copy()
        check["observed"] = None
        check["threshold"] = limit
        check["passed"] = False
        check["note"] = "no NAV snapshot received"
        return check
    if age < 0.0:
        check = _T_NAV_STALE.copy()
        check["observed"] = age
        check["threshold"] = limit
        check["passed"] = False
        check["note"] = "NAV timestamp is in the future"
        return check
    check = _T_NAV_STALE.copy()
    check["observed"] = age
    check["threshold"] = limit
    if not (age <= limit):
        check["passed"] = False
    return check


def market_data_stale(ctx: GateContext) -> GateCheck:
    """Mark price known and younger than account.market_max_age_s (ms)."""
    limit = ctx.limits.market_max_age_ms
    market = ctx.market
    if market is None:
        check = _T_MARKET_DATA_STALE.copy()
        check["observed"] = None
        check["threshold"] = limit
        check["passed"] = False
        check["note"] = "no market snapshot for symbol"
        return check
    age = ctx.now_ms - market.ts_ms
    if age < 0:
        check = _T_MARKET_DATA_STALE.copy()
        check["observed"] = age
        check["threshold"] = limit
        check["passed"] = False
        check["note"] = "market timestamp is in the future"
        return check
    check = _T_MARKET_DATA_STALE.copy()
    check["observed"] = age
    check["threshold"] = limit
    if not (age <= limit):
        check["passed"] = False
    return check


def below_min_notional(ctx: GateContext) -> GateCheck:
    """Executable notional (qty floored to the step x price) at least the exchange's MIN_NOTIONAL and
    trade.min_notional_usdt. A lower bound, so it has no headroom."""
    floor = ctx.limits.min_notional_usdt
    rules = ctx.rules
    if rules is not None and rules.min_notional > floor:
        floor = rules.min_notional
    if ctx.reducing:
        return exempt(_T_BELOW_MIN_NOTIONAL, floor)
    sized = ctx.sized_notional
    if sized is None:
        check = _T_BELOW_MIN_NOTIONAL.copy()
        check["observed"] = None
        check["threshold"] = floor
        check["passed"] = False
        check["note"] = "notional unknown"
        return check
    check = _T_BELOW_MIN_NOTIONAL.copy()
    check["observed"] = sized
    check["threshold"] = floor
    if not (sized >= floor):
        check["passed"] = False
    return check


def qty_below_min(ctx: GateContext) -> GateCheck:
    """Quantity floored to the step size at least the exchange's minimum quantity."""
    rules = ctx.rules
    sized = ctx.sized_qty
    if rules is None or sized is None:
        check = _T_QTY_BELOW_MIN.copy()
        check["observed"] = sized
        check["threshold"] = None
        check["passed"] = False
        check["note"] = "qty or instrument unknown"
        return check
    check = _T_QTY_BELOW_MIN.copy()
    check["observed"] = sized
    check["threshold"] = rules.min_qty
    if not (sized >= rules.min_qty):
        check["passed"] = False
    return check


def price_outside_band(ctx: GateContext) -> GateCheck:
    """A limit price within trade.max_price_deviation_pct of the mark and the exchange's PERCENT_PRICE."""
    price = ctx.intent.price
    limit = ctx.limits.max_price_deviation_pct
    if price is None:
        check = _T_PRICE_OUTSIDE_BAND.copy()
        check["observed"] = 0.0
        check["threshold"] = limit
        check["note"] = "market order"
        return check
    if ctx.market is None:
        check = _T_PRICE_OUTSIDE_BAND.copy()
        check["observed"] = None
        check["threshold"] = limit
        check["passed"] = False
        check["note"] = "no mark to compare with"
        return check
    ratio = price / ctx.market.mark_price
    deviation = ratio - 1.0
    passed = -limit <= deviation <= limit
    rules = ctx.rules
    if rules is not None and not rules.percent_price_down <= ratio <= rules.percent_price_up:
        passed = False
    check = _T_PRICE_OUTSIDE_BAND.copy()
    check["observed"] = deviation
    check["threshold"] = limit
    if not passed:
        check["passed"] = False
    return check


def trade_gt_max_trade_nav_pct(ctx: GateContext) -> GateCheck:
    """Notional of one trade at most trade.max_trade_nav_pct x NAV."""
    return nav_cap(ctx, _T_TRADE_GT_MAX_TRADE_NAV_PCT, ctx.limits.max_trade_nav_pct, 0.0)


def trade_gt_10pct_equity(ctx: GateContext) -> GateCheck:
    """The screener's equity clamp: the trade's notional (or, under trade.equity_clamp_basis margin,
    its initial margin, notional / leverage) at most trade.equity_clamp_nav_pct x NAV. Keeps its
    historic reason code."""
    per_notional = 1.0 / ctx.intent.leverage if ctx.limits.equity_clamp_margin_basis else 1.0
    return nav_cap(ctx, _T_TRADE_GT_10PCT_EQUITY, ctx.limits.equity_clamp_nav_pct, 0.0, per_notional)


def symbol_nav_cap_exceeded(ctx: GateContext) -> GateCheck:
    """Gross exposure in the symbol after the trade at most symbols.<sym>.max_nav_pct x NAV."""
    return nav_cap(ctx, _T_SYMBOL_NAV_CAP_EXCEEDED, ctx.symbol_limits.max_nav_pct, ctx.symbol_gross)


def leverage_exceeded(ctx: GateContext) -> GateCheck:
    """Requested leverage at most symbols.<sym>.max_leverage."""
    limit = ctx.symbol_limits.max_leverage
    if ctx.reducing:
        return exempt(_T_LEVERAGE_EXCEEDED, limit)
    leverage = ctx.intent.leverage
    check = _T_LEVERAGE_EXCEEDED.copy()
    check["observed"] = leverage
    check["threshold"] = limit
    if not (leverage <= limit):
        check["passed"] = False
    return check


def exchange_leverage_bracket_exceeded(ctx: GateContext) -> GateCheck:
    """Requested leverage within the exchange's leverage bracket for the symbol's position after the trade."""
    rules = ctx.rules
    leverage = ctx.intent.leverage
    if rules is None or ctx.notional is None:
        check = _T_EXCHANGE_LEVERAGE_BRACKET_EXCEEDED.copy()
        check["observed"] = leverage
        check["threshold"] = None
        check["passed"] = False
        check["note"] = "instrument or notional unknown"
        return check
    if ctx.reducing:
        return exempt(_T_EXCHANGE_LEVERAGE_BRACKET_EXCEEDED, rules.max_leverage)
    position_notional = ctx.symbol_gross + ctx.notional
    ceiling = rules.max_leverage_for(position_notional)
    if ceiling is None:
        cap = rules.top_notional_cap
        return fill(_T_EXCHANGE_LEVERAGE_BRACKET_EXCEEDED, False, position_notional, cap,
                    f"position notional {position_notional:g} USDT is at or beyond the exchange's last "
                    f"leverage bracket (cap {cap:g} USDT): no leverage is allowed there")
    check = _T_EXCHANGE_LEVERAGE_BRACKET_EXCEEDED.copy()
    check["observed"] = leverage
    check["threshold"] = ceiling
    if not (leverage <= ceiling):
        check["passed"] = False
    return check


def max_loss_exceeded(ctx: GateContext) -> GateCheck:
    """Loss at the stop at most trade.max_loss_nav_pct x NAV (stop estimated when absent)."""
    if ctx.risk_fraction is None:
        check = fill(_T_MAX_LOSS_EXCEEDED, False, None, None, "risk at stop unknown")
        check["headroom_notional"] = 0.0
        return check
    check = nav_cap(ctx, _T_MAX_LOSS_EXCEEDED, ctx.limits.max_loss_nav_pct, 0.0, ctx.risk_fraction)
    if ctx.risk_estimated and check["note"] is None:
        check["note"] = "no stop given: risk estimated from trade.default_stop_distance_pct"
    return check


def rr_below_min(ctx: GateContext) -> GateCheck:
    """Reward/risk (expected_rr, else from take-profit and stop) at least trade.min_reward_risk."""
    limit = ctx.limits.min_reward_risk
    if ctx.reducing:
        return exempt(_T_RR_BELOW_MIN, limit)
    intent = ctx.intent
    rr = intent.expected_rr
    if rr is None:
        target, stop, price = intent.take_profit_price, intent.stop_price, ctx.price
        if target is not None and stop is not None and price is not None and price != stop:
            rr = abs(target - price) / abs(price - stop)
    if rr is None:
        check = _T_RR_BELOW_MIN.copy()
        check["observed"] = None
        check["threshold"] = limit
        check["passed"] = False
        check["note"] = "reward/risk unknown (no target or expected_rr)"
        return check
    check = _T_RR_BELOW_MIN.copy()
    check["observed"] = rr
    check["threshold"] = limit
    if not (rr >= limit):
        check["passed"] = False
    return check


def confidence_below_min(ctx: GateContext) -> GateCheck:
    """Signal confidence at least trade.min_confidence, or the policy's higher floor (stage
    use_for_confidence_threshold); missing confidence fails unless the floor is 0."""
    limit = ctx.limits.min_confidence
    policy = ctx.policy
    if policy is not None and policy.min_confidence is not None and policy.min_confidence > limit:
        limit = policy.min_confidence  # the policy may raise the floor, never lower it
    if ctx.reducing:
        return exempt(_T_CONFIDENCE_BELOW_MIN, limit)
    confidence = ctx.intent.confidence
    if confidence is None:
        check = _T_CONFIDENCE_BELOW_MIN.copy()
        check["observed"] = None
        check["threshold"] = limit
        if not (limit <= 0.0):
            check["passed"] = False
        check["note"] = "no confidence given"
        return check
    check = _T_CONFIDENCE_BELOW_MIN.copy()
    check["observed"] = confidence
    check["threshold"] = limit
    if not (confidence >= limit):
        check["passed"] = False
    return check


def source_credibility_low(ctx: GateContext) -> GateCheck:
    """An external signal source's credibility at least sources.min_credibility (unlisted sources get
    sources.unknown_source_credibility)."""
    limits = ctx.limits
    source = ctx.intent.source
    if source is None:
        check = _T_SOURCE_CREDIBILITY_LOW.copy()
        check["observed"] = None
        check["threshold"] = limits.min_source_credibility
        check["note"] = "own signal (no external source)"
        return check
    score = limits.source_scores.get(source, limits.unknown_source_credibility)
    check = _T_SOURCE_CREDIBILITY_LOW.copy()
    check["observed"] = score
    check["threshold"] = limits.min_source_credibility
    if not (score >= limits.min_source_credibility):
        check["passed"] = False
    return check


_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MINUTE_MS = 60_000
_window_cache: dict[tuple[str, int], tuple[bool, str]] = {}


def _window_verdict(posture_hash: str, minute_index: int, allowed_weekdays: frozenset[int],
                    blackouts: tuple[tuple[int, int], ...]) -> tuple[bool, str]:
    # The verdict only changes once a minute, so it is computed once per minute and posture.
    key = (posture_hash, minute_index)
    verdict = _window_cache.get(key)
    if verdict is None:
        day, minute = divmod(minute_index, 1440)
        weekday = (day + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
        inside = weekday in allowed_weekdays
        for start, end in blackouts:
            if (start <= minute < end) if start <= end else (minute >= start or minute < end):
                inside = False
        if len(_window_cache) > 4096:
            _window_cache.clear()
        verdict = _window_cache[key] = (
            inside, f"{_DAY_NAMES[weekday]} {minute // 60:02d}:{minute % 60:02d} UTC")
    return verdict


def outside_trading_window(ctx: GateContext) -> GateCheck:
    """New risk only on trading_window.allowed_weekdays and outside trading_window.blackout_utc."""
    if ctx.reducing:
        return exempt(_T_OUTSIDE_TRADING_WINDOW, "trading_window")
    limits = ctx.limits
    inside, label = _window_verdict(limits.config_hash, ctx.now_ms // _MINUTE_MS, limits.allowed_weekdays,
                                    limits.blackout_minutes)
    check = _T_OUTSIDE_TRADING_WINDOW.copy()
    check["observed"] = label
    check["threshold"] = "trading_window"
    if not inside:
        check["passed"] = False
    return check


def spread_too_wide(ctx: GateContext) -> GateCheck:
    """Bid/ask spread at most trade.max_spread_bps (an unknown spread fails)."""
    limit = ctx.limits.max_spread_bps
    market = ctx.market
    if market is None or market.bid is None or market.ask is None:
        check = _T_SPREAD_TOO_WIDE.copy()
        check["observed"] = None
        check["threshold"] = limit
        check["passed"] = False
        check["note"] = "bid/ask unknown"
        return check
    spread = (market.ask - market.bid) / (market.ask + market.bid) * 20_000.0
    check = _T_SPREAD_TOO_WIDE.copy()
    check["observed"] = spread
    check["threshold"] = limit
    if not (spread <= limit):
        check["passed"] = False
    return check


def feed_latency_too_high(ctx: GateContext) -> GateCheck:
    """Feed latency (exchange event to receipt; quote age when the exchange time is unknown) at most
    trade.max_feed_latency_ms."""
    limit = ctx.limits.max_feed_latency_ms
    market = ctx.market
    if market is None:
        check = _T_FEED_LATENCY_TOO_HIGH.copy()
        check["observed"] = None
        check["threshold"] = limit
        check["passed"] = False
        check["note"] = "no market snapshot"
        return check
    if market.exchange_ts_ms is not None:
        latency = market.ts_ms - market.exchange_ts_ms
        check = _T_FEED_LATENCY_TOO_HIGH.copy()
        check["observed"] = latency
        check["threshold"] = limit
        if not (0 <= latency <= limit):
            check["passed"] = False
        return check
    age = ctx.now_ms - market.ts_ms
    check = _T_FEED_LATENCY_TOO_HIGH.copy()
    check["observed"] = age
    check["threshold"] = limit
    if not (0 <= age <= limit):
        check["passed"] = False
    check["note"] = "exchange time unknown: quote age used"
    return check
