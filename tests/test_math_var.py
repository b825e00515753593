"""VaR / CVaR: historical (numpy quantile), parametric (scipy.stats.norm), Monte Carlo, portfolio."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.stats import norm

from riskguard.math.var import (
    historical_cvar,
    historical_var,
    monte_carlo_var_cvar,
    parametric_cvar,
    parametric_cvar_from_returns,
    parametric_var,
    parametric_var_from_returns,
    portfolio_cvar,
    portfolio_pnl,
    portfolio_var,
)
from riskguard.model.errors import InputValidationError

ALPHAS = (0.95, 0.99)


@pytest.fixture(scope="module")
def returns() -> np.ndarray:
    return np.random.default_rng(7).standard_t(df=4, size=5000) * 0.01 + 0.0002


@pytest.mark.parametrize("alpha", ALPHAS)
def test_historical_var_equals_minus_numpy_quantile(returns: np.ndarray, alpha: float) -> None:
    assert historical_var(returns, alpha) == pytest.approx(-np.quantile(returns, 1 - alpha), rel=1e-12)


@pytest.mark.parametrize("alpha", ALPHAS)
def test_historical_cvar_is_mean_loss_beyond_the_quantile(returns: np.ndarray, alpha: float) -> None:
    q = np.quantile(returns, 1 - alpha)
    assert historical_cvar(returns, alpha) == pytest.approx(-returns[returns <= q].mean(), rel=1e-12)


@pytest.mark.parametrize("alpha", ALPHAS)
def test_parametric_var_equals_scipy_norm(alpha: float) -> None:
    mu, sigma = 0.001, 0.03
    assert parametric_var(mu, sigma, alpha) == pytest.approx(-norm.ppf(1 - alpha, loc=mu, scale=sigma), rel=1e-12)


@pytest.mark.parametrize("alpha", ALPHAS)
def test_parametric_cvar_equals_scipy_norm_expected_shortfall(alpha: float) -> None:
    mu, sigma = 0.001, 0.03
    ref = sigma * norm.pdf(norm.ppf(alpha)) / (1 - alpha) - mu
    assert parametric_cvar(mu, sigma, alpha) == pytest.approx(ref, rel=1e-12)


def test_parametric_cvar_equals_numerical_tail_integral() -> None:
    mu, sigma, alpha = 0.0, 0.02, 0.99
    ref = -norm.expect(lambda x: x, loc=mu, scale=sigma, ub=norm.ppf(1 - alpha, mu, sigma)) / (1 - alpha)
    assert parametric_cvar(mu, sigma, alpha) == pytest.approx(ref, rel=1e-8)


def test_parametric_from_returns_uses_sample_mean_and_std(returns: np.ndarray) -> None:
    mu, sd = returns.mean(), returns.std(ddof=1)
    assert parametric_var_from_returns(returns, 0.99) == pytest.approx(parametric_var(mu, sd, 0.99), rel=1e-12)
    assert parametric_cvar_from_returns(returns, 0.95) == pytest.approx(parametric_cvar(mu, sd, 0.95), rel=1e-12)


@pytest.mark.parametrize("alpha", ALPHAS)
def test_monte_carlo_converges_to_parametric(alpha: float) -> None:
    var, cvar = monte_carlo_var_cvar(0.0005, 0.02, alpha, n_paths=400_000, seed=1)
    assert var == pytest.approx(parametric_var(0.0005, 0.02, alpha), rel=0.02)
    assert cvar == pytest.approx(parametric_cvar(0.0005, 0.02, alpha), rel=0.02)


def test_monte_carlo_is_reproducible_with_a_seed() -> None:
    assert monte_carlo_var_cvar(0.0, 0.01, 0.95, 10_000, seed=42) == monte_carlo_var_cvar(0.0, 0.01, 0.95, 10_000, 42)


def test_monte_carlo_differs_across_seeds() -> None:
    assert monte_carlo_var_cvar(0.0, 0.01, 0.95, 10_000, 1) != monte_carlo_var_cvar(0.0, 0.01, 0.95, 10_000, 2)


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, st.integers(2, 300), elements=st.floats(-0.5, 0.5)), st.sampled_from(ALPHAS))
def test_cvar_is_never_below_var(sample: np.ndarray, alpha: float) -> None:
    assert historical_cvar(sample, alpha) >= historical_var(sample, alpha) - 1e-12


def test_var_at_99_exceeds_var_at_95(returns: np.ndarray) -> None:
    assert historical_var(returns, 0.99) > historical_var(returns, 0.95)


def test_portfolio_pnl_is_returns_times_exposures() -> None:
    r = np.array([[0.01, -0.02], [0.03, 0.01]])
    np.testing.assert_allclose(portfolio_pnl(r, [1000.0, -500.0]), [20.0, 25.0])


def test_portfolio_cvar_equals_reference_in_usdt(returns: np.ndarray) -> None:
    rng = np.random.default_rng(3)
    matrix = rng.normal(0, 0.02, size=(2000, 3))
    exposures = np.array([1500.0, -700.0, 300.0])
    pnl = matrix @ exposures
    q = np.quantile(pnl, 0.05)
    assert portfolio_cvar(matrix, exposures, 0.95) == pytest.approx(-pnl[pnl <= q].mean(), rel=1e-12)
    assert portfolio_var(matrix, exposures, 0.95) == pytest.approx(-q, rel=1e-12)


def test_portfolio_cvar_scales_linearly_with_exposure() -> None:
    matrix = np.random.default_rng(5).normal(0, 0.01, size=(1000, 2))
    base = portfolio_cvar(matrix, [1000.0, 500.0], 0.99)
    assert portfolio_cvar(matrix, [2000.0, 1000.0], 0.99) == pytest.approx(2 * base, rel=1e-12)


def test_portfolio_cvar_of_flat_book_is_zero() -> None:
    matrix = np.random.default_rng(5).normal(0, 0.01, size=(100, 2))
    assert portfolio_cvar(matrix, [0.0, 0.0], 0.95) == 0.0


def test_portfolio_cvar_refuses_mismatched_exposures() -> None:
    with pytest.raises(InputValidationError) as err:
        portfolio_cvar(np.zeros((10, 3)), [1.0, 2.0], 0.95)
    assert err.value.field == "exposures_usdt"


def test_var_refuses_alpha_outside_open_unit_interval() -> None:
    with pytest.raises(InputValidationError) as err:
        historical_var([0.1, -0.1, 0.0], 1.0)
    assert err.value.field == "alpha"


def test_var_refuses_nan_returns() -> None:
    with pytest.raises(InputValidationError) as err:
        historical_var([0.1, float("nan"), 0.0])
    assert err.value.field == "returns"
