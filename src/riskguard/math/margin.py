"""Binance USD-M margin and liquidation price (one-way mode, isolated and cross), liquidation distance.

Binance's one-way-mode liquidation price for a position of ``qty`` contracts at entry ``EP``:

    LP = (WB - TMM1 + UPNL1 + cum - side * qty * EP) / (qty * MMR - side * qty)

with side = +1 long / -1 short, MMR and cum (maintenance amount) from the leverage bracket of the
position's notional, WB the wallet balance (isolated: the position's isolated margin; cross: the
cross wallet balance), and TMM1 / UPNL1 the maintenance margin and unrealised PnL of all *other*
cross positions (0 for isolated). At LP the margin balance equals the maintenance margin.
Prices USDT, quantities in contracts (base asset), amounts USDT.
"""

from __future__ import annotations

from collections.abc import Sequence

from riskguard.model import validation as v
from riskguard.model.enums import PositionSide
from riskguard.model.errors import InputValidationError
from riskguard.model.instrument import LeverageBracket


def _sign(side: PositionSide) -> float:
    if side is PositionSide.LONG:
        return 1.0
    if side is PositionSide.SHORT:
        return -1.0
    raise InputValidationError("side", "must be a PositionSide (LONG or SHORT)", side)


def bracket_for(notional_usdt: float, brackets: Sequence[LeverageBracket]) -> LeverageBracket:
    """The leverage bracket that applies to a position of ``notional_usdt``: Binance brackets are
    floor-inclusive (``notionalFloor <= notional < notionalCap``, each floor the previous cap), so a
    notional exactly at a cap belongs to the next bracket. The last bracket also takes its own cap.

    Raises if there are no brackets or the notional exceeds the last cap (the exchange would refuse).
    """
    notional = v.non_negative("notional_usdt", notional_usdt)
    if not brackets:
        raise InputValidationError("brackets", "no leverage brackets known for the instrument", brackets)
    for bracket in brackets[:-1]:
        if notional < bracket.notional_cap:
            return bracket
    if notional <= brackets[-1].notional_cap:
        return brackets[-1]
    raise InputValidationError(
        "notional_usdt", f"exceeds the last leverage bracket cap {brackets[-1].notional_cap}", notional)


def initial_margin(notional_usdt: float, leverage: float) -> float:
    """Initial margin of a position, USDT: notional / leverage."""
    return v.non_negative("notional_usdt", notional_usdt) / v.positive("leverage", leverage)


def maintenance_margin(
    notional_usdt: float, maintenance_margin_rate: float, maintenance_amount: float = 0.0
) -> float:
    """Maintenance margin, USDT: ``notional * MMR - cum`` (cum = the bracket's maintenance amount)."""
    notional = v.non_negative("notional_usdt", notional_usdt)
    mmr = v.fraction("maintenance_margin_rate", maintenance_margin_rate)
    return notional * mmr - v.non_negative("maintenance_amount", maintenance_amount)


def liquidation_price(
    side: PositionSide,
    qty: float,
    entry_price: float,
    wallet_balance: float,
    maintenance_margin_rate: float,
    maintenance_amount: float = 0.0,
    other_maintenance_margin: float = 0.0,
    other_unrealized_pnl: float = 0.0,
) -> float:
    """Binance one-way-mode liquidation price, USDT (the general formula; see the module docstring).

    Returns 0.0 when a long cannot be liquidated at any positive price (e.g. fully collateralised).
    """
    s = _sign(side)
    q = v.positive("qty", qty)
    ep = v.positive("entry_price", entry_price)
    wb = v.finite("wallet_balance", wallet_balance)
    mmr = v.fraction("maintenance_margin_rate", maintenance_margin_rate)
    cum = v.non_negative("maintenance_amount", maintenance_amount)
    tmm = v.non_negative("other_maintenance_margin", other_maintenance_margin)
    upnl = v.finite("other_unrealized_pnl", other_unrealized_pnl)
    if mmr >= 1.0:
        raise InputValidationError("maintenance_margin_rate", "must be < 1", mmr)
    numerator = wb - tmm + upnl + cum - s * q * ep
    denominator = q * mmr - s * q
    price = numerator / denominator
    return price if price > 0.0 else 0.0


def isolated_liquidation_price(
    side: PositionSide,
    qty: float,
    entry_price: float,
    leverage: float,
    maintenance_margin_rate: float,
    maintenance_amount: float = 0.0,
    added_margin: float = 0.0,
) -> float:
    """Liquidation price of an isolated position whose margin is ``qty * entry / leverage + added_margin``."""
    margin = initial_margin(v.positive("qty", qty) * v.positive("entry_price", entry_price), leverage)
    margin += v.non_negative("added_margin", added_margin)
    return liquidation_price(side, qty, entry_price, margin, maintenance_margin_rate, maintenance_amount)


def cross_liquidation_price(
    side: PositionSide,
    qty: float,
    entry_price: float,
    cross_wallet_balance: float,
    maintenance_margin_rate: float,
    maintenance_amount: float = 0.0,
    other_maintenance_margin: float = 0.0,
    other_unrealized_pnl: float = 0.0,
) -> float:
    """Liquidation price of a cross position given the cross wallet balance and the other positions'
    maintenance margin and unrealised PnL (USDT)."""
    return liquidation_price(
        side, qty, entry_price, cross_wallet_balance, maintenance_margin_rate, maintenance_amount,
        other_maintenance_margin, other_unrealized_pnl)


def liquidation_distance(side: PositionSide, mark_price: float, liq_price: float) -> float:
    """Adverse move from ``mark_price`` to liquidation, fraction of the mark price.

    1.0 for a long with no liquidation price (0.0); negative when the mark is already past it.
    """
    s = _sign(side)
    mark = v.positive("mark_price", mark_price)
    lp = v.non_negative("liq_price", liq_price)
    if s > 0 and lp == 0.0:
        return 1.0
    return s * (mark - lp) / mark
