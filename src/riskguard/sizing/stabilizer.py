"""SizingStabilizer: damp resize churn with buckets, a hysteresis band and a minimum interval.

Sizes (fractions of NAV) are floored to a bucket grid; an increase is accepted only when it is at
least ``hysteresis`` (relative) above the current size and at least ``min_interval_ms`` after the
last change. With ``immediate_decrease`` (the default) any decrease is accepted at once, so the
stabilizer never holds more size than the target asks for; the size then ratchets down to the
low end of an oscillating target instead of flip-flopping.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from riskguard.model.clock import wall_clock_ms
from riskguard.model.errors import InputValidationError
from riskguard.model.rounding import floor_to_step
from riskguard.sizing.params import StabilizerParams


@dataclass(frozen=True, slots=True)
class StabilizedSize:
    """The size to use (``value``), the raw ``target``, its ``bucketed`` form, and why."""

    key: str
    value: float
    target: float
    bucketed: float
    changed: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {f: getattr(self, f) for f in self.__slots__}


class SizingStabilizer:
    """Per-key (e.g. symbol or strategy) stabilised size. Thread-safe; the clock is injectable."""

    __slots__ = ("_clock", "_lock", "_params", "_state")

    def __init__(self, params: StabilizerParams, clock: Callable[[], int] = wall_clock_ms) -> None:
        self._params = params
        self._clock = clock
        self._lock = threading.Lock()
        self._state: dict[str, tuple[float, int]] = {}

    def bucket(self, target: float) -> float:
        """``target`` floored to the bucket grid (never rounded up)."""
        return floor_to_step(target, self._params.bucket)

    def current(self, key: str) -> float | None:
        """The size in force for ``key``, None before the first update."""
        with self._lock:
            state = self._state.get(key)
        return None if state is None else state[0]

    def reset(self, key: str) -> None:
        """Forget ``key`` (the next update is accepted as is)."""
        with self._lock:
            self._state.pop(key, None)

    def update(self, key: str, target: float) -> StabilizedSize:
        """Offer a new target size (fraction of NAV, >= 0) for ``key``; returns the size to use."""
        if isinstance(target, bool) or not isinstance(target, int | float) or not (
            math.isfinite(target) and target >= 0.0
        ):
            raise InputValidationError("target", "must be a finite number >= 0", target)
        bucketed = self.bucket(float(target))
        p = self._params
        with self._lock:
            now = self._clock()
            state = self._state.get(key)
            if state is None:
                return self._accept(key, target, bucketed, now, "first size")
            current, last_ms = state
            if bucketed == current:
                return StabilizedSize(key, current, target, bucketed, False, "unchanged bucket")
            if bucketed < current and p.immediate_decrease:
                return self._accept(key, target, bucketed, now, "decrease applied at once")
            if current > 0.0 and abs(bucketed - current) / current < p.hysteresis:
                return StabilizedSize(key, current, target, bucketed, False, "within hysteresis band")
            if now - last_ms < p.min_interval_ms:
                return StabilizedSize(key, current, target, bucketed, False, "minimum resize interval")
            return self._accept(key, target, bucketed, now, "resized")

    def _accept(self, key: str, target: float, bucketed: float, now: int, reason: str) -> StabilizedSize:
        self._state[key] = (bucketed, now)
        return StabilizedSize(key, bucketed, target, bucketed, True, reason)
