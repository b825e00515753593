"""Stored books as a chain of deltas: each decision's book by reference to an earlier one.

Every decision stores the book it was decided against, so it replays from its own row. Stored by
value, that book holds every live reservation: 20-35 kB per decision at a few hundred live ones,
written (and, on SQLite, committed) inside the account lock, over and over with the same entries.
A process's consecutive decisions mostly differ by the reservations that expired and the one
that was added, so a decision's stored book may instead name an earlier decision (``base``) and
list the reservation ids ``removed`` from that book and the reservations ``added`` to it. The
positions and approval counters are stored in full every time (they are small).

``BookChain`` decides, per reserve, whether a delta is exact: the reservations about to be
stored must be the base book's reservations still live, in their order, followed by new ones
(the order matters: the engine's book adds them in this order, and float sums depend on it).
The comparison is on the exact JSON each reservation is stored as, so a delta also holds
after a reload from the ledger (another process wrote). Anything else (a reordered book, a
failed transaction) starts again from a full book, as does every ``keyframe_every``-th decision,
which bounds how many rows a reader follows. ``resolve_book`` turns a stored book back into
the full document, the same JSON a full book would have stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from riskguard.book.reservation import Reservation
from riskguard.ledger.errors import LedgerError
from riskguard.ledger.state import BookState
from riskguard.model.codec import encode as dumps

KEYFRAME_EVERY = 32
"""A full book at least every this many decisions of a process (readers follow at most 31 rows)."""

_BOOK_KEYS = ("version", "positions", "reservations", "recent_orders", "last_entry_ms", "trade_day",
              "trades_today")


class BookChain:
    """The stored book the next decision of this process can refer to."""

    def __init__(self, keyframe_every: int = KEYFRAME_EVERY) -> None:
        if not 1 <= keyframe_every <= KEYFRAME_EVERY:
            raise ValueError(f"keyframe_every must be between 1 and {KEYFRAME_EVERY}")
        self.keyframe_every = keyframe_every
        self._base_id: str | None = None
        self._base: tuple[list[Reservation], list[str]] = ([], [])  # the base book's reservations, their JSON
        self._depth = 0
        self._pending: tuple[tuple[list[Reservation], list[str]], int] | None = None

    def reset(self) -> None:
        """Forget the base: the next stored book is a full one."""
        self._base_id, self._base, self._depth, self._pending = None, ([], []), 0, None

    def encode(self, state: BookState) -> str:
        """The JSON to store for ``state``'s book: a delta against the base when that is exact,
        else the full book. Call :meth:`stored` once the decision is committed."""
        texts = state.reservation_texts()
        delta = self._delta(texts)
        if delta is None:
            text, depth = state.json_with(f'"reservations":[{",".join(texts)}]'), 0
        else:
            removed, added = delta
            text = state.json_with(f'"base":{dumps(self._base_id)},"removed":{dumps(removed)},'
                                   f'"added":[{",".join(added)}]')
            depth = self._depth + 1
        self._pending = ((list(state.reservations), texts), depth)
        return text

    def stored(self, decision_id: str) -> None:
        """The decision whose book :meth:`encode` returned is committed: later books may refer to it."""
        if self._pending is None:
            raise LedgerError("no encoded book is waiting for its decision")
        (self._base, self._depth), self._pending = self._pending, None
        self._base_id = decision_id

    def _delta(self, texts: list[str]) -> tuple[list[str], list[str]] | None:
        """(ids removed from the base book, JSON of the reservations added) when the book is the
        base book's reservations still present, unchanged and in order, then new ones; else None.
        Compared by the exact JSON stored, so it also holds after a reload from the ledger. (No
        added text can equal a base text: it would then be among the kept ones too, and a book
        never holds one reservation twice.)"""
        if self._base_id is None or self._depth + 1 >= self.keyframe_every:
            return None
        base, base_texts = self._base
        size = len(base_texts)
        # The usual case: the oldest reservations expired, new ones were appended.
        first = texts[0] if texts else None
        gone = 0
        while gone < size and base_texts[gone] != first:
            gone += 1
        if gone < size and base_texts[gone:] == texts[:size - gone] and (
                gone == 0 or set(base_texts[:gone]).isdisjoint(texts)):
            return [r.reservation_id for r in base[:gone]], texts[size - gone:]
        # Anything else: the base texts still present must come first, in their order.
        current = set(texts)
        kept = [text for text in base_texts if text in current]
        if texts[:len(kept)] != kept:
            return None
        # A reservation whose stored JSON changed is removed by id and, when it is still live,
        # comes back among the added ones.
        return ([r.reservation_id for r, text in zip(base, base_texts, strict=True) if text not in current],
                texts[len(kept):])


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
