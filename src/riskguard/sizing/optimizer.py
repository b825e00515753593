"""Portfolio optimizer: mean-variance weights with a gross exposure cap, a max weight per position,
an optional long-only constraint and leverage scaling, solved with scipy's SLSQP.

Weights are fractions of NAV (signed: short < 0). ``leverage`` scales both caps: with leverage 2
the gross exposure may reach 2 x ``gross_cap`` of NAV and each position 2 x ``max_weight``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from riskguard.math._checks import FloatArray, finite_array
from riskguard.model.errors import InputValidationError

_SYMMETRY_TOLERANCE = 1e-10


@dataclass(frozen=True, slots=True)
class OptimizerResult:
    """Optimal weights (fractions of NAV), their expected return, variance and gross exposure."""

    weights: FloatArray
    expected_return: float
    variance: float
    gross: float
    success: bool
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "weights": self.weights.tolist(),
            "expected_return": self.expected_return,
            "variance": self.variance,
            "gross": self.gross,
            "success": self.success,
            "message": self.message,
        }


def _positive(field: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
        math.isfinite(value) and value > 0.0
    ):
        raise InputValidationError(field, "must be a finite number > 0", value)
    return float(value)


def mean_variance_weights(
    expected_returns: npt.ArrayLike,
    covariance: npt.ArrayLike,
    *,
    risk_aversion: float,
    gross_cap: float,
    max_weight: float,
    long_only: bool = True,
    leverage: float = 1.0,
) -> OptimizerResult:
    """Maximise ``mu·w − (risk_aversion / 2)·wᵀΣw`` subject to ``Σ|w| <= gross_cap·leverage`` and
    ``|w_i| <= max_weight·leverage`` (and ``w >= 0`` when ``long_only``).

    ``expected_returns[N]`` and ``covariance[N, N]`` are per-period (same period for both).
    Long/short is solved as w = u − v with u, v >= 0 so every constraint stays smooth.
    """
    mu = finite_array("expected_returns", expected_returns, ndim=1)
    cov = finite_array("covariance", covariance, ndim=2)
    n = mu.size
    if cov.shape != (n, n):
        raise InputValidationError("covariance", f"must be {n}x{n} to match expected_returns", cov.shape)
    if not np.allclose(cov, cov.T, atol=_SYMMETRY_TOLERANCE):
        raise InputValidationError("covariance", "must be symmetric", None)
    gamma = _positive("risk_aversion", risk_aversion)
    lev = _positive("leverage", leverage)
    gross = _positive("gross_cap", gross_cap) * lev
    w_max = _positive("max_weight", max_weight) * lev

    # x = [u] (long-only) or [u, v]; w = A @ x.
    a = np.eye(n) if long_only else np.hstack([np.eye(n), -np.eye(n)])

    def objective(x: FloatArray) -> tuple[float, FloatArray]:
        w = a @ x
        sigma_w = cov @ w
        value = -(mu @ w) + 0.5 * gamma * (w @ sigma_w)
        return float(value), a.T @ (-mu + gamma * sigma_w)

    from scipy.optimize import minimize  # here: scipy costs ~0.5 s of start-up to every CLI command

    m = a.shape[1]
    constraints = [{
        "type": "ineq",
        "fun": lambda x: gross - float(np.sum(x)),
        "jac": lambda x: -np.ones(m),
    }]
    result = minimize(
        objective, np.zeros(m), jac=True, method="SLSQP",
        bounds=[(0.0, w_max)] * m, constraints=constraints,
        options={"maxiter": 500, "ftol": 1e-12},
    )
    weights = np.asarray(a @ np.clip(result.x, 0.0, w_max), dtype=np.float64)
    # Keep the gross cap exact despite solver tolerance: scale down, never up.
    total = float(np.abs(weights).sum())
    if total > gross:
        weights *= gross / total
    return OptimizerResult(
        weights=weights,
        expected_return=float(mu @ weights),
        variance=float(weights @ cov @ weights),
        gross=float(np.abs(weights).sum()),
        success=bool(result.success),
        message=str(result.message),
    )
