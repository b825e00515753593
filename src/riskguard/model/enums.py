"""Enumerations shared by every layer. String-valued so they serialise as-is."""

from __future__ import annotations

from enum import StrEnum


class Side(StrEnum):
    """Direction of an order intent."""

    BUY = "BUY"
    SELL = "SELL"


class PositionSide(StrEnum):
    """Direction of an open position."""

    LONG = "LONG"
    SHORT = "SHORT"


class MarginMode(StrEnum):
    """How a futures position is margined: its own margin only, or the whole cross wallet."""

    ISOLATED = "isolated"
    CROSS = "cross"


class TradingState(StrEnum):
    """Account-wide trading state. Only ACTIVE lets risk-adding orders through."""

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


class Regime(StrEnum):
    """Market regime labels produced by riskguard.policy."""

    BULL = "BULL"
    BEAR = "BEAR"
    HIGH_VOL = "HIGH_VOL"
    LOW_VOL = "LOW_VOL"
    CHOP = "CHOP"
    NORMAL = "NORMAL"


class RiskProfile(StrEnum):
    """Risk profile of the account; shrinks size, never blocks by itself."""

    NORMAL = "NORMAL"
    REDUCED = "REDUCED"
    NO_NEW_TRADES = "NO_NEW_TRADES"


class Mode(StrEnum):
    """Execution mode; each has its own Kelly cap."""

    DEMO = "demo"
    PAPER = "paper"
    LIVE = "live"

    @property
    def stake(self) -> int:
        """How much real money an order in this mode puts at stake: demo 0 < paper 1 < live 2."""
        return _MODE_STAKE[self]


_MODE_STAKE = {Mode.DEMO: 0, Mode.PAPER: 1, Mode.LIVE: 2}


class Severity(StrEnum):
    """A hard gate failure always vetoes; soft failures veto only past the posture's allowance."""

    HARD = "hard"
    SOFT = "soft"


class ExitMode(StrEnum):
    """Exit style the exits layer applies: standard brackets, tighter stops, or trailing stops."""

    STANDARD = "standard"
    TIGHT = "tight"
    TRAILING = "trailing"
