"""The policy object handed to the engine for one symbol."""

from __future__ import annotations

from dataclasses import dataclass

from riskguard.model.enums import ExitMode, Mode, Regime, RiskProfile, TradingState


@dataclass(frozen=True, slots=True)
class TradingPolicy:
    """What the policy wants for ``symbol`` now.

    ``max_risk_pct`` is the policy risk multiplier in [0.1, 1.0] (a factor on base risk %, not a
    percentage of NAV). ``regime`` is None while the symbol's regime is unknown. ``notes`` give
    every reduction its human-readable reason, in the order applied.
    """

    symbol: str
    regime: Regime | None
    symbol_allowed: bool
    allowed_symbols: tuple[str, ...]
    min_confidence: float
    max_risk_pct: float
    risk_profile: RiskProfile
    max_positions: int
    allow_new_trades: bool
    exit_mode: ExitMode
    trading_state: TradingState
    mode_override: Mode | None
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready mapping (enums as their values)."""
        return {
            "symbol": self.symbol,
            "regime": None if self.regime is None else self.regime.value,
            "symbol_allowed": self.symbol_allowed,
            "allowed_symbols": list(self.allowed_symbols),
            "min_confidence": self.min_confidence,
            "max_risk_pct": self.max_risk_pct,
            "risk_profile": self.risk_profile.value,
            "max_positions": self.max_positions,
            "allow_new_trades": self.allow_new_trades,
            "exit_mode": self.exit_mode.value,
            "trading_state": self.trading_state.value,
            "mode_override": None if self.mode_override is None else self.mode_override.value,
            "notes": list(self.notes),
        }
