"""Errors the ledger raises on purpose."""

from __future__ import annotations

from riskguard.model.errors import RiskguardError


class LedgerError(RiskguardError):
    """A ledger operation was refused (unknown id, wrong state, bad argument)."""


class LedgerNotFound(LedgerError):
    """The named reservation, position or decision does not exist."""


class LedgerUnavailable(LedgerError):
    """The database cannot be reached or refused the transaction; callers must fail closed."""
