"""The one wall clock: every default ``clock`` of riskguard reads this."""

from __future__ import annotations

import time


def wall_clock_ms() -> int:
    """Current UTC time in epoch milliseconds (ms)."""
    return time.time_ns() // 1_000_000
