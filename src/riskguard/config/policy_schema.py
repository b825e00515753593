"""Posture section for the trading policy: staged activation flags, regime thresholds, ladder.

Defaults are the REQUIREMENTS numbers (sections B and E); docs/regime.md explains the regime rules.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from riskguard.config.core_schema import Section
from riskguard.config.field_types import Fraction, PositiveFloat, PositiveFraction, PositiveInt
from riskguard.model.enums import Mode, Regime

Bars = Annotated[int, Field(ge=2, le=100_000)]
"""A lookback in bars of the candle series the detector is fed (1h candles in the shipped presets)."""

DrawdownWindowName = Literal["daily", "weekly", "monthly"]
ExitModeName = Literal["standard", "tight", "trailing"]
LadderAction = Literal["halt_new_trades", "close_all", "reduce_size", "switch_mode"]
PolicyMultiplier = Annotated[float, Field(ge=0.1, le=1.0, allow_inf_nan=False)]
"""A policy risk multiplier: REQUIREMENTS B keeps it within [0.1, 1.0]."""


class PolicyFlagsSection(Section):
    """Each stage applies the policy when on; off = computed and logged (shadow mode) only."""

    use_for_signal_filter: bool = Field(
        False, description="Stage 1: block symbols the policy disallows.")
    use_for_confidence_threshold: bool = Field(
        False, description="Stage 1: apply the policy's min confidence.")
    use_for_risk_sizing: bool = Field(
        False, description="Stage 2: scale size by the policy multiplier.")
    use_for_position_limits: bool = Field(
        False, description="Stage 3: the policy's max positions per regime.")
    use_for_trading_gate: bool = Field(
        False, description="Stage 4: stop new trades when the policy says so.")
    use_for_exit_mode: bool = Field(False, description="Stage 5: the policy's exit style.")


class RegimeDetectionSection(Section):
    """Thresholds of the OHLCV regime detector (riskguard.policy.regime); lookbacks in bars."""

    atr_period: Bars = Field(14, description="Wilder ATR period: the current volatility and the trend unit.")
    vol_baseline_period: Bars = Field(
        720, description="Wilder ATR period of the volatility baseline (720 one-hour bars ~ 30 days).")
    high_vol_ratio: PositiveFloat = Field(
        2.0, description="ATR(atr_period) / ATR(vol_baseline_period) from which the regime is HIGH_VOL.")
    low_vol_ratio: PositiveFloat = Field(
        0.5, description="Volatility ratio at or below which an untrended bar is LOW_VOL.")
    detect_low_vol: bool = Field(True, description="Label LOW_VOL at all; off = such bars read NORMAL.")
    ema_fast: Bars = Field(48, description="Fast EMA span, bars.")
    ema_slow: Bars = Field(168, description="Slow EMA span, bars.")
    slope_lookback: Bars = Field(48, description="Bars over which the slow EMA's slope is measured.")
    trend_gap_atr: PositiveFloat = Field(
        1.0, description="Smallest |EMA fast - EMA slow| for a trend, in ATRs.")
    trend_slope_atr: PositiveFloat = Field(
        1.0, description="Smallest |slow EMA change over slope_lookback| for a trend, in ATRs.")
    efficiency_window: Bars = Field(168, description="Kaufman efficiency-ratio window, bars.")
    chop_efficiency_max: PositiveFraction = Field(
        0.10, description="Efficiency ratio below which an untrended, not quiet bar is CHOP (0 noise, 1 line).")

    @model_validator(mode="after")
    def _ordered(self) -> RegimeDetectionSection:
        if self.ema_fast >= self.ema_slow:
            raise ValueError("ema_fast must be < ema_slow")
        if self.atr_period >= self.vol_baseline_period:
            raise ValueError("atr_period must be < vol_baseline_period")
        if not self.low_vol_ratio < 1.0 < self.high_vol_ratio:
            raise ValueError("volatility ratios must satisfy low_vol_ratio < 1 < high_vol_ratio")
        return self


class RegimeRuleSection(Section):
    """What the policy does in one regime."""

    risk_multiplier: PolicyMultiplier = Field(1.0, description="Policy risk multiplier in this regime.")
    max_positions: PositiveInt = Field(4, description="Open positions the policy allows in this regime.")
    min_confidence: Fraction = Field(0.55, description="Smallest signal confidence in this regime, 0..1.")
    exit_mode: ExitModeName = Field("standard", description="Exit style: standard, tight or trailing.")


class RegimeRulesSection(Section):
    """One rule per regime (REQUIREMENTS E: bull ×1.2 capped at 1, bear ×0.8, ranging ×0.6, high vol ×0.5)."""

    bull: RegimeRuleSection = Field(default_factory=lambda: RegimeRuleSection(exit_mode="trailing"))
    bear: RegimeRuleSection = Field(default_factory=lambda: RegimeRuleSection(
        risk_multiplier=0.8, max_positions=2, min_confidence=0.65, exit_mode="tight"))
    high_vol: RegimeRuleSection = Field(default_factory=lambda: RegimeRuleSection(
        risk_multiplier=0.5, max_positions=2, min_confidence=0.70, exit_mode="tight"))
    low_vol: RegimeRuleSection = Field(default_factory=RegimeRuleSection)
    chop: RegimeRuleSection = Field(default_factory=lambda: RegimeRuleSection(
        risk_multiplier=0.6, max_positions=2, min_confidence=0.65, exit_mode="tight"))
    normal: RegimeRuleSection = Field(default_factory=RegimeRuleSection)

    def for_regime(self, regime: Regime) -> RegimeRuleSection:
        """The rule of ``regime`` (field names are the lower-cased enum values)."""
        rule = getattr(self, regime.value.lower())
        assert isinstance(rule, RegimeRuleSection)
        return rule


class DrawdownStepSection(Section):
    window: DrawdownWindowName = Field(description="Drawdown window: daily, weekly or monthly (UTC).")
    threshold_pct: PositiveFraction = Field(description="Drawdown from the window's NAV peak, fraction.")
    multiplier: PolicyMultiplier = Field(description="Policy risk multiplier once the drawdown reaches it.")


class LosingStreakStepSection(Section):
    min_losses: PositiveInt = Field(description="Consecutive losing closed trades.")
    multiplier: PolicyMultiplier = Field(description="Policy risk multiplier from that streak on.")


class PerformanceSection(Section):
    """Per-symbol performance over the last ``window_trades`` closed trades."""

    window_trades: PositiveInt = Field(20, description="Closed trades per symbol kept for the statistics.")
    min_trades: PositiveInt = Field(10, description="Trades needed before performance may reduce or block.")
    poor_win_rate: Fraction = Field(0.40, description="Win rate below which a symbol performs poorly.")
    poor_avg_r: float = Field(0.0, allow_inf_nan=False,
                              description="Average R at or below which a symbol performs poorly.")
    poor_multiplier: PolicyMultiplier = Field(0.5, description="Policy multiplier of a poor performer.")
    block_win_rate: Fraction = Field(0.25, description="Win rate below which the symbol is disallowed...")
    block_avg_r: float = Field(-0.5, allow_inf_nan=False,
                               description="...when its average R is also at or below this.")

    @model_validator(mode="after")
    def _ordered(self) -> PerformanceSection:
        if self.min_trades > self.window_trades:
            raise ValueError("min_trades must be <= window_trades")
        if self.block_win_rate > self.poor_win_rate or self.block_avg_r > self.poor_avg_r:
            raise ValueError("block thresholds must be at or below the poor thresholds")
        return self


def _default_drawdown_steps() -> list[DrawdownStepSection]:
    return [DrawdownStepSection(window="daily", threshold_pct=0.02, multiplier=0.5),
            DrawdownStepSection(window="weekly", threshold_pct=0.05, multiplier=0.5),
            DrawdownStepSection(window="monthly", threshold_pct=0.10, multiplier=0.5)]


def _default_streak_steps() -> list[LosingStreakStepSection]:
    return [LosingStreakStepSection(min_losses=3, multiplier=0.6),
            LosingStreakStepSection(min_losses=5, multiplier=0.3)]


class ReductionsSection(Section):
    """How risk state shrinks the policy multiplier. Categories multiply; the result is clamped."""

    min_multiplier: PolicyMultiplier = Field(0.1, description="Floor of the policy multiplier.")
    drawdown_steps: list[DrawdownStepSection] = Field(
        default_factory=_default_drawdown_steps,
        description="Drawdown reductions; the smallest multiplier of the steps reached applies.")
    losing_streak_steps: list[LosingStreakStepSection] = Field(
        default_factory=_default_streak_steps,
        description="Losing-streak reductions; the longest streak step reached applies.")
    reduced_profile_regimes: list[Regime] = Field(
        default_factory=lambda: [Regime.HIGH_VOL],
        description="Regimes in which the risk profile is REDUCED (a drawdown reduces the multiplier only).")
    performance: PerformanceSection = Field(default_factory=PerformanceSection)

    @field_validator("drawdown_steps")
    @classmethod
    def _drawdown_ordered(cls, value: list[DrawdownStepSection]) -> list[DrawdownStepSection]:
        for window in ("daily", "weekly", "monthly"):
            steps = [s for s in value if s.window == window]
            for lower, higher in pairwise(steps):
                if higher.threshold_pct <= lower.threshold_pct or higher.multiplier > lower.multiplier:
                    raise ValueError(f"{window} drawdown steps must have increasing thresholds and "
                                     "non-increasing multipliers")
        return value

    @field_validator("losing_streak_steps")
    @classmethod
    def _streak_ordered(cls, value: list[LosingStreakStepSection]) -> list[LosingStreakStepSection]:
        for lower, higher in pairwise(value):
            if higher.min_losses <= lower.min_losses or higher.multiplier > lower.multiplier:
                raise ValueError("losing streak steps must have increasing min_losses and "
                                 "non-increasing multipliers")
        return value


class LadderRungSection(Section):
    """One rung of the drawdown action ladder."""

    window: DrawdownWindowName = Field(description="Drawdown window: daily, weekly or monthly (UTC).")
    threshold_pct: PositiveFraction = Field(description="Drawdown from the window's NAV peak that fires it.")
    action: LadderAction = Field(description="halt_new_trades, close_all, reduce_size or switch_mode.")
    size_multiplier: PositiveFraction | None = Field(None, description="reduce_size only: size multiplier.")
    mode: Mode | None = Field(None, description="switch_mode only: the mode switched to.")
    release: Literal["window_roll", "operator"] = Field(
        "window_roll", description="What lifts the rung: the window rolling over, or only an operator.")

    @model_validator(mode="after")
    def _action_arguments(self) -> LadderRungSection:
        if (self.action == "reduce_size") != (self.size_multiplier is not None):
            raise ValueError("size_multiplier is required by reduce_size and only by it")
        if (self.action == "switch_mode") != (self.mode is not None):
            raise ValueError("mode is required by switch_mode and only by it")
        if self.mode is Mode.LIVE:
            raise ValueError("a drawdown rung may switch to paper or demo, never to live")
        return self


def _default_ladder() -> list[LadderRungSection]:
    return [
        LadderRungSection(window="daily", threshold_pct=0.03, action="halt_new_trades"),
        LadderRungSection(window="daily", threshold_pct=0.05, action="close_all"),
        LadderRungSection(window="weekly", threshold_pct=0.07, action="reduce_size", size_multiplier=0.5),
        LadderRungSection(window="monthly", threshold_pct=0.15, action="switch_mode", mode=Mode.DEMO,
                          release="operator"),
    ]


class PolicySection(Section):
    flags: PolicyFlagsSection = Field(default_factory=PolicyFlagsSection)
    regime: RegimeDetectionSection = Field(default_factory=RegimeDetectionSection)
    regimes: RegimeRulesSection = Field(default_factory=RegimeRulesSection)
    unknown_regime_blocks: bool = Field(
        True, description="A symbol without a regime yet (no candles) gets no new trades (fail closed).")
    reductions: ReductionsSection = Field(default_factory=ReductionsSection)
    drawdown_ladder: list[LadderRungSection] = Field(
        default_factory=_default_ladder,
        description="Drawdown action ladder (REQUIREMENTS E); rungs of one window in increasing threshold.")

    @field_validator("drawdown_ladder")
    @classmethod
    def _ladder_ordered(cls, value: list[LadderRungSection]) -> list[LadderRungSection]:
        for window in ("daily", "weekly", "monthly"):
            thresholds = [r.threshold_pct for r in value if r.window == window]
            if any(b <= a for a, b in pairwise(thresholds)):
                raise ValueError(f"{window} ladder rungs must have strictly increasing threshold_pct")
        return value
