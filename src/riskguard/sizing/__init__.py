"""Position sizing: ATR risk (section B), fractional Kelly with mode caps (section E), volatility,
regime and drawdown multipliers, exchange quantities, the stabilizer and the portfolio optimizer.
ATR stop distances come from the exit rules (``riskguard.exits``), the single home of stops."""

from riskguard.sizing.breakdown import Adjustment, Clamp, PositionSize, RiskBreakdown
from riskguard.sizing.multipliers import (
    confidence_adjustment,
    drawdown_haircut,
    profile_adjustment,
    regime_adjustment,
    volatility_ratio_adjustment,
)
from riskguard.sizing.optimizer import OptimizerResult, mean_variance_weights
from riskguard.sizing.params import SizingParams, StabilizerParams
from riskguard.sizing.position import atr_stop_distance, size_by_atr_risk, size_by_kelly, size_position
from riskguard.sizing.quantity import (
    QtyResult,
    exchange_leverage_notional_cap,
    floor_to_step,
    fraction_to_qty,
)
from riskguard.sizing.risk import final_risk_pct, kelly_risk_pct
from riskguard.sizing.stabilizer import SizingStabilizer, StabilizedSize

__all__ = [
    "Adjustment",
    "Clamp",
    "OptimizerResult",
    "PositionSize",
    "QtyResult",
    "RiskBreakdown",
    "SizingParams",
    "SizingStabilizer",
    "StabilizedSize",
    "StabilizerParams",
    "atr_stop_distance",
    "confidence_adjustment",
    "drawdown_haircut",
    "exchange_leverage_notional_cap",
    "final_risk_pct",
    "floor_to_step",
    "fraction_to_qty",
    "kelly_risk_pct",
    "mean_variance_weights",
    "profile_adjustment",
    "regime_adjustment",
    "size_by_atr_risk",
    "size_by_kelly",
    "size_position",
    "volatility_ratio_adjustment",
]
