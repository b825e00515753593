"""The trading policy as the gates enforce it for one symbol (computed by riskguard.policy)."""

from __future__ import annotations

from dataclasses import dataclass

from riskguard.model.enums import ExitMode, Mode, RiskProfile, TradingState


@dataclass(frozen=True, slots=True)
class AppliedPolicy:
    """What the engine must enforce for ``symbol``; neutral values stand in for stages that are off.

    ``min_confidence``, ``max_positions`` and ``exit_mode`` are None when their stage is off (the
    engine keeps its own thresholds); ``risk_multiplier`` is 1.0, ``risk_profile`` NORMAL,
    ``allow_new_trades`` True, ``trading_state`` ACTIVE and ``mode_override`` None likewise.
    """

    symbol: str
    block_symbol: bool
    min_confidence: float | None
    risk_multiplier: float
    risk_profile: RiskProfile
    max_positions: int | None
    allow_new_trades: bool
    trading_state: TradingState
    mode_override: Mode | None
    exit_mode: ExitMode | None

    def to_dict(self) -> dict[str, object]:
        return {
            "symbol": self.symbol, "block_symbol": self.block_symbol, "min_confidence": self.min_confidence,
            "risk_multiplier": self.risk_multiplier, "risk_profile": self.risk_profile.value,
            "max_positions": self.max_positions, "allow_new_trades": self.allow_new_trades,
            "trading_state": self.trading_state.value,
            "mode_override": None if self.mode_override is None else self.mode_override.value,
            "exit_mode": None if self.exit_mode is None else self.exit_mode.value,
        }
