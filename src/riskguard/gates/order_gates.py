"""Order-level gates: validity, instrument, freshness, exchange filters, per-trade caps, signal quality.

Each gate is ``(ctx) -> GateCheck``, one expression over the shapes of ``gates.result``, and never
raises; a gate that needs an unknown input fails. Whether a gate applies to orders that reduce an
open position is declared once in its spec (``gates.registry``), not here.
"""

from __future__ import annotations

from riskguard.gates.context import GateContext
from riskguard.gates.result import AT_LEAST, AT_MOST, age_within, bounded, template, unknown, verdict, within_cap
from riskguard.model.decision import GateCheck

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
_POLICY_BLOCKS_SYMBOL = "the trading policy disallows this symbol (stage use_for_signal_filter)"
_STOP_ESTIMATED = "no stop given: risk estimated from trade.default_stop_distance_pct"


def invalid_intent(ctx: GateContext) -> GateCheck:
    """Well-formed but inconsistent intents: stop or target on the wrong side of the price, a stop at
    the entry price (zero stop distance), qty and notional disagreeing, reduce_only with nothing to
    reduce."""
    return verdict(_T_INVALID_INTENT, ctx.invalid is None, ctx.invalid, "consistent intent")


def unknown_symbol(ctx: GateContext) -> GateCheck:
    """The exchange has trading rules for the symbol."""
    known = ctx.rules is not None
    return verdict(_T_UNKNOWN_SYMBOL, known, ctx.intent.symbol, "symbol with exchange rules",
                   None if known else "no instrument rules loaded for this symbol")


def symbol_not_allowed(ctx: GateContext) -> GateCheck:
    """New risk only in the posture's allowed symbols, and not in a symbol the trading policy
    disallows (stage use_for_signal_filter); closing is always allowed."""
    symbol, limits, policy = ctx.intent.symbol, ctx.limits, ctx.policy
    blocked = policy is not None and policy.block_symbol
    return verdict(_T_SYMBOL_NOT_ALLOWED, symbol in limits.allowed_symbols and not blocked, symbol,
                   limits.allowed_symbols_sorted, _POLICY_BLOCKS_SYMBOL if blocked else None)


def nav_stale(ctx: GateContext) -> GateCheck:
    """NAV known and younger than account.nav_max_age_s (ms)."""
    return age_within(_T_NAV_STALE, ctx.nav_age_ms, ctx.limits.nav_max_age_ms, "no NAV snapshot received",
                      "NAV timestamp is in the future")


def market_data_stale(ctx: GateContext) -> GateCheck:
    """Mark price known and younger than account.market_max_age_s (ms)."""
    market = ctx.market
    return age_within(_T_MARKET_DATA_STALE, None if market is None else ctx.now_ms - market.ts_ms,
                      ctx.limits.market_max_age_ms, "no market snapshot for symbol",
                      "market timestamp is in the future")


def below_min_notional(ctx: GateContext) -> GateCheck:
    """Executable notional (qty floored to the step x price) at least the exchange's MIN_NOTIONAL and
    trade.min_notional_usdt. A lower bound, so it has no headroom."""
    rules = ctx.rules
    floor = ctx.limits.min_notional_usdt
    if rules is not None and rules.min_notional > floor:
        floor = rules.min_notional
    return bounded(_T_BELOW_MIN_NOTIONAL, ctx.sized_notional, floor, "notional unknown", AT_LEAST)


def qty_below_min(ctx: GateContext) -> GateCheck:
    """Quantity floored to the step size at least the exchange's minimum quantity."""
    rules, sized = ctx.rules, ctx.sized_qty
    if rules is None or sized is None:
        return unknown(_T_QTY_BELOW_MIN, None, "qty or instrument unknown", sized)
    return bounded(_T_QTY_BELOW_MIN, sized, rules.min_qty, "qty unknown", AT_LEAST)


def price_outside_band(ctx: GateContext) -> GateCheck:
    """A limit price within trade.max_price_deviation_pct of the mark and the exchange's PERCENT_PRICE."""
    price, limit, market, rules = ctx.intent.price, ctx.limits.max_price_deviation_pct, ctx.market, ctx.rules
    if price is None:
        return verdict(_T_PRICE_OUTSIDE_BAND, True, 0.0, limit, "market order")
    if market is None:
        return unknown(_T_PRICE_OUTSIDE_BAND, limit, "no mark to compare with")
    ratio = price / market.mark_price
    in_exchange_band = rules is None or rules.percent_price_down <= ratio <= rules.percent_price_up
    return verdict(_T_PRICE_OUTSIDE_BAND, -limit <= ratio - 1.0 <= limit and in_exchange_band, ratio - 1.0, limit)


def trade_gt_max_trade_nav_pct(ctx: GateContext) -> GateCheck:
    """Notional of one trade at most trade.max_trade_nav_pct x NAV."""
    return within_cap(_T_TRADE_GT_MAX_TRADE_NAV_PCT, ctx.nav, ctx.notional, ctx.limits.max_trade_nav_pct, 0.0)


def trade_gt_10pct_equity(ctx: GateContext) -> GateCheck:
    """The screener's equity clamp: the trade's notional (or, under trade.equity_clamp_basis margin,
    its initial margin, notional / leverage) at most trade.equity_clamp_nav_pct x NAV. Keeps its
    historic reason code."""
    return within_cap(_T_TRADE_GT_10PCT_EQUITY, ctx.nav, ctx.notional, ctx.limits.equity_clamp_nav_pct, 0.0,
                      1.0 / ctx.intent.leverage if ctx.limits.equity_clamp_margin_basis else 1.0)


def symbol_nav_cap_exceeded(ctx: GateContext) -> GateCheck:
    """Gross exposure in the symbol after the trade at most symbols.<sym>.max_nav_pct x NAV."""
    return within_cap(_T_SYMBOL_NAV_CAP_EXCEEDED, ctx.nav, ctx.notional, ctx.symbol_limits.max_nav_pct,
                      ctx.symbol_gross)


def leverage_exceeded(ctx: GateContext) -> GateCheck:
    """Requested leverage at most symbols.<sym>.max_leverage."""
    return bounded(_T_LEVERAGE_EXCEEDED, ctx.intent.leverage, ctx.symbol_limits.max_leverage, "leverage unknown",
                   AT_MOST)


def exchange_leverage_bracket_exceeded(ctx: GateContext) -> GateCheck:
    """Requested leverage within the exchange's leverage bracket for the symbol's position after the
    trade (Binance's brackets are floor-inclusive: a notional exactly at a boundary takes the higher
    bracket); at or beyond the last bracket's cap no leverage is allowed (observed: the position
    notional, threshold: the last cap)."""
    rules, notional, leverage = ctx.rules, ctx.notional, ctx.intent.leverage
    if rules is None or notional is None:
        return unknown(_T_EXCHANGE_LEVERAGE_BRACKET_EXCEEDED, None, "instrument or notional unknown", leverage)
    position_notional = ctx.symbol_gross + notional
    ceiling = rules.max_leverage_for(position_notional)
    if ceiling is None:
        return verdict(_T_EXCHANGE_LEVERAGE_BRACKET_EXCEEDED, False, position_notional, rules.top_notional_cap,
                       f"position notional {position_notional:g} USDT is at or beyond the exchange's last leverage "
                       f"bracket (cap {rules.top_notional_cap:g} USDT): no leverage is allowed there")
    return bounded(_T_EXCHANGE_LEVERAGE_BRACKET_EXCEEDED, leverage, ceiling, "leverage unknown", AT_MOST)


def max_loss_exceeded(ctx: GateContext) -> GateCheck:
    """Loss at the stop at most trade.max_loss_nav_pct x NAV (stop estimated when absent)."""
    if ctx.risk_fraction is None:
        return unknown(_T_MAX_LOSS_EXCEEDED, None, "risk at stop unknown", headroom=0.0)
    check = within_cap(_T_MAX_LOSS_EXCEEDED, ctx.nav, ctx.notional, ctx.limits.max_loss_nav_pct, 0.0,
                       ctx.risk_fraction)
    if ctx.risk_estimated and check["note"] is None:
        check["note"] = _STOP_ESTIMATED
    return check


def rr_below_min(ctx: GateContext) -> GateCheck:
    """Reward/risk (expected_rr, else from take-profit and stop) at least trade.min_reward_risk."""
    intent = ctx.intent
    rr = intent.expected_rr
    if rr is None:
        target, stop, price = intent.take_profit_price, intent.stop_price, ctx.price
        if target is not None and stop is not None and price is not None and price != stop:
            rr = abs(target - price) / abs(price - stop)
    return bounded(_T_RR_BELOW_MIN, rr, ctx.limits.min_reward_risk, "reward/risk unknown (no target or expected_rr)",
                   AT_LEAST)


def confidence_below_min(ctx: GateContext) -> GateCheck:
    """Signal confidence at least trade.min_confidence, or the policy's higher floor (stage
    use_for_confidence_threshold); missing confidence fails unless the floor is 0."""
    limit, policy, confidence = ctx.limits.min_confidence, ctx.policy, ctx.intent.confidence
    if policy is not None and policy.min_confidence is not None and policy.min_confidence > limit:
        limit = policy.min_confidence  # the policy may raise the floor, never lower it
    if confidence is None:
        return verdict(_T_CONFIDENCE_BELOW_MIN, limit <= 0.0, None, limit, "no confidence given")
    return bounded(_T_CONFIDENCE_BELOW_MIN, confidence, limit, "no confidence given", AT_LEAST)


def source_credibility_low(ctx: GateContext) -> GateCheck:
    """An external signal source's credibility at least sources.min_credibility (unlisted sources get
    sources.unknown_source_credibility)."""
    limits, source = ctx.limits, ctx.intent.source
    if source is None:
        return verdict(_T_SOURCE_CREDIBILITY_LOW, True, None, limits.min_source_credibility,
                       "own signal (no external source)")
    return bounded(_T_SOURCE_CREDIBILITY_LOW, limits.source_scores.get(source, limits.unknown_source_credibility),
                    limits.min_source_credibility, "credibility unknown", AT_LEAST)


_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MINUTE_MS = 60_000
_window_cache: dict[tuple[str, int], tuple[bool, str]] = {}


def _window_verdict(posture_hash: str, minute_index: int, allowed_weekdays: frozenset[int],
                    blackouts: tuple[tuple[int, int], ...]) -> tuple[bool, str]:
    # The verdict only changes once a minute, so it is computed once per minute and posture.
    key = (posture_hash, minute_index)
    cached = _window_cache.get(key)
    if cached is None:
        day, minute = divmod(minute_index, 1440)
        weekday = (day + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
        inside = weekday in allowed_weekdays
        for start, end in blackouts:
            if (start <= minute < end) if start <= end else (minute >= start or minute < end):
                inside = False
        if len(_window_cache) > 4096:
            _window_cache.clear()
        cached = _window_cache[key] = (
            inside, f"{_DAY_NAMES[weekday]} {minute // 60:02d}:{minute % 60:02d} UTC")
    return cached


def outside_trading_window(ctx: GateContext) -> GateCheck:
    """New risk only on trading_window.allowed_weekdays and outside trading_window.blackout_utc."""
    limits = ctx.limits
    inside, label = _window_verdict(limits.config_hash, ctx.now_ms // _MINUTE_MS, limits.allowed_weekdays,
                                    limits.blackout_minutes)
    return verdict(_T_OUTSIDE_TRADING_WINDOW, inside, label, "trading_window")


def spread_too_wide(ctx: GateContext) -> GateCheck:
    """Bid/ask spread at most trade.max_spread_bps (an unknown spread fails)."""
    market = ctx.market
    bid, ask = (None, None) if market is None else (market.bid, market.ask)
    spread = None if bid is None or ask is None else (ask - bid) / (ask + bid) * 20_000.0
    return bounded(_T_SPREAD_TOO_WIDE, spread, ctx.limits.max_spread_bps, "bid/ask unknown", AT_MOST)


def feed_latency_too_high(ctx: GateContext) -> GateCheck:
    """Feed latency (exchange event to receipt; quote age when the exchange time is unknown) at most
    trade.max_feed_latency_ms."""
    limit, market = ctx.limits.max_feed_latency_ms, ctx.market
    if market is None:
        return unknown(_T_FEED_LATENCY_TOO_HIGH, limit, "no market snapshot")
    if market.exchange_ts_ms is not None:
        latency = market.ts_ms - market.exchange_ts_ms
        return verdict(_T_FEED_LATENCY_TOO_HIGH, 0 <= latency <= limit, latency, limit)
    age = ctx.now_ms - market.ts_ms
    return verdict(_T_FEED_LATENCY_TOO_HIGH, 0 <= age <= limit, age, limit, "exchange time unknown: quote age used")
