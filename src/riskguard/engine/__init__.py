"""The risk engine: policy -> sizing -> gates -> decision."""

from riskguard.engine.engine import RiskEngine
from riskguard.engine.instruments import default_instruments

__all__ = ["RiskEngine", "default_instruments"]
