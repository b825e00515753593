"""Exchange trading rules of one instrument (Binance USD-M filters and leverage brackets)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from riskguard.model import validation as v
from riskguard.model.rounding import floor_to_step


@dataclass(frozen=True, slots=True)
class LeverageBracket:
    """Below ``notional_cap`` USDT of position, at most ``max_leverage``; mmr = maintenance margin rate.

    Brackets are contiguous: a bracket's floor is the previous bracket's cap (0 for the first).
    """

    notional_cap: float
    max_leverage: float
    maintenance_margin_rate: float
    maintenance_amount: float = 0.0


def bracket_containing(notional: float, brackets: Sequence[LeverageBracket]) -> LeverageBracket | None:
    """The bracket of a position of ``notional`` USDT, as Binance assigns it: floor-inclusive,
    cap-exclusive (``notionalFloor <= notional < notionalCap``), so a notional exactly at a
    boundary belongs to the higher bracket. None at or beyond the last cap: the exchange has no
    bracket for such a position and refuses it (callers fail closed).
    """
    for bracket in brackets:
        if notional < bracket.notional_cap:
            return bracket
    return None


@dataclass(frozen=True, slots=True)
class InstrumentRules:
    """PRICE_FILTER / LOT_SIZE / MARKET_LOT_SIZE / MIN_NOTIONAL / PERCENT_PRICE filters and leverage
    brackets. ``max_qty`` caps limit orders, ``market_max_qty`` market orders (base units)."""

    symbol: str
    tick_size: float
    step_size: float
    min_qty: float
    min_notional: float
    max_qty: float = math.inf
    percent_price_up: float = 1.05
    percent_price_down: float = 0.95
    max_leverage: float = 125.0
    brackets: tuple[LeverageBracket, ...] = field(default_factory=tuple)
    market_max_qty: float = math.inf

    def __post_init__(self) -> None:
        s = object.__setattr__
        s(self, "symbol", v.symbol("symbol", self.symbol))
        for name in ("tick_size", "step_size", "min_qty", "min_notional", "max_leverage"):
            s(self, name, v.positive(name, getattr(self, name)))

    def floor_qty(self, qty: float) -> float:
        """``qty`` (base units, >= 0) rounded down to the step size: the largest multiple of
        ``step_size`` that is <= ``qty``, never up, since rounding must not exceed a cap."""
        return floor_to_step(v.non_negative("qty", qty), self.step_size)

    def max_leverage_for(self, notional: float) -> float | None:
        """Exchange leverage ceiling (x) for a position of ``notional`` USDT: its bracket's (see
        :func:`bracket_containing`), ``max_leverage`` when no brackets are known, and None at or
        beyond the last bracket's cap (no leverage is allowed there)."""
        if not self.brackets:
            return self.max_leverage
        bracket = bracket_containing(notional, self.brackets)
        return None if bracket is None else bracket.max_leverage

    @property
    def top_notional_cap(self) -> float:
        """Cap of the last leverage bracket, USDT (infinite when no brackets are known)."""
        return self.brackets[-1].notional_cap if self.brackets else math.inf

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InstrumentRules:
        """Build from the JSON form shipped in riskguard/data/binance_usdm_instruments.json."""
        payload = dict(data)
        payload["brackets"] = tuple(LeverageBracket(**b) for b in payload.get("brackets", ()))
        return cls(**payload)
