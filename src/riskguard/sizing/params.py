"""Sizing settings compiled once from the posture into plain floats and ready-made adjustments.

The per-order sizing functions read only this object: no pydantic and no string formatting per
call. Every reason string is built here, once. Stop distances are not sizing settings: they come
from the posture's ``exits`` section, compiled into the ``ExitRules`` held here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from riskguard.config.exits_schema import ExitsSection
from riskguard.config.sizing_schema import SizingSection
from riskguard.exits.rules import ExitRules, ModeRules, VolState, compile_exit_rules
from riskguard.model.enums import Mode, Regime, RiskProfile
from riskguard.sizing.breakdown import Adjustment, RiskBreakdown

if TYPE_CHECKING:
    from collections.abc import Mapping

    from riskguard.config.schema import Posture


def _direction(value: float) -> str:
    if value < 1.0:
        return "reducing risk"
    if value > 1.0:
        return "increasing risk"
    return "no change"


def _stop_adjustment(rules: ExitRules, regime: Regime, volatility: VolState, mode: ModeRules) -> Adjustment:
    """The ATR stop as one multiple (ATRs) with its factors spelled out, e.g. "stop at 2 x ATR
    (high volatility) in the HIGH_VOL regime, x1.5 regime stop = 3 x ATR"."""
    base = rules.stop_atr_multiple(volatility)
    regime_factor = rules.stop_regime[regime]
    mode_factor = mode.stop_multiplier
    total = base * regime_factor * mode_factor
    reason = f"stop at {base:g} x ATR ({volatility.value} volatility) in the {regime.value} regime"
    factors = []
    if regime_factor != 1.0:
        factors.append(f"x{regime_factor:g} regime stop")
    if mode_factor != 1.0:
        factors.append(f"x{mode_factor:g} {mode.name} exit mode")
    if factors:
        reason += f", {', '.join(factors)} = {total:g} x ATR"
    return Adjustment("stop_atr_multiple", total, reason)


@dataclass(frozen=True, slots=True)
class StabilizerParams:
    """SizingStabilizer settings: relative hysteresis band, bucket (fraction of NAV), interval (ms)."""

    hysteresis: float
    bucket: float
    min_interval_ms: int
    immediate_decrease: bool


@dataclass(frozen=True, slots=True)
class SizingParams:
    """Every sizing threshold and multiplier of a posture, as plain floats (fractions of NAV, USDT, x)."""

    base_risk_pct: float
    min_risk_pct: float
    max_risk_pct: float
    min_position_usdt: float
    max_position_usdt: float
    profiles: Mapping[RiskProfile, Adjustment]
    confidence_high_threshold: float
    confidence_low_threshold: float
    confidence_high: Adjustment
    confidence_mid: Adjustment
    confidence_low: Adjustment
    kelly_fraction: float
    kelly_risk_aversion: float
    kelly_min_fraction: float
    kelly_max_fraction: float
    kelly_mode_caps: Mapping[Mode, float]
    kelly_fraction_adjustment: Adjustment
    kelly_risk_aversion_adjustment: Adjustment
    vol_extreme_above: float
    vol_high_above: float
    vol_low_below: float
    vol_short_window: int
    vol_long_window: int
    vol_extreme: Adjustment
    vol_high: Adjustment
    vol_normal: Adjustment
    vol_low: Adjustment
    regime_adjustments: Mapping[Regime, Adjustment]
    exit_rules: ExitRules
    stop_adjustments: Mapping[tuple[Regime, VolState, str], Adjustment]
    """The ATR stop's explanation by (regime, volatility level, exit mode name)."""
    drawdown_start: float
    drawdown_full: float
    drawdown_min_multiplier: float
    no_drawdown_haircut: Adjustment
    stabilizer: StabilizerParams
    risk_cache: dict[tuple[Any, ...], RiskBreakdown] = field(
        default_factory=dict, compare=False, repr=False, hash=False)
    """Memo of risk breakdowns by their inputs: they are immutable and the inputs mostly discrete
    (bands, regimes, profiles), so repeated orders reuse one object instead of rebuilding it."""

    def with_risk_ceiling(self, max_risk_pct: float) -> SizingParams:
        """These parameters with another ceiling on the final risk (fraction of NAV), e.g. an
        execution mode's cap; the floor follows it down if it would lie above it."""
        return replace(self, max_risk_pct=max_risk_pct, min_risk_pct=min(self.min_risk_pct, max_risk_pct),
                       risk_cache={})

    @classmethod
    def from_posture(cls, posture: Posture) -> SizingParams:
        """Compile ``posture.sizing`` and ``posture.exits`` (validated by pydantic) for the hot path."""
        return cls.from_section(posture.sizing, compile_exit_rules(posture.exits))

    @classmethod
    def from_section(cls, s: SizingSection, exit_rules: ExitRules | None = None) -> SizingParams:
        """Compile a ``SizingSection``; use this when no full posture is at hand (tests, tools).

        ``exit_rules`` gives the ATR stop distances; None = the default ``exits`` section's.
        """
        if s.min_risk_pct > s.max_risk_pct:
            raise ValueError("sizing.min_risk_pct must be <= sizing.max_risk_pct")
        pa, cb, k, vr, st = s.profile_adjustments, s.confidence, s.kelly, s.volatility_ratio, s.stabilizer
        profile_values = {
            RiskProfile.NORMAL: pa.normal, RiskProfile.REDUCED: pa.reduced,
            RiskProfile.NO_NEW_TRADES: pa.no_new_trades,
        }
        profiles = {
            p: Adjustment("profile", value, f"{p.value} risk profile, {_direction(value)}")
            for p, value in profile_values.items()
        }
        positions = {
            Regime.BULL: s.regimes.bull.position, Regime.BEAR: s.regimes.bear.position,
            Regime.CHOP: s.regimes.chop.position, Regime.HIGH_VOL: s.regimes.high_vol.position,
            Regime.NORMAL: s.regimes.normal.position, Regime.LOW_VOL: s.regimes.low_vol.position,
        }
        regime_adjustments = {
            r: Adjustment("regime", value, f"{r.value} regime detected, {_direction(value)}")
            for r, value in positions.items()
        }
        exits = compile_exit_rules(ExitsSection()) if exit_rules is None else exit_rules
        stop_adjustments = {
            (r, vol, mode.name): _stop_adjustment(exits, r, vol, mode)
            for r in Regime for vol in VolState for mode in exits.modes.values()
        }
        return cls(
            base_risk_pct=s.base_risk_pct,
            min_risk_pct=s.min_risk_pct,
            max_risk_pct=s.max_risk_pct,
            min_position_usdt=s.min_position_usdt,
            max_position_usdt=s.max_position_usdt,
            profiles=MappingProxyType(profiles),
            confidence_high_threshold=cb.high_threshold,
            confidence_low_threshold=cb.low_threshold,
            confidence_high=Adjustment(
                "confidence", cb.high, f"confidence >= {cb.high_threshold:g}, {_direction(cb.high)}"),
            confidence_mid=Adjustment(
                "confidence", cb.mid,
                f"confidence in ({cb.low_threshold:g}, {cb.high_threshold:g}), {_direction(cb.mid)}"),
            confidence_low=Adjustment(
                "confidence", cb.low, f"confidence <= {cb.low_threshold:g}, {_direction(cb.low)}"),
            kelly_fraction=k.fraction,
            kelly_risk_aversion=k.risk_aversion,
            kelly_min_fraction=k.min_fraction,
            kelly_max_fraction=k.max_fraction,
            kelly_mode_caps=MappingProxyType(
                {Mode.DEMO: k.mode_caps.demo, Mode.PAPER: k.mode_caps.paper, Mode.LIVE: k.mode_caps.live}),
            kelly_fraction_adjustment=Adjustment(
                "kelly_fraction", k.fraction, f"fractional Kelly ({k.fraction:g} of full Kelly)"),
            kelly_risk_aversion_adjustment=Adjustment(
                "kelly_risk_aversion", 1.0 / k.risk_aversion,
                f"Kelly divided by risk aversion {k.risk_aversion:g}"),
            vol_extreme_above=vr.extreme_above,
            vol_high_above=vr.high_above,
            vol_low_below=vr.low_below,
            vol_short_window=vr.short_window,
            vol_long_window=vr.long_window,
            vol_extreme=Adjustment(
                "volatility_ratio", vr.extreme_multiplier,
                f"volatility ratio > {vr.extreme_above:g}, {_direction(vr.extreme_multiplier)}"),
            vol_high=Adjustment(
                "volatility_ratio", vr.high_multiplier,
                f"volatility ratio > {vr.high_above:g}, {_direction(vr.high_multiplier)}"),
            vol_normal=Adjustment(
                "volatility_ratio", 1.0,
                f"volatility ratio within [{vr.low_below:g}, {vr.high_above:g}], no change"),
            vol_low=Adjustment(
                "volatility_ratio", vr.low_multiplier,
                f"volatility ratio < {vr.low_below:g}, {_direction(vr.low_multiplier)}"),
            regime_adjustments=MappingProxyType(regime_adjustments),
            exit_rules=exits,
            stop_adjustments=MappingProxyType(stop_adjustments),
            drawdown_start=s.drawdown_haircut.start_drawdown,
            drawdown_full=s.drawdown_haircut.full_drawdown,
            drawdown_min_multiplier=s.drawdown_haircut.min_multiplier,
            no_drawdown_haircut=Adjustment(
                "drawdown_haircut", 1.0,
                f"drawdown <= {s.drawdown_haircut.start_drawdown:g} of peak, no change"),
            stabilizer=StabilizerParams(
                hysteresis=st.hysteresis,
                bucket=st.bucket,
                min_interval_ms=round(st.min_interval_s * 1000.0),
                immediate_decrease=st.immediate_decrease,
            ),
        )
