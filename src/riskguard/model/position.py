"""An open position, as the ledger and the book hold it, with the legs it was built from."""

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
class PositionLegs:
    """How a position was built, as far as the pyramiding rules need it.

    ``r_unit`` is one R: the opening leg's stop distance (USDT per base unit), fixed for the life of
    the position whatever later stop moves do; ``first_qty`` the opening leg (base units), so the
    position's *initial risk* is ``first_qty x r_unit`` USDT; ``adds`` the adds filled after it;
    ``last_qty``, ``last_price`` (USDT) and ``last_ts_ms`` (epoch ms) the latest leg (the opening
    leg while there is no add).
    """

    r_unit: float
    first_qty: float
    adds: int
    last_qty: float
    last_price: float
    last_ts_ms: int

    def __post_init__(self) -> None:
        s = object.__setattr__
        s(self, "r_unit", v.positive("legs.r_unit", self.r_unit))
        s(self, "first_qty", v.positive("legs.first_qty", self.first_qty))
        if isinstance(self.adds, bool) or not isinstance(self.adds, int) or self.adds < 0:
            raise InputValidationError("legs.adds", "must be an integer >= 0", self.adds)
        s(self, "last_qty", v.positive("legs.last_qty", self.last_qty))
        s(self, "last_price", v.price("legs.last_price", self.last_price))
        s(self, "last_ts_ms", v.timestamp_ms("legs.last_ts_ms", self.last_ts_ms))

    @property
    def initial_risk_usdt(self) -> float:
        """The opening leg's loss at its stop, USDT: the budget every add is measured against."""
        return self.first_qty * self.r_unit

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {f: getattr(self, f) for f in self.__slots__}

    @classmethod
    def from_dict(cls, data: object) -> PositionLegs:
        """Build from a JSON object; unknown or missing keys are refused by name."""
        if not isinstance(data, dict):
            raise InputValidationError("legs", "must be an object", data)
        try:
            fields = v.json_fields("a position's legs", data, cls.__slots__, cls.__slots__)
        except InputValidationError as error:
            raise InputValidationError(f"legs.{error.field}", error.message, error.value) from None
        return cls(**fields)  # type: ignore[arg-type]  # each field is validated by __post_init__


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
    legs: PositionLegs | None = None
    """None: a position of one leg whose R is its entry-to-stop distance (see :meth:`legs_or_opening`)."""

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
        put(held, "legs", None)
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
        if self.legs is not None and not isinstance(self.legs, PositionLegs):
            s(self, "legs", PositionLegs.from_dict(self.legs))

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

    def legs_or_opening(self, default_stop_distance_pct: float) -> PositionLegs:
        """The position's legs; for a position without them (a single leg, e.g. one handed in by a
        caller), its opening leg: R = the entry-to-stop distance, or ``default_stop_distance_pct``
        (fraction) of the entry price when it carries no stop."""
        if self.legs is not None:
            return self.legs
        stop = self.stop_price
        r_unit = abs(self.entry_price - stop) if stop is not None else 0.0
        if r_unit <= 0.0:
            r_unit = self.entry_price * default_stop_distance_pct
        return PositionLegs(r_unit, self.qty, 0, self.qty, self.entry_price,
                            self.opened_ts_ms if self.opened_ts_ms is not None else 0)

    def with_add(self, qty: float, price: float, ts_ms: int, stop_price: float | None,
                 default_stop_distance_pct: float, *, extends_last_leg: bool = False) -> Position:
        """The position after an add of ``qty`` base units filled at ``price`` USDT at ``ts_ms``
        (epoch ms): the quantity-weighted entry, ``stop_price`` as the position's one stop (its
        current stop when None) and one more leg; with ``extends_last_leg`` (a further partial fill
        of the same add, or of the opening order) the last leg grows instead. Values are trusted
        (riskguard's own fills)."""
        legs = self.legs_or_opening(default_stop_distance_pct)
        total = self.qty + qty
        if extends_last_leg:
            last_qty = legs.last_qty + qty
            last_price = (legs.last_qty * legs.last_price + qty * price) / last_qty
            first_qty = last_qty if legs.adds == 0 else legs.first_qty
            new_legs = PositionLegs(legs.r_unit, first_qty, legs.adds, last_qty, last_price, legs.last_ts_ms)
        else:
            new_legs = PositionLegs(legs.r_unit, legs.first_qty, legs.adds + 1, qty, price, ts_ms)
        return Position(self.symbol, self.side, total, (self.qty * self.entry_price + qty * price) / total,
                        self.strategy, leverage=self.leverage,
                        stop_price=self.stop_price if stop_price is None else stop_price,
                        take_profit_price=self.take_profit_price, opened_ts_ms=self.opened_ts_ms,
                        position_id=self.position_id, legs=new_legs)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form. ``legs`` only when they say more than the position itself: a position of
        one leg, filled at once at its entry with its stop one R away, is stored as it always was
        (every decision stores its book: the common case stays small and keeps its text)."""
        data = {f: getattr(self, f) for f in self.__slots__}
        legs = data.pop("legs")
        if legs is not None and not self._legs_are_the_opening_leg(legs):
            data["legs"] = legs.to_dict()
        return data

    def _legs_are_the_opening_leg(self, legs: PositionLegs) -> bool:
        stop = self.stop_price
        return (stop is not None and legs.adds == 0 and legs.r_unit == abs(self.entry_price - stop)
                and legs.first_qty == self.qty and legs.last_qty == self.qty and legs.last_price == self.entry_price
                and legs.last_ts_ms == (self.opened_ts_ms if self.opened_ts_ms is not None else 0))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Position:
        """Build from a JSON object; unknown keys are refused by name."""
        return cls(**v.json_fields("a position", data, cls.__slots__,
                                   ("symbol", "side", "qty", "entry_price", "strategy")))  # type: ignore[arg-type]
