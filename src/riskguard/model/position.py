"""An open position, as the ledger and the book hold it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from riskguard.model import validation as v
from riskguard.model.enums import PositionSide
from riskguard.model.errors import InputValidationError

_POSITION_SIDES = {"LONG": PositionSide.LONG, "BUY": PositionSide.LONG,
                   "SHORT": PositionSide.SHORT, "SELL": PositionSide.SHORT}


def parse_position_side(field: str, value: object) -> PositionSide:
    """Accept LONG/SHORT (and BUY/SELL as synonyms), any case."""
    if isinstance(value, PositionSide):
        return value
    if isinstance(value, str) and value.strip().upper() in _POSITION_SIDES:
        return _POSITION_SIDES[value.strip().upper()]
    raise InputValidationError(field, "must be LONG or SHORT", value)


@dataclass(frozen=True, slots=True)
class Position:
    """An open position of one strategy in one symbol (qty in base units, prices in USDT)."""

    symbol: str
    side: PositionSide | str
    qty: float
    entry_price: float
    strategy: str
    leverage: float = 1.0
    stop_price: float | None = None
    take_profit_price: float | None = None
    opened_ts_ms: int | None = None
    position_id: str | None = None

    @classmethod
    def trusted(cls, symbol: str, side: PositionSide, qty: float, entry_price: float, strategy: str, *,
                leverage: float, stop_price: float, opened_ts_ms: int) -> Position:
        """``Position(symbol, side, qty, entry_price, strategy, leverage=..., stop_price=...,
        opened_ts_ms=...)`` without the boundary checks, for values riskguard validated itself (the
        replay restating a validated position after a partial exit): a normalised symbol, a stripped
        non-empty ``strategy``, finite ``qty``, ``entry_price``, ``leverage`` and ``stop_price`` all
        > 0, an int ``opened_ts_ms >= 0``. Anything from outside goes through the constructor."""
        held = object.__new__(cls)
        put = object.__setattr__
        put(held, "symbol", symbol)
        put(held, "side", side)
        put(held, "qty", qty)
        put(held, "entry_price", entry_price)
        put(held, "strategy", strategy)
        put(held, "leverage", leverage)
        put(held, "stop_price", stop_price)
        put(held, "take_profit_price", None)
        put(held, "opened_ts_ms", opened_ts_ms)
        put(held, "position_id", None)
        return held

    def __post_init__(self) -> None:
        s = object.__setattr__
        s(self, "symbol", v.symbol("symbol", self.symbol))
        s(self, "side", parse_position_side("side", self.side))
        s(self, "qty", v.amount("qty", self.qty))
        s(self, "entry_price", v.price("entry_price", self.entry_price))
        s(self, "strategy", v.identifier("strategy", self.strategy))
        s(self, "leverage", v.positive("leverage", self.leverage))
        s(self, "stop_price", v.optional_price("stop_price", self.stop_price))
        s(self, "take_profit_price", v.optional_price("take_profit_price", self.take_profit_price))
        if self.opened_ts_ms is not None:
            s(self, "opened_ts_ms", v.timestamp_ms("opened_ts_ms", self.opened_ts_ms))
        if self.position_id is not None:
            s(self, "position_id", v.identifier("position_id", self.position_id))

    @property
    def key(self) -> tuple[str, str]:
        """(strategy, symbol): one position per strategy and symbol."""
        return (self.strategy, self.symbol)

    @property
    def is_long(self) -> bool:
        """True for LONG positions."""
        return self.side is PositionSide.LONG

    @property
    def entry_notional(self) -> float:
        """qty x entry price, USDT."""
        return self.qty * self.entry_price

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {f: getattr(self, f) for f in self.__slots__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Position:
        """Build from a JSON object; unknown keys are refused by name."""
        return cls(**v.json_fields("a position", data, cls.__slots__,
                                   ("symbol", "side", "qty", "entry_price", "strategy")))  # type: ignore[arg-type]
