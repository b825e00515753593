"""riskguard: pre-trade risk and policy engine for automated crypto trading.

The public names below are imported on first use (PEP 562), so that ``riskguard --help`` and the
light CLI commands do not pay for the engine's and the posture's imports they never use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from riskguard.lazy import lazy_exports

if TYPE_CHECKING:
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

__getattr__ = lazy_exports(__name__, {
    "Posture": "riskguard.config", "PostureError": "riskguard.config", "load_config": "riskguard.config",
    "preset": "riskguard.config", "RiskEngine": "riskguard.engine",
    "AccountSnapshot": "riskguard.model", "InputValidationError": "riskguard.model",
    "InstrumentRules": "riskguard.model", "MarketSnapshot": "riskguard.model", "OrderIntent": "riskguard.model",
    "Position": "riskguard.model", "Signal": "riskguard.model", "TradingState": "riskguard.model",
})


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
