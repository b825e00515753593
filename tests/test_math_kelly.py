"""Kelly criterion: closed forms, risk aversion, clipping, fractional."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from riskguard.math.kelly import (
    clip_fraction,
    fractional_kelly,
    kelly_binary,
    kelly_binary_raw,
    kelly_continuous,
    kelly_continuous_raw,
)
from riskguard.model.errors import InputValidationError


def test_kelly_binary_matches_closed_form_for_even_odds() -> None:
    # b = 1: f* = 2p - 1
    assert kelly_binary_raw(0.6, 1.0) == pytest.approx(0.2, rel=1e-12)


def test_kelly_binary_matches_closed_form_for_two_to_one_payoff() -> None:
    # p = 0.5, b = 2: (2 * 0.5 - 0.5) / 2 = 0.25
    assert kelly_binary_raw(0.5, 2.0) == pytest.approx(0.25, rel=1e-12)


def test_kelly_binary_is_zero_at_break_even() -> None:
    # break-even p = 1 / (1 + b)
    assert kelly_binary_raw(1 / 3, 2.0) == pytest.approx(0.0, abs=1e-15)


def test_kelly_binary_raw_is_negative_without_edge() -> None:
    assert kelly_binary_raw(0.4, 1.0) == pytest.approx(-0.2, rel=1e-12)


def test_kelly_binary_clips_negative_edge_to_min_fraction() -> None:
    assert kelly_binary(0.4, 1.0) == 0.0


def test_kelly_binary_clips_to_default_max_of_0_2() -> None:
    assert kelly_binary(0.9, 3.0) == 0.2


def test_kelly_binary_divides_by_risk_aversion() -> None:
    assert kelly_binary(0.6, 1.0, risk_aversion=2.0) == pytest.approx(0.1, rel=1e-12)


def test_kelly_binary_respects_custom_bounds() -> None:
    assert kelly_binary(0.6, 1.0, min_fraction=0.0, max_fraction=0.05) == 0.05
    assert kelly_binary(0.4, 1.0, min_fraction=0.01, max_fraction=0.05) == 0.01


def test_kelly_continuous_is_mu_over_sigma_squared() -> None:
    assert kelly_continuous_raw(0.001, 0.02) == pytest.approx(0.001 / 0.0004, rel=1e-12)


def test_kelly_continuous_divides_by_risk_aversion_and_clips() -> None:
    assert kelly_continuous(0.0001, 0.02, risk_aversion=2.0, max_fraction=1.0) == pytest.approx(0.125, rel=1e-12)
    assert kelly_continuous(0.001, 0.02) == 0.2


def test_fractional_kelly_scales_full_kelly() -> None:
    assert fractional_kelly(0.2, 0.25) == pytest.approx(0.05, rel=1e-12)


@given(st.floats(0, 1), st.floats(0.01, 100))
def test_kelly_binary_always_within_bounds(p: float, b: float) -> None:
    assert 0.0 <= kelly_binary(p, b) <= 0.2


@given(st.floats(0.01, 0.99), st.floats(0.1, 10))
def test_kelly_binary_maximises_expected_log_growth(p: float, b: float) -> None:
    f = kelly_binary_raw(p, b)
    assume(0.0 < f < 0.99)

    def growth(x: float) -> float:
        return p * math.log1p(b * x) + (1 - p) * math.log1p(-x)

    assert growth(f) >= max(growth(f * 0.9), growth(min(f * 1.1, 0.995))) - 1e-12


def test_kelly_refuses_probability_above_one() -> None:
    with pytest.raises(InputValidationError) as err:
        kelly_binary(1.2, 1.0)
    assert err.value.field == "win_probability"


def test_kelly_refuses_non_positive_payoff() -> None:
    with pytest.raises(InputValidationError) as err:
        kelly_binary(0.5, 0.0)
    assert err.value.field == "reward_risk"


def test_kelly_refuses_nan_mean() -> None:
    with pytest.raises(InputValidationError) as err:
        kelly_continuous(float("nan"), 0.1)
    assert err.value.field == "mean_return"


def test_clip_refuses_inverted_bounds() -> None:
    with pytest.raises(InputValidationError) as err:
        clip_fraction(0.1, 0.5, 0.2)
    assert err.value.field == "min_fraction"
