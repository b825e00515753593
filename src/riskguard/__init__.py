"""riskguard: pre-trade risk and policy engine for automated crypto trading."""

from riskguard.config import Posture, PostureError, load_config, preset
from riskguard.engine import RiskEngine
from riskguard.model import (
    AccountSnapshot,
    InputValidationError,
    InstrumentRules,
    MarketSnapshot,
    OrderIntent,
    Position,
    Signal,
    TradingState,
)

__version__ = "0.1.0"

__all__ = [
    "AccountSnapshot",
    "InputValidationError",
    "InstrumentRules",
    "MarketSnapshot",
    "OrderIntent",
    "Position",
    "Posture",
    "PostureError",
    "RiskEngine",
    "Signal",
    "TradingState",
    "__version__",
    "load_config",
    "preset",
]
