"""Margin gates: the order's initial margin fits the account's available balance, and its stop triggers
before the liquidation price (Binance USD-M, isolated or cross, from ``riskguard.math.margin``).

Both bound the size (a headroom in USDT notional) and exempt reducing orders (declared in their
specs). Like every gate they never raise: an input they need that is unknown fails them (fail
closed), except an unknown available balance, which fails only when the posture says so
(``account.unknown_margin_blocks``).
"""

from __future__ import annotations

from riskguard.gates.context import GateContext
from riskguard.gates.result import SIZE_TOLERANCE, template, unknown, verdict
from riskguard.math.margin import cross_liquidation_price, isolated_liquidation_price
from riskguard.model.decision import GateCheck
from riskguard.model.enums import MarginMode, PositionSide, Side
from riskguard.model.errors import InputValidationError
from riskguard.model.instrument import LeverageBracket, bracket_containing

_T_MARGIN_INSUFFICIENT = template("margin_insufficient")
_T_LIQUIDATION_TOO_CLOSE = template("liquidation_too_close")
_BALANCE_UNKNOWN_BLOCKS = "available balance unknown (account.unknown_margin_blocks: fail closed)"
_BALANCE_UNKNOWN_UNCHECKED = "available balance unknown: margin not checked (account.unknown_margin_blocks is off)"


def margin_insufficient(ctx: GateContext) -> GateCheck:
    """Initial margin of the order (notional / leverage) plus that of the pending reservations at most
    the account's available balance (USDT); an unknown balance fails only under
    account.unknown_margin_blocks, else the gate passes and says margin went unchecked."""
    account, notional, leverage = ctx.account, ctx.notional, ctx.intent.leverage
    available = account.available_balance if account is not None else None
    if available is None:
        if ctx.limits.unknown_margin_blocks:
            return unknown(_T_MARGIN_INSUFFICIENT, None, _BALANCE_UNKNOWN_BLOCKS, headroom=0.0)
        return verdict(_T_MARGIN_INSUFFICIENT, True, None, None, _BALANCE_UNKNOWN_UNCHECKED)
    if notional is None:
        return unknown(_T_MARGIN_INSUFFICIENT, available, "notional unknown", headroom=0.0)
    reserved = ctx.book.reserved_margin_usdt
    headroom = max(0.0, available - reserved) * leverage
    fits = notional <= headroom + SIZE_TOLERANCE * (headroom if headroom > 1.0 else 1.0)
    return verdict(_T_MARGIN_INSUFFICIENT, fits, reserved + notional / leverage, available, headroom=headroom)


def _other_maintenance_usdt(ctx: GateContext) -> float | None:
    """Maintenance margin of the account's exposure in every other symbol, USDT (None when one of
    their brackets is unknown)."""
    total = 0.0
    for symbol, exposure in ctx.book.symbols.items():
        gross = exposure.gross
        if symbol == ctx.intent.symbol or gross <= 0.0:
            continue
        rules = ctx.instruments.get(symbol)
        bracket = bracket_containing(gross, rules.brackets) if rules is not None else None
        if bracket is None:
            return None
        total += max(0.0, gross * bracket.maintenance_margin_rate - bracket.maintenance_amount)
    return total


def _cross_headroom(long: bool, price: float, stop: float, buffer: float, bracket: LeverageBracket,
                    collateral: float, symbol_gross: float) -> float:
    """Largest order notional (USDT) whose cross liquidation price stays ``buffer`` (price units)
    beyond the stop, where ``collateral`` = wallet - other maintenance + other unrealised PnL + cum
    (USDT): the liquidation formula of riskguard.math.margin solved for the quantity, at the
    current bracket."""
    mmr = bracket.maintenance_margin_rate
    lowest = stop - buffer
    if collateral <= 0.0 or (long and lowest <= 0.0):
        return 0.0
    max_qty = (collateral / (price + lowest * (mmr - 1.0)) if long
               else collateral / ((stop + buffer) * (1.0 + mmr) - price))
    return max(0.0, max_qty * price - symbol_gross)


def liquidation_too_close(ctx: GateContext) -> GateCheck:
    """The stop (estimated from trade.default_stop_distance_pct when absent) triggers at least
    trade.liquidation_buffer_pct of the entry price before the liquidation price of the symbol's
    position after the trade: cross with the account's wallet balance when its margin mode is cross,
    else isolated (an unknown margin mode or wallet counts as isolated, the closer liquidation)."""
    buffer_pct = ctx.limits.liquidation_buffer_pct
    price, notional, rules, risk_fraction = ctx.price, ctx.notional, ctx.rules, ctx.risk_fraction
    if price is None or notional is None or rules is None or risk_fraction is None:
        return unknown(_T_LIQUIDATION_TOO_CLOSE, buffer_pct, "price, notional, stop or instrument unknown",
                       headroom=0.0)
    position_notional = ctx.symbol_gross + notional
    if position_notional <= 0.0:
        return verdict(_T_LIQUIDATION_TOO_CLOSE, True, None, buffer_pct, "no position after the trade")
    bracket = bracket_containing(position_notional, rules.brackets)
    if bracket is None:
        return unknown(_T_LIQUIDATION_TOO_CLOSE, buffer_pct,
                       f"no leverage bracket for a position of {position_notional:g} USDT: maintenance "
                       "margin unknown", headroom=0.0)
    long = ctx.intent.side is Side.BUY
    stop = price * (1.0 - risk_fraction) if long else price * (1.0 + risk_fraction)
    side, qty = (PositionSide.LONG if long else PositionSide.SHORT), position_notional / price
    mmr, cum = bracket.maintenance_margin_rate, bracket.maintenance_amount
    account = ctx.account
    wallet = account.wallet_balance if account is not None else None
    other = (_other_maintenance_usdt(ctx) if account is not None and wallet is not None
             and account.known_margin_mode is MarginMode.CROSS else None)
    try:
        if account is not None and wallet is not None and other is not None:
            liquidation = cross_liquidation_price(side, qty, price, wallet, mmr, cum, other, account.nav - wallet)
            headroom: float | None = _cross_headroom(long, price, stop, buffer_pct * price, bracket,
                                                     account.nav - other + cum, ctx.symbol_gross)
            mode = "cross"
        else:
            liquidation = isolated_liquidation_price(side, qty, price, ctx.intent.leverage, mmr, cum)
            headroom, mode = None, "isolated"  # set by the leverage, not the size: shrinking cannot help
    except InputValidationError as error:
        return unknown(_T_LIQUIDATION_TOO_CLOSE, buffer_pct, f"liquidation price unknown: {error}", headroom=0.0)
    distance = (stop - liquidation) / price if long else (liquidation - stop) / price
    passed = distance >= buffer_pct
    return verdict(_T_LIQUIDATION_TOO_CLOSE, passed, distance, buffer_pct,
                   f"{mode} liquidation at {liquidation:.8g}, stop at {stop:.8g}",
                   headroom if headroom is not None or passed else 0.0)
