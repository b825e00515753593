"""Plain data shared by every layer: intents, positions, snapshots, rules, enums, results."""

from riskguard.model.decision import Detail, GateCheck
from riskguard.model.enums import Mode, PositionSide, Regime, RiskProfile, Severity, Side, TradingState
from riskguard.model.errors import InputValidationError, RiskguardError
from riskguard.model.instrument import InstrumentRules, LeverageBracket
from riskguard.model.intent import OrderIntent, parse_side
from riskguard.model.position import Position, parse_position_side
from riskguard.model.signal import Signal
from riskguard.model.snapshots import AccountSnapshot, MarketSnapshot

__all__ = [
    "AccountSnapshot",
    "Detail",
    "GateCheck",
    "InputValidationError",
    "InstrumentRules",
    "LeverageBracket",
    "MarketSnapshot",
    "Mode",
    "OrderIntent",
    "Position",
    "PositionSide",
    "Regime",
    "RiskProfile",
    "RiskguardError",
    "Severity",
    "Side",
    "Signal",
    "TradingState",
    "parse_position_side",
    "parse_side",
]
