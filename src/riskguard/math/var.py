"""Value at Risk and Conditional VaR (expected shortfall): historical, parametric normal, Monte Carlo.

Conventions: inputs are simple returns (fractions) or P&L; outputs are *losses* as positive numbers
in the same unit (a 95 % VaR of 0.03 means a 3 % loss is exceeded on 5 % of periods). ``alpha`` is
the confidence level (0.95, 0.99). Historical quantiles use NumPy's default linear interpolation.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from riskguard.math._checks import FloatArray, confidence_level, finite_array
from riskguard.model import validation as v
from riskguard.model.errors import InputValidationError

_STD_NORMAL = NormalDist()


def historical_var(returns: npt.ArrayLike, alpha: float = 0.95) -> float:
    """Historical VaR: minus the ``1 - alpha`` quantile of the sample (loss, same unit as input)."""
    a = confidence_level("alpha", alpha)
    r = finite_array("returns", returns, ndim=1, min_len=2)
    return float(-np.quantile(r, 1.0 - a))


def historical_cvar(returns: npt.ArrayLike, alpha: float = 0.95) -> float:
    """Historical CVaR: minus the mean of the outcomes at or below the ``1 - alpha`` quantile."""
    a = confidence_level("alpha", alpha)
    r = finite_array("returns", returns, ndim=1, min_len=2)
    return _tail_mean_loss(r, a)


def _tail_mean_loss(r: FloatArray, a: float) -> float:
    threshold = np.quantile(r, 1.0 - a)
    # The quantile interpolates, so at least the minimum is always in the tail: the mean is defined.
    return float(-r[r <= threshold].mean())


def parametric_var(mean: float, std: float, alpha: float = 0.95) -> float:
    """Normal VaR: ``z_alpha * sigma - mu`` for returns ~ N(mu, sigma^2) (loss)."""
    a = confidence_level("alpha", alpha)
    mu = v.finite("mean", mean)
    sigma = v.non_negative("std", std)
    return _STD_NORMAL.inv_cdf(a) * sigma - mu


def parametric_cvar(mean: float, std: float, alpha: float = 0.95) -> float:
    """Normal CVaR (expected shortfall): ``sigma * pdf(z_alpha) / (1 - alpha) - mu`` (loss)."""
    a = confidence_level("alpha", alpha)
    mu = v.finite("mean", mean)
    sigma = v.non_negative("std", std)
    return sigma * _STD_NORMAL.pdf(_STD_NORMAL.inv_cdf(a)) / (1.0 - a) - mu


def parametric_var_from_returns(returns: npt.ArrayLike, alpha: float = 0.95) -> float:
    """Normal VaR with mean and sample std (ddof=1) estimated from ``returns``."""
    r = finite_array("returns", returns, ndim=1, min_len=2)
    return parametric_var(float(r.mean()), float(r.std(ddof=1)), alpha)


def parametric_cvar_from_returns(returns: npt.ArrayLike, alpha: float = 0.95) -> float:
    """Normal CVaR with mean and sample std (ddof=1) estimated from ``returns``."""
    r = finite_array("returns", returns, ndim=1, min_len=2)
    return parametric_cvar(float(r.mean()), float(r.std(ddof=1)), alpha)


def monte_carlo_var_cvar(
    mean: float, std: float, alpha: float = 0.95, n_paths: int = 100_000, seed: int = 0
) -> tuple[float, float]:
    """(VaR, CVaR) of ``n_paths`` normal draws N(mean, std^2) from a seeded generator (reproducible)."""
    a = confidence_level("alpha", alpha)
    mu = v.finite("mean", mean)
    sigma = v.non_negative("std", std)
    if isinstance(n_paths, bool) or not isinstance(n_paths, int) or n_paths < 2:
        raise InputValidationError("n_paths", "must be an integer >= 2", n_paths)
    draws = np.random.default_rng(seed).normal(mu, sigma, size=n_paths)
    return float(-np.quantile(draws, 1.0 - a)), _tail_mean_loss(draws, a)


def portfolio_pnl(returns: npt.ArrayLike, exposures_usdt: npt.ArrayLike) -> FloatArray:
    """P&L per scenario, USDT: ``returns[T, N] @ exposures_usdt[N]`` (short exposures are negative)."""
    r = finite_array("returns", returns, ndim=2, min_len=2)
    e = finite_array("exposures_usdt", exposures_usdt, ndim=1)
    if r.shape[1] != e.shape[0]:
        raise InputValidationError(
            "exposures_usdt", f"needs one entry per returns column ({r.shape[1]})", e.size)
    return np.asarray(r @ e, dtype=np.float64)


def portfolio_var(returns: npt.ArrayLike, exposures_usdt: npt.ArrayLike, alpha: float = 0.95) -> float:
    """Historical VaR of a set of positions, USDT loss."""
    return historical_var(portfolio_pnl(returns, exposures_usdt), alpha)


def portfolio_cvar(returns: npt.ArrayLike, exposures_usdt: npt.ArrayLike, alpha: float = 0.95) -> float:
    """Historical CVaR of a set of positions, USDT loss (positive = expected loss in the tail).

    ``returns[T, N]`` are per-period simple returns of the N instruments, ``exposures_usdt[N]``
    the signed notionals (long > 0, short < 0). Each row is one scenario.
    """
    return historical_cvar(portfolio_pnl(returns, exposures_usdt), alpha)
