"""The order intent a strategy submits for a decision."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from riskguard.model import validation as v
from riskguard.model.enums import Mode, Side
from riskguard.model.errors import InputValidationError

_MODES = {m.value: m for m in Mode}
_SIDE_ALIASES = {"BUY": Side.BUY, "LONG": Side.BUY, "SELL": Side.SELL, "SHORT": Side.SELL}


def parse_side(field: str, value: object) -> Side:
    """Accept BUY/SELL (and LONG/SHORT as synonyms), any case."""
    if isinstance(value, Side):
        return value
    if isinstance(value, str) and value.strip().upper() in _SIDE_ALIASES:
        return _SIDE_ALIASES[value.strip().upper()]
    raise InputValidationError(field, "must be BUY or SELL", value)


def parse_mode(field: str, value: object) -> Mode | None:
    """Accept demo / paper / live (any case) or None (the posture's mode)."""
    if value is None or isinstance(value, Mode):
        return value
    if isinstance(value, str) and value.strip().lower() in _MODES:
        return _MODES[value.strip().lower()]
    raise InputValidationError(field, "must be demo, paper or live (or null for the posture's mode)", value)


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """What a strategy wants to do; sizes in USDT notional (``notional``) or base quantity (``qty``).

    Construction validates every field once (the boundary); the engine trusts it afterwards.
    ``price`` None means a market order priced at the mark. ``leverage`` is the requested
    leverage (x). ``confidence`` is in [0, 1]; ``expected_rr`` is reward/risk (R multiple).
    ``mode`` is the execution mode the order will be placed in (demo, paper, live); None means
    the posture's mode. Once the drawdown ladder switched the account to demo, only demo orders
    may add risk.
    """

    intent_id: str
    strategy: str
    symbol: str
    side: Side | str
    notional: float | None = None
    qty: float | None = None
    leverage: float = 1.0
    price: float | None = None
    stop_price: float | None = None
    take_profit_price: float | None = None
    expected_rr: float | None = None
    confidence: float | None = None
    reduce_only: bool = False
    source: str | None = None
    ts_ms: int | None = None
    mode: Mode | str | None = None

    def __post_init__(self) -> None:
        s = object.__setattr__
        s(self, "intent_id", v.identifier("intent_id", self.intent_id))
        s(self, "strategy", v.identifier("strategy", self.strategy))
        s(self, "symbol", v.symbol("symbol", self.symbol))
        s(self, "side", parse_side("side", self.side))
        if self.notional is None and self.qty is None:
            raise InputValidationError("notional", "give notional (USDT) or qty", None)
        s(self, "notional", v.optional_amount("notional", self.notional))
        s(self, "qty", v.optional_amount("qty", self.qty))
        s(self, "leverage", v.positive("leverage", self.leverage))
        s(self, "price", v.optional_price("price", self.price))
        s(self, "stop_price", v.optional_price("stop_price", self.stop_price))
        s(self, "take_profit_price", v.optional_price("take_profit_price", self.take_profit_price))
        s(self, "expected_rr", v.optional_positive("expected_rr", self.expected_rr))
        if self.confidence is not None:
            s(self, "confidence", v.fraction("confidence", self.confidence))
        if not isinstance(self.reduce_only, bool):
            raise InputValidationError("reduce_only", "must be true or false", self.reduce_only)
        if self.source is not None:
            s(self, "source", v.identifier("source", self.source))
        if self.ts_ms is not None:
            s(self, "ts_ms", v.timestamp_ms("ts_ms", self.ts_ms))
        s(self, "mode", parse_mode("mode", self.mode))

    @classmethod
    def trusted(cls, intent_id: str, strategy: str, symbol: str, side: Side, notional: float, leverage: float,
                price: float | None, stop_price: float | None, take_profit_price: float | None,
                expected_rr: float | None, confidence: float | None, source: str | None,
                ts_ms: int | None, mode: Mode | None = None) -> OrderIntent:
        """Build an intent from values riskguard already validated (a Signal's fields and finite,
        positive numbers it computed), without paying the boundary validation again.

        Only for riskguard's own code paths; anything from outside goes through the constructor.
        """
        intent = object.__new__(cls)
        put = object.__setattr__
        put(intent, "intent_id", intent_id)
        put(intent, "strategy", strategy)
        put(intent, "symbol", symbol)
        put(intent, "side", side)
        put(intent, "notional", notional)
        put(intent, "qty", None)
        put(intent, "leverage", leverage)
        put(intent, "price", price)
        put(intent, "stop_price", stop_price)
        put(intent, "take_profit_price", take_profit_price)
        put(intent, "expected_rr", expected_rr)
        put(intent, "confidence", confidence)
        put(intent, "reduce_only", False)
        put(intent, "source", source)
        put(intent, "ts_ms", ts_ms)
        put(intent, "mode", mode)
        return intent

    @property
    def is_buy(self) -> bool:
        """True for BUY intents."""
        return self.side is Side.BUY

    @property
    def execution_mode(self) -> Mode | None:
        """``mode`` as validated (None = the posture's mode)."""
        return self.mode if isinstance(self.mode, Mode) else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the inverse of :meth:`from_dict`)."""
        return {f: getattr(self, f) for f in self.__slots__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OrderIntent:
        """Build from a JSON object; unknown keys are refused by name."""
        return cls(**v.json_fields("an order intent", data, cls.__slots__,
                                   ("intent_id", "strategy", "symbol", "side")))  # type: ignore[arg-type]
