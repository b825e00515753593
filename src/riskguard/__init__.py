"""riskguard: pre-trade risk and policy engine for automated crypto trading."""

from typing import Any

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
    "RiskGate",
    "Signal",
    "TradingState",
    "__version__",
    "load_config",
    "preset",
]


def __getattr__(name: str) -> Any:
    # The ledger binding pulls in SQLAlchemy and a database driver: imported when first asked for,
    # so `import riskguard` (and every CLI command that needs no ledger) stays light.
    if name == "RiskGate":
        from riskguard.runtime import RiskGate

        return RiskGate
    raise AttributeError(f"module 'riskguard' has no attribute {name!r}")
