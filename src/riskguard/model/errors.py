"""Errors raised at riskguard's boundaries. Gates never raise; constructors and loaders do."""

from __future__ import annotations


class RiskguardError(Exception):
    """Base class of every error riskguard raises on purpose."""


class InputValidationError(RiskguardError, ValueError):
    """A malformed input (NaN, negative, wrong type, unknown enum). ``field`` names the culprit."""

    def __init__(self, field: str, message: str, value: object = None) -> None:
        self.field = field
        self.value = value
        super().__init__(f"{field}: {message} (got {value!r})")
