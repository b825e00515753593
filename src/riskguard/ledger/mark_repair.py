"""Repairing a ledger whose NAV marks are dated in the future (a fast clock, or a timestamp in
microseconds taken for milliseconds, stored before the ledger refused such marks).

Nothing is deleted: each future-dated row of ``rg_equity_marks`` keeps its values and has its
``source`` set to ``superseded``; the account's current mark goes back to the newest mark that is
not in the future (none: no NAV until the next mark); one ``nav_marks_superseded`` event records
who did it, why, every superseded mark as it was, and the account's mark before and after.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, insert, select, update

from riskguard.book.book import DAY_MS
from riskguard.ledger import tables as t
from riskguard.ledger.ledger import Ledger
from riskguard.ledger.marks import DEFAULT_MAX_CLOCK_SKEW_MS, future_limit_ms
from riskguard.ledger.rows import AccountRow
from riskguard.model.clock import wall_clock_ms
from riskguard.model.codec import encode as dumps
from riskguard.model.errors import InputValidationError

SUPERSEDED = "superseded"
REPAIR_EVENT = "nav_marks_superseded"


@dataclass(frozen=True, slots=True)
class MarkRepair:
    """What a repair changed (or, as a dry run, would change). Times epoch ms, NAV in USDT."""

    account_id: str
    now_ms: int
    limit_ms: int
    superseded: list[dict[str, Any]] = field(default_factory=list)
    """The future-dated equity marks: ``mark_id``, ``ts_ms``, ``nav``, ``source`` as they were."""
    account_before: dict[str, Any] = field(default_factory=dict)
    account_after: dict[str, Any] = field(default_factory=dict)
    applied: bool = False

    @property
    def needed(self) -> bool:
        """True when a mark (stored or current) is dated beyond the limit."""
        return bool(self.superseded) or self.account_before != self.account_after

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"account": self.account_id, "now_ms": self.now_ms, "limit_ms": self.limit_ms,
                "needed": self.needed, "applied": self.applied, "superseded": self.superseded,
                "account_before": self.account_before, "account_after": self.account_after}


def _mark_of(account: AccountRow) -> dict[str, Any]:
    return {"nav": account.nav, "nav_ts_ms": account.nav_ts_ms, "available_balance": account.available_balance,
            "day_high_nav": account.day_high_nav}


def _sane_mark(conn: Connection, account_id: str, limit_ms: int) -> dict[str, Any]:
    """The newest NAV mark dated at or before ``limit_ms`` (and its UTC day's NAV high), or no mark."""
    marks = t.equity_marks.c
    newest = conn.execute(
        select(marks.nav, marks.ts_ms, marks.available_balance)
        .where(marks.account_id == account_id, marks.ts_ms <= limit_ms, marks.nav.is_not(None),
               marks.source != SUPERSEDED)
        .order_by(marks.ts_ms.desc(), marks.mark_id.desc()).limit(1)).first()
    if newest is None:
        return {"nav": None, "nav_ts_ms": None, "available_balance": None, "day_high_nav": None}
    day_start = int(newest.ts_ms) // DAY_MS * DAY_MS
    navs = conn.execute(select(marks.nav).where(
        marks.account_id == account_id, marks.ts_ms >= day_start, marks.ts_ms <= newest.ts_ms,
        marks.nav.is_not(None), marks.source != SUPERSEDED)).scalars().all()
    return {"nav": newest.nav, "nav_ts_ms": int(newest.ts_ms), "available_balance": newest.available_balance,
            "day_high_nav": max([float(n) for n in navs] + [float(newest.nav)])}


def repair_future_marks(ledger: Ledger, *, actor: str, reason: str, now_ms: int | None = None,
                        max_clock_skew_ms: float = DEFAULT_MAX_CLOCK_SKEW_MS, dry_run: bool = False) -> MarkRepair:
    """Supersede every NAV mark of ``ledger``'s account dated more than ``max_clock_skew_ms`` after
    ``now_ms`` (default: the wall clock), as one audited event (see the module docstring).
    ``dry_run`` reports what would change and writes nothing. Raises InputValidationError for an
    empty ``reason``, LedgerNotFound when the account does not exist."""
    if not reason.strip():
        raise InputValidationError("reason", "must not be empty", reason)
    now = wall_clock_ms() if now_ms is None else now_ms
    limit = future_limit_ms(now, max_clock_skew_ms)
    marks = t.equity_marks.c
    with ledger.transaction() as conn:
        account = ledger.lock_account(conn)
        rows = conn.execute(select(marks.mark_id, marks.ts_ms, marks.nav, marks.source).where(
            marks.account_id == ledger.account_id, marks.ts_ms > limit, marks.source != SUPERSEDED)
            .order_by(marks.mark_id)).all()
        superseded = [{"mark_id": int(r.mark_id), "ts_ms": int(r.ts_ms), "nav": r.nav, "source": r.source}
                      for r in rows]
        before = _mark_of(account)
        future_current = account.nav_ts_ms is not None and account.nav_ts_ms > limit
        after = _sane_mark(conn, ledger.account_id, limit) if future_current else before
        result = MarkRepair(ledger.account_id, now, limit, superseded, before, after, applied=False)
        if dry_run or not result.needed:
            return result
        if superseded:
            conn.execute(update(t.equity_marks).where(
                marks.mark_id.in_([m["mark_id"] for m in superseded])).values(source=SUPERSEDED))
        if future_current:
            conn.execute(update(t.accounts).where(t.accounts.c.account_id == ledger.account_id).values(**after))
        conn.execute(insert(t.events).values(
            account_id=ledger.account_id, ts_ms=now, actor=actor, kind=REPAIR_EVENT,
            payload=dumps({"reason": reason, "limit_ms": limit, "max_clock_skew_ms": max_clock_skew_ms,
                           "superseded": superseded, "account_before": before, "account_after": after})))
    return MarkRepair(ledger.account_id, now, limit, superseded, before, after, applied=True)
