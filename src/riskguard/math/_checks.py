"""Boundary checks shared by the numerics: scalars via riskguard.model.validation, arrays here."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from riskguard.model.errors import InputValidationError

FloatArray = npt.NDArray[np.float64]


def finite_array(name: str, values: npt.ArrayLike, ndim: int, min_len: int = 1) -> FloatArray:
    """``values`` as a float64 array of ``ndim`` dimensions, all finite, at least ``min_len`` rows."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != ndim:
        raise InputValidationError(name, f"must be a {ndim}-D array", arr.shape)
    if arr.shape[0] < min_len:
        raise InputValidationError(name, f"needs at least {min_len} rows", arr.shape)
    if not np.all(np.isfinite(arr)):
        raise InputValidationError(name, "must contain only finite values", int(np.sum(~np.isfinite(arr))))
    return arr


def confidence_level(name: str, alpha: float) -> float:
    """A VaR/CVaR confidence level strictly inside (0, 1), e.g. 0.95 or 0.99."""
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0.0 < float(alpha) < 1.0:
        raise InputValidationError(name, "must be a confidence level strictly between 0 and 1", alpha)
    return float(alpha)
