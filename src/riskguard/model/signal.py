"""A strategy's signal: direction and conviction, without a size. The engine sizes it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from riskguard.model import validation as v
from riskguard.model.enums import Mode, Side
from riskguard.model.intent import parse_mode, parse_side


@dataclass(frozen=True, slots=True)
class Signal:
    """What a strategy believes; ``RiskEngine.would_emit`` turns it into a sized OrderIntent.

    The stop is ``stop_price`` when given, else ``atr`` (price units) x the posture's ATR stop
    multiple for the regime; without either the engine uses the market snapshot's ATR, and
    without that the posture's default stop distance (flagged in the decision).
    ``leverage`` None means the symbol's posture cap. ``expected_rr`` is the reward/risk in R.
    ``mode`` is the execution mode the order will be placed in (None = the posture's mode); a
    signal for a mode other than the posture's is sized with that mode's cap
    (``sizing.kelly.mode_caps``).
    """

    signal_id: str
    strategy: str
    symbol: str
    side: Side | str
    confidence: float | None = None
    expected_rr: float | None = None
    stop_price: float | None = None
    take_profit_price: float | None = None
    atr: float | None = None
    leverage: float | None = None
    price: float | None = None
    source: str | None = None
    ts_ms: int | None = None
    mode: Mode | str | None = None

    def __post_init__(self) -> None:
        s = object.__setattr__
        s(self, "signal_id", v.identifier("signal_id", self.signal_id))
        s(self, "strategy", v.identifier("strategy", self.strategy))
        s(self, "symbol", v.symbol("symbol", self.symbol))
        s(self, "side", parse_side("side", self.side))
        if self.confidence is not None:
            s(self, "confidence", v.fraction("confidence", self.confidence))
        for name in ("expected_rr", "leverage"):
            s(self, name, v.optional_positive(name, getattr(self, name)))
        for name in ("stop_price", "take_profit_price", "atr", "price"):
            s(self, name, v.optional_price(name, getattr(self, name)))
        if self.source is not None:
            s(self, "source", v.identifier("source", self.source))
        if self.ts_ms is not None:
            s(self, "ts_ms", v.timestamp_ms("ts_ms", self.ts_ms))
        s(self, "mode", parse_mode("mode", self.mode))

    @property
    def execution_mode(self) -> Mode | None:
        """``mode`` as validated (None = the posture's mode)."""
        return self.mode if isinstance(self.mode, Mode) else None

    @property
    def is_buy(self) -> bool:
        """True for BUY signals."""
        return self.side is Side.BUY

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {f: getattr(self, f) for f in self.__slots__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Signal:
        """Build from a JSON object; unknown keys are refused by name."""
        return cls(**v.json_fields("a signal", data, cls.__slots__,
                                   ("signal_id", "strategy", "symbol", "side")))  # type: ignore[arg-type]
