"""The rule for NAV marks dated in the future: how far ahead of the local clock a mark may be.

A mark dated ahead of the clock (another host's clock runs fast, or a timestamp in the wrong unit)
would, once stored, make every later and correct mark look older and be ignored: every process
would decide on that one mark until the clock caught up with it. So the ledger refuses a mark
dated further ahead than the posture's ``account.max_clock_skew_s``; a mark within it counts as
fresh (age 0).
"""

from __future__ import annotations

from riskguard.config.core_schema import AccountSection
from riskguard.model.errors import InputValidationError

DEFAULT_MAX_CLOCK_SKEW_MS: float = AccountSection().max_clock_skew_s * 1000.0
"""The posture default of ``account.max_clock_skew_s``, in ms (for ledger calls without a posture)."""


def future_limit_ms(now_ms: int, max_clock_skew_ms: float) -> int:
    """The latest mark time (epoch ms) accepted at ``now_ms``."""
    return now_ms + int(max_clock_skew_ms)


def refuse_future_mark(ts_ms: int, now_ms: int, max_clock_skew_ms: float) -> None:
    """Raise InputValidationError naming ``ts_ms`` if a mark at ``ts_ms`` is dated more than
    ``max_clock_skew_ms`` after ``now_ms`` (all epoch ms)."""
    if ts_ms > future_limit_ms(now_ms, max_clock_skew_ms):
        ahead_s = (ts_ms - now_ms) / 1000.0
        raise InputValidationError(
            "ts_ms", f"the NAV mark is dated {ahead_s:,.3f} s after this host's clock ({now_ms}), beyond "
                     f"account.max_clock_skew_s = {max_clock_skew_ms / 1000.0:g} s; check the clocks", ts_ms)
