"""Errors raised at riskguard's boundaries. Gates never raise; constructors and loaders do."""

from __future__ import annotations


class RiskguardError(Exception):
    """Base class of every error riskguard raises on purpose."""


class InputValidationError(RiskguardError, ValueError):
    """A malformed input (NaN, negative, wrong type, unknown enum). ``field`` names the culprit."""

    def __init__(self, field: str, message: str, value: object = None) -> None:
        self.field = field
        self.message = message
        self.value = value
        # A value of None means "no value to show" (a missing field, a file error): never "(got None)".
        super().__init__(f"{field}: {message}" if value is None else f"{field}: {message} (got {value!r})")
