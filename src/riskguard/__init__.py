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
    "TradingState",
    "__version__",
    "load_config",
    "preset",
]
