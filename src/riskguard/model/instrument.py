"""Exchange trading rules of one instrument (Binance USD-M filters and leverage brackets)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from riskguard.model import validation as v
from riskguard.model.rounding import floor_to_step


@dataclass(frozen=True, slots=True)
class LeverageBracket:
    """Up to ``notional_cap`` USDT of position, at most ``max_leverage``; mmr = maintenance margin rate."""

    notional_cap: float
    max_leverage: float
    maintenance_margin_rate: float
    maintenance_amount: float = 0.0


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

    def max_leverage_for(self, notional: float) -> float:
        """Exchange leverage ceiling for a position of ``notional`` USDT (brackets, else max_leverage).
        Brackets are floor-inclusive as on Binance: a notional exactly at a cap is in the next bracket."""
        for bracket in self.brackets[:-1]:
            if notional < bracket.notional_cap:
                return bracket.max_leverage
        return self.brackets[-1].max_leverage if self.brackets else self.max_leverage

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InstrumentRules:
        """Build from the JSON form shipped in riskguard/data/binance_usdm_instruments.json."""
        payload = dict(data)
        payload["brackets"] = tuple(LeverageBracket(**b) for b in payload.get("brackets", ()))
        return cls(**payload)
