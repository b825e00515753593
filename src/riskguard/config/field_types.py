"""Constrained field types for postures: every cap is finite and strictly positive."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
"""A cap or threshold that must be finite and > 0 (zero or infinity would silently disable a guard)."""

NonNegativeFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
PositiveFraction = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
NavFraction = Annotated[float, Field(gt=0, le=10, allow_inf_nan=False)]
"""A fraction of NAV (0.20 = 20 %); up to 10 because leveraged exposure may exceed NAV."""
PositiveInt = Annotated[int, Field(gt=0)]
Seconds = Annotated[float, Field(gt=0, le=86_400 * 31, allow_inf_nan=False)]
