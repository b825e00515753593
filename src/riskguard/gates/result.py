"""Shared shapes of a gate's result, so that each gate body is one expression over them.

A result is built by copying the gate's passing template (a dict copy costs well under half a dict
literal on CPython, and a decision builds ~35 results). Verdicts are written ``not (observed <=
limit)`` on purpose: a NaN that slipped past the boundary then fails the gate instead of passing it.
"""

from __future__ import annotations

from riskguard.model.decision import GateCheck

SIZE_TOLERANCE = 1e-9
"""Relative slack on size comparisons, so that max_notional_allowed itself always passes
despite float rounding in the aggregates."""

EXEMPT_NOTE = "reduces an open position: exempt"


def template(gate: str) -> GateCheck:
    """The passing shape of ``gate``'s result. Severity is set by the engine from the posture."""
    return {"gate": gate, "passed": True, "reason": gate, "observed": None, "threshold": None,
            "headroom_notional": None, "severity": "hard", "note": None}


def verdict(tpl: GateCheck, passed: bool, observed: object, threshold: object, note: str | None = None,
            headroom: float | None = None) -> GateCheck:
    """A copy of ``tpl`` with the verdict filled in."""
    check = tpl.copy()
    check["observed"] = observed
    check["threshold"] = threshold
    if not passed:
        check["passed"] = False
    if note is not None:
        check["note"] = note
    if headroom is not None:
        check["headroom_notional"] = headroom
    return check


# The shapes below build their result inline rather than through verdict(): a decision builds ~35
# results, and one Python call less per gate is ~5 % of check_order.

def unknown(tpl: GateCheck, threshold: object, note: str | None, observed: object = None,
            headroom: float | None = None) -> GateCheck:
    """A failure because an input the gate needs is unknown (fail closed); ``note`` says which."""
    check = tpl.copy()
    check["passed"] = False
    check["observed"] = observed
    check["threshold"] = threshold
    check["note"] = note
    check["headroom_notional"] = headroom
    return check


AT_MOST = True
AT_LEAST = False


def bounded(tpl: GateCheck, observed: float | None, limit: float, unknown_note: str, upper: bool) -> GateCheck:
    """Passes when ``observed <= limit`` (``upper``, :data:`AT_MOST`) or ``observed >= limit``
    (:data:`AT_LEAST`); an unknown ``observed`` fails with ``unknown_note``."""
    check = tpl.copy()
    check["threshold"] = limit
    if observed is None:
        check["passed"] = False
        check["note"] = unknown_note
    else:
        check["observed"] = observed
        if not (observed <= limit if upper else observed >= limit):
            check["passed"] = False
    return check


def age_within(tpl: GateCheck, age: float | None, limit: float, unknown_note: str, future_note: str) -> GateCheck:
    """Data age (ms) within ``limit``: unknown data and data dated in the future fail."""
    check = tpl.copy()
    check["observed"] = age
    check["threshold"] = limit
    if age is None:
        check["passed"] = False
        check["note"] = unknown_note
    elif age < 0:
        check["passed"] = False
        check["note"] = future_note
    elif not age <= limit:
        check["passed"] = False
    return check


def count_below(tpl: GateCheck, count: int, limit: int, note: str | None = None) -> GateCheck:
    """One more than ``count`` must stay within ``limit`` (observed is the count after this one)."""
    check = tpl.copy()
    check["observed"] = count + 1
    check["threshold"] = limit
    check["note"] = note
    if not count < limit:
        check["passed"] = False
    return check


def within_cap(tpl: GateCheck, nav: float | None, notional: float | None, cap_pct: float, existing: float,
               per_notional: float = 1.0) -> GateCheck:
    """``existing + notional x per_notional <= cap_pct x NAV`` (USDT). The headroom is the largest
    notional of this intent that stays within the cap; unknown NAV or notional fail. A zero
    ``per_notional`` (the risk of a stop at the entry price, which invalid_intent vetoes on its own)
    puts no bound on the size while ``existing`` is within the cap: headroom None, never a division."""
    check = tpl.copy()
    if nav is None:
        check["passed"] = False
        check["note"] = "NAV unknown"
        check["headroom_notional"] = 0.0
        return check
    limit = cap_pct * nav
    room = limit - existing
    headroom: float | None = 0.0
    if room > 0.0:
        headroom = room / per_notional if per_notional > 0.0 else None
    elif room == 0.0 and per_notional <= 0.0:
        headroom = None
    check["threshold"] = limit
    check["headroom_notional"] = headroom
    if notional is None:
        check["passed"] = False
        check["note"] = "notional unknown"
    else:
        check["observed"] = existing + notional * per_notional
        if headroom is not None and notional > headroom + SIZE_TOLERANCE * (headroom if headroom > 1.0 else 1.0):
            check["passed"] = False
    return check


def exempted(check: GateCheck) -> GateCheck:
    """``check`` turned into the pass of a gate that does not apply to orders reducing an open
    position: the threshold and headroom stay as computed, nothing was observed against them."""
    check["passed"] = True
    check["observed"] = None
    check["severity"] = "hard"
    check["note"] = EXEMPT_NOTE
    return check
