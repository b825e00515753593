"""Reading books stored by reference: a decision's stored book may name an earlier decision
(``base``) and list the reservation ids ``removed`` from that book and the reservations ``added``
to it (the runtime writes them, ``riskguard.runtime.stored_book``). The ledger resolves them when
it reads a decision, so every reader sees the full book.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from riskguard.ledger.errors import LedgerError

KEYFRAME_EVERY = 32
"""A full book at least every this many decisions of a process (readers follow at most 31 rows)."""

_BOOK_KEYS = ("version", "positions", "reservations", "recent_orders", "last_entry_ms", "trade_day",
              "trades_today")


def resolve_book(book: dict[str, Any], stored_book_of: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    """The full book document of a stored book. ``stored_book_of(decision_id)`` returns that
    decision's stored book (as parsed from its row). Raises LedgerError on a broken chain."""
    chain: list[dict[str, Any]] = []
    while "base" in book:
        chain.append(book)
        if len(chain) >= KEYFRAME_EVERY:
            raise LedgerError("stored book chain is longer than any gate writes; the ledger is corrupt")
        book = stored_book_of(str(book["base"]))
    reservations: list[dict[str, Any]] = list(book["reservations"])
    for delta in reversed(chain):
        removed = set(delta["removed"])
        reservations = [r for r in reservations if r["reservation_id"] not in removed] + list(delta["added"])
    top = chain[0] if chain else book
    full = {key: top[key] for key in _BOOK_KEYS if key != "reservations"}
    full["reservations"] = reservations
    return {key: full[key] for key in _BOOK_KEYS}
