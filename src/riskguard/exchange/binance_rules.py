"""Binance USD-M ``exchangeInfo`` symbol objects and ``leverageBracket`` entries -> ``InstrumentRules``.

Pure mapping of the raw Binance fields (strings for filters, numbers for brackets), no ccxt: tick
(PRICE_FILTER.tickSize), step / min qty / max qty (LOT_SIZE), market max qty (MARKET_LOT_SIZE.maxQty),
min notional (MIN_NOTIONAL.notional), the PERCENT_PRICE band (multiplierUp / multiplierDown) and the
brackets (notionalCap, initialLeverage, maintMarginRatio, cum), in ascending order of notional.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from riskguard.model.errors import InputValidationError
from riskguard.model.instrument import InstrumentRules, LeverageBracket


def _filters(symbol_info: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {str(f.get("filterType")): f for f in symbol_info.get("filters", ())}


def _number(where: str, value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputValidationError(where, "must be a number", value) from None


def leverage_brackets(raw_brackets: Sequence[Mapping[str, Any]]) -> tuple[LeverageBracket, ...]:
    """Binance bracket entries as ``LeverageBracket``s sorted by notional cap (USDT)."""
    ordered = sorted(raw_brackets, key=lambda b: _number("notionalFloor", b.get("notionalFloor", 0)))
    return tuple(LeverageBracket(
        notional_cap=_number("notionalCap", b["notionalCap"]),
        max_leverage=_number("initialLeverage", b["initialLeverage"]),
        maintenance_margin_rate=_number("maintMarginRatio", b["maintMarginRatio"]),
        maintenance_amount=_number("cum", b.get("cum", 0.0))) for b in ordered)


def rules_from_exchange_info(symbol_info: Mapping[str, Any],
                             raw_brackets: Sequence[Mapping[str, Any]] = ()) -> InstrumentRules:
    """One ``exchangeInfo`` symbol object (plus its ``leverageBracket`` entries) as ``InstrumentRules``.

    A missing PRICE_FILTER, LOT_SIZE or MIN_NOTIONAL filter is refused by name: without it riskguard
    cannot round or check an order. MARKET_LOT_SIZE and PERCENT_PRICE are optional.
    """
    symbol = str(symbol_info.get("symbol", ""))
    filters = _filters(symbol_info)
    for required in ("PRICE_FILTER", "LOT_SIZE", "MIN_NOTIONAL"):
        if required not in filters:
            raise InputValidationError(f"{symbol}.filters", f"has no {required} filter", sorted(filters))
    lot = filters["LOT_SIZE"]
    brackets = leverage_brackets(raw_brackets)
    optional: dict[str, Any] = {}  # absent filters keep InstrumentRules' defaults
    if "maxQty" in lot:
        optional["max_qty"] = _number(f"{symbol}.LOT_SIZE.maxQty", lot["maxQty"])
    if "maxQty" in filters.get("MARKET_LOT_SIZE", {}):
        optional["market_max_qty"] = _number(f"{symbol}.MARKET_LOT_SIZE.maxQty", filters["MARKET_LOT_SIZE"]["maxQty"])
    band = filters.get("PERCENT_PRICE", {})
    if "multiplierUp" in band and "multiplierDown" in band:
        optional["percent_price_up"] = _number(f"{symbol}.PERCENT_PRICE.multiplierUp", band["multiplierUp"])
        optional["percent_price_down"] = _number(f"{symbol}.PERCENT_PRICE.multiplierDown", band["multiplierDown"])
    if brackets:
        optional["max_leverage"] = max(b.max_leverage for b in brackets)
    return InstrumentRules(
        symbol=symbol,
        tick_size=_number(f"{symbol}.PRICE_FILTER.tickSize", filters["PRICE_FILTER"]["tickSize"]),
        step_size=_number(f"{symbol}.LOT_SIZE.stepSize", lot["stepSize"]),
        min_qty=_number(f"{symbol}.LOT_SIZE.minQty", lot["minQty"]),
        min_notional=_number(f"{symbol}.MIN_NOTIONAL.notional", filters["MIN_NOTIONAL"]["notional"]),
        brackets=brackets,
        **optional,
    )
