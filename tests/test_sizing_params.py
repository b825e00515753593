"""Sizing posture section: REQUIREMENTS defaults, validation, presets, compilation to SizingParams."""

from __future__ import annotations

import dataclasses

import pytest
from pydantic import ValidationError

from riskguard.config import preset
from riskguard.config.exits_schema import ExitsSection
from riskguard.config.loader import preset_data, validate_posture
from riskguard.config.sizing_schema import SizingSection
from riskguard.exits.rules import compile_exit_rules
from riskguard.model.enums import Mode, Regime, RiskProfile
from riskguard.sizing.params import SizingParams


def test_defaults_are_the_requirements_numbers() -> None:
    s = SizingSection()
    assert (s.base_risk_pct, s.min_risk_pct, s.max_risk_pct) == (0.01, 0.0001, 0.02)
    assert (s.profile_adjustments.normal, s.profile_adjustments.reduced, s.profile_adjustments.no_new_trades) == (
        1.0, 0.7, 0.1)
    c = s.confidence
    assert (c.high_threshold, c.low_threshold, c.high, c.mid, c.low) == (0.85, 0.60, 1.2, 1.0, 0.8)
    k = s.kelly
    assert (k.fraction, k.min_fraction, k.max_fraction, k.risk_aversion) == (0.25, 0.0, 0.2, 1.0)
    assert (k.mode_caps.demo, k.mode_caps.paper, k.mode_caps.live) == (0.10, 0.02, 0.0025)
    v = s.volatility_ratio
    assert (v.extreme_above, v.extreme_multiplier, v.high_above, v.high_multiplier, v.low_below,
            v.low_multiplier) == (2.0, 0.5, 1.5, 0.75, 0.5, 1.25)
    r = s.regimes
    assert (r.bull.position, r.bear.position, r.chop.position, r.high_vol.position, r.normal.position,
            r.low_vol.position) == (1.2, 0.8, 0.6, 0.5, 1.0, 1.0)


@pytest.mark.parametrize("payload", [
    {"atr_stop_multiple": 1.5},
    {"atr_stop": {"high_vol": 2.0}},
    {"atr_period": 14},
    {"regimes": {"bull": {"stop": 0.8}}},
    {"regimes": {"bear": {"take_profit": 0.8}}},
])
def test_stop_and_take_profit_settings_are_refused_outside_exits(payload: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="extra"):
        SizingSection.model_validate(payload)


@pytest.mark.parametrize("name", ["conservative", "moderate", "aggressive"])
def test_presets_validate_and_compile(name: str) -> None:
    params = SizingParams.from_posture(preset(name))
    assert params.min_risk_pct <= params.base_risk_pct <= params.max_risk_pct
    assert set(params.profiles) == set(RiskProfile)
    assert set(params.regime_adjustments) == set(Regime)
    assert set(params.kelly_mode_caps) == set(Mode)


@pytest.mark.parametrize("payload", [
    {"kelly": {"fraction": 0.0}},
    {"kelly": {"fraction": float("inf")}},
    {"regimes": {"bull": {"position": -1.0}}},
    {"confidence": {"high": float("nan")}},
    {"volatility_ratio": {"high_multiplier": 0}},
    {"drawdown_haircut": {"min_multiplier": 1.5}},
    {"stabilizer": {"bucket": 0}},
])
def test_non_positive_or_non_finite_values_are_refused(payload: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        SizingSection.model_validate(payload)


@pytest.mark.parametrize("payload", [
    {"confidence": {"low_threshold": 0.9}},
    {"volatility_ratio": {"high_above": 2.5}},
    {"volatility_ratio": {"short_window": 800}},
    {"drawdown_haircut": {"start_drawdown": 0.1, "full_drawdown": 0.05}},
    {"kelly": {"min_fraction": 0.3}},
])
def test_misordered_bands_are_refused(payload: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        SizingSection.model_validate(payload)


def test_unknown_keys_are_refused_in_nested_sections() -> None:
    with pytest.raises(ValidationError, match="extra"):
        SizingSection.model_validate({"kelly": {"fractoin": 0.5}})


def test_params_compile_the_postures_exit_rules() -> None:
    data = preset_data("moderate")
    data["exits"] = {"stop_atr_multiple": 1.2, "stop_regime_multiples": {"bear": 1.1}}
    posture = validate_posture(data)
    params = SizingParams.from_posture(posture)
    assert params.exit_rules == compile_exit_rules(posture.exits)
    assert (params.exit_rules.stop_atr_normal, params.exit_rules.stop_regime[Regime.BEAR]) == (1.2, 1.1)


def test_bare_section_uses_the_default_exit_rules() -> None:
    assert SizingParams.from_section(SizingSection()).exit_rules == compile_exit_rules(ExitsSection())


def test_params_are_frozen() -> None:
    params = SizingParams.from_section(SizingSection())
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.base_risk_pct = 0.5  # type: ignore[misc]


def test_stabilizer_interval_is_compiled_to_ms() -> None:
    params = SizingParams.from_section(SizingSection.model_validate({"stabilizer": {"min_interval_s": 1.5}}))
    assert params.stabilizer.min_interval_ms == 1500


def test_min_above_max_risk_is_refused_when_compiling_a_bare_section() -> None:
    with pytest.raises(ValueError, match="min_risk_pct"):
        SizingParams.from_section(SizingSection(min_risk_pct=0.05, max_risk_pct=0.02))


@pytest.mark.parametrize("name", ["conservative", "moderate", "aggressive"])
def test_preset_max_risk_never_exceeds_the_max_loss_gate(name: str) -> None:
    posture = preset(name)
    assert posture.sizing.max_risk_pct <= posture.trade.max_loss_nav_pct
