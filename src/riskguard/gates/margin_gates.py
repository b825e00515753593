"""Margin gates: the order's initial margin fits the account's available balance, and its stop triggers
before the liquidation price (Binance USD-M, isolated or cross, from ``riskguard.math.margin``).

Both bound the size (a headroom in USDT notional). Like every gate they never raise: an input they
need that is unknown fails them (fail closed), except an unknown available balance, which fails
only when the posture says so (``account.unknown_margin_blocks``). Reducing orders are exempt.
"""

from __future__ import annotations

from riskguard.gates.context import SIZE_TOLERANCE, GateContext
from riskguard.gates.order_gates import exempt, fill, template
from riskguard.math.margin import cross_liquidation_price, isolated_liquidation_price
from riskguard.model.decision import GateCheck
from riskguard.model.enums import MarginMode, PositionSide, Side
from riskguard.model.errors import InputValidationError
from riskguard.model.instrument import LeverageBracket, bracket_containing

_T_MARGIN_INSUFFICIENT = template("margin_insufficient")
_T_LIQUIDATION_TOO_CLOSE = template("liquidation_too_close")


def _fail_closed(tpl: GateCheck, threshold: object, note: str) -> GateCheck:
    check = fill(tpl, False, None, threshold, note)
    check["headroom_notional"] = 0.0
    return check


def margin_insufficient(ctx: GateContext) -> GateCheck:
    """Initial margin of the order (notional / leverage) plus that of the pending reservations at most
    the account's available balance (USDT). An unknown balance fails only under
    account.unknown_margin_blocks; otherwise the gate passes and says margin went unchecked."""
    account = ctx.account
    available = account.available_balance if account is not None else None
    if ctx.reducing:
        return exempt(_T_MARGIN_INSUFFICIENT, available)
    if available is None:
        if ctx.limits.unknown_margin_blocks:
            return _fail_closed(_T_MARGIN_INSUFFICIENT, None,
                                "available balance unknown (account.unknown_margin_blocks: fail closed)")
        return fill(_T_MARGIN_INSUFFICIENT, True, None, None,
                    "available balance unknown: margin not checked (account.unknown_margin_blocks is off)")
    notional = ctx.notional
    if notional is None:
        return _fail_closed(_T_MARGIN_INSUFFICIENT, available, "notional unknown")
    leverage = ctx.intent.leverage
    reserved = ctx.book.reserved_margin_usdt
    room = available - reserved
    headroom = room * leverage if room > 0.0 else 0.0
    check = fill(_T_MARGIN_INSUFFICIENT,
                 notional <= headroom + SIZE_TOLERANCE * (headroom if headroom > 1.0 else 1.0),
                 reserved + notional / leverage, available)
    check["headroom_notional"] = headroom
    return check


def _other_maintenance_usdt(ctx: GateContext) -> float | None:
    """Maintenance margin of the account's exposure in every other symbol, USDT (None when a bracket
    is unknown)."""
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
    """Largest order notional (USDT) whose cross liquidation price keeps ``buffer`` (price units) beyond
    the stop, with ``collateral`` = wallet - other maintenance + other unrealised PnL + cum (USDT);
    solved from the liquidation formula of riskguard.math.margin at the current bracket."""
    mmr = bracket.maintenance_margin_rate
    if collateral <= 0.0:
        return 0.0
    if long:
        lowest = stop - buffer
        if lowest <= 0.0:
            return 0.0
        max_qty = collateral / (price + lowest * (mmr - 1.0))
    else:
        max_qty = collateral / ((stop + buffer) * (1.0 + mmr) - price)
    return max(0.0, max_qty * price - symbol_gross)


def liquidation_too_close(ctx: GateContext) -> GateCheck:
    """The stop (estimated from trade.default_stop_distance_pct when absent) triggers at least
    trade.liquidation_buffer_pct of the entry price before the liquidation price of the symbol's
    position after the trade: cross with the account's wallet balance, else isolated (an unknown
    margin mode or wallet counts as isolated, the closer of the two)."""
    buffer_pct = ctx.limits.liquidation_buffer_pct
    if ctx.reducing:
        return exempt(_T_LIQUIDATION_TOO_CLOSE, buffer_pct)
    price, notional, rules, risk_fraction = ctx.price, ctx.notional, ctx.rules, ctx.risk_fraction
    if price is None or notional is None or rules is None or risk_fraction is None:
        return _fail_closed(_T_LIQUIDATION_TOO_CLOSE, buffer_pct, "price, notional, stop or instrument unknown")
    position_notional = ctx.symbol_gross + notional
    if position_notional <= 0.0:
        return fill(_T_LIQUIDATION_TOO_CLOSE, True, None, buffer_pct, "no position after the trade")
    bracket = bracket_containing(position_notional, rules.brackets)
    if bracket is None:
        return _fail_closed(_T_LIQUIDATION_TOO_CLOSE, buffer_pct,
                            f"no leverage bracket for a position of {position_notional:g} USDT: "
                            "maintenance margin unknown")
    long = ctx.intent.side is Side.BUY
    stop = price * (1.0 - risk_fraction) if long else price * (1.0 + risk_fraction)
    qty = position_notional / price
    side = PositionSide.LONG if long else PositionSide.SHORT
    mmr, cum = bracket.maintenance_margin_rate, bracket.maintenance_amount
    account = ctx.account
    wallet = account.wallet_balance if account is not None else None
    other_maintenance = (_other_maintenance_usdt(ctx) if account is not None and wallet is not None
                         and account.known_margin_mode is MarginMode.CROSS else None)
    try:
        if account is not None and wallet is not None and other_maintenance is not None:
            mode = "cross"
            other_pnl = account.nav - wallet
            liquidation = cross_liquidation_price(side, qty, price, wallet, mmr, cum, other_maintenance, other_pnl)
        else:
            mode = "isolated"
            liquidation = isolated_liquidation_price(side, qty, price, ctx.intent.leverage, mmr, cum)
    except InputValidationError as error:
        return _fail_closed(_T_LIQUIDATION_TOO_CLOSE, buffer_pct, f"liquidation price unknown: {error}")
    distance = (stop - liquidation) / price if long else (liquidation - stop) / price
    passed = distance >= buffer_pct
    check = fill(_T_LIQUIDATION_TOO_CLOSE, passed, distance, buffer_pct,
                 f"{mode} liquidation at {liquidation:.8g}, stop at {stop:.8g}")
    if mode == "cross" and account is not None and wallet is not None and other_maintenance is not None:
        collateral = wallet - other_maintenance + (account.nav - wallet) + cum
        check["headroom_notional"] = _cross_headroom(long, price, stop, buffer_pct * price, bracket, collateral,
                                                     ctx.symbol_gross)
    else:
        # Isolated: the liquidation price follows the leverage, not the size; shrinking cannot help.
        check["headroom_notional"] = None if passed else 0.0
    return check
