"""Mean-variance optimizer (scipy SLSQP): closed form when unconstrained, caps, long-only, leverage."""

from __future__ import annotations

import json

import numpy as np
import pytest

from riskguard.model.errors import InputValidationError
from riskguard.sizing.optimizer import mean_variance_weights

MU = np.array([0.010, 0.006, -0.004])
COV = np.array([[0.0400, 0.0060, 0.0020], [0.0060, 0.0250, 0.0010], [0.0020, 0.0010, 0.0100]])


def test_unconstrained_solution_matches_closed_form() -> None:
    gamma = 10.0
    expected = np.linalg.solve(COV, MU) / gamma
    out = mean_variance_weights(MU, COV, risk_aversion=gamma, gross_cap=10.0, max_weight=10.0, long_only=False)
    assert out.success
    np.testing.assert_allclose(out.weights, expected, atol=1e-6)


def test_long_only_has_no_short_weights() -> None:
    out = mean_variance_weights(MU, COV, risk_aversion=1.0, gross_cap=1.0, max_weight=1.0, long_only=True)
    assert (out.weights >= 0).all() and out.weights[2] == pytest.approx(0.0, abs=1e-9)


def test_gross_exposure_cap_binds() -> None:
    out = mean_variance_weights(MU, COV, risk_aversion=0.5, gross_cap=0.8, max_weight=1.0, long_only=False)
    assert out.gross == pytest.approx(0.8, rel=1e-6)
    assert out.gross <= 0.8


def test_max_weight_per_position_binds() -> None:
    out = mean_variance_weights(MU, COV, risk_aversion=0.5, gross_cap=2.0, max_weight=0.3, long_only=False)
    assert np.abs(out.weights).max() <= 0.3 + 1e-9
    assert np.abs(out.weights).max() == pytest.approx(0.3, rel=1e-6)


def test_leverage_scales_the_caps() -> None:
    one = mean_variance_weights(MU, COV, risk_aversion=0.1, gross_cap=0.5, max_weight=0.4, long_only=False)
    two = mean_variance_weights(MU, COV, risk_aversion=0.1, gross_cap=0.5, max_weight=0.4, long_only=False,
                                leverage=2.0)
    assert one.gross == pytest.approx(0.5, rel=1e-6)
    assert two.gross == pytest.approx(1.0, rel=1e-6)


def test_optimum_beats_the_feasible_equal_weight_portfolio() -> None:
    gamma = 5.0
    out = mean_variance_weights(MU, COV, risk_aversion=gamma, gross_cap=1.0, max_weight=0.5, long_only=True)
    equal = np.full(3, 1 / 3)

    def utility(w: np.ndarray) -> float:
        return float(MU @ w - gamma / 2 * w @ COV @ w)

    assert utility(out.weights) >= utility(equal)


def test_result_to_dict_is_json() -> None:
    out = mean_variance_weights(MU, COV, risk_aversion=1.0, gross_cap=1.0, max_weight=1.0)
    assert len(json.loads(json.dumps(out.to_dict()))["weights"]) == 3


def test_asymmetric_covariance_is_refused() -> None:
    bad = COV.copy()
    bad[0, 1] += 0.01
    with pytest.raises(InputValidationError) as err:
        mean_variance_weights(MU, bad, risk_aversion=1.0, gross_cap=1.0, max_weight=1.0)
    assert err.value.field == "covariance"


def test_zero_gross_cap_is_refused() -> None:
    with pytest.raises(InputValidationError) as err:
        mean_variance_weights(MU, COV, risk_aversion=1.0, gross_cap=0.0, max_weight=1.0)
    assert err.value.field == "gross_cap"
