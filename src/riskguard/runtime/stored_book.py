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
The comparison is by value (a reservation's fields are str, int, bool and floats >= 0, never
-0.0, so equal values are identical JSON), so a delta also holds after a reload from the ledger
(another process wrote). Anything else (a reordered book, a
failed transaction) starts again from a full book, as does every ``keyframe_every``-th decision,
which bounds how many rows a reader follows. The ledger resolves a stored book back into the
full document when it reads a decision (``riskguard.ledger.stored_books``).
"""

from __future__ import annotations

from riskguard.book.reservation import Reservation
from riskguard.ledger.errors import LedgerError
from riskguard.ledger.state import BookState
from riskguard.ledger.stored_books import KEYFRAME_EVERY
from riskguard.runtime.inputs import BookReference, StoredBook


class BookChain:
    """The stored book the next decision of this process can refer to."""

    def __init__(self, keyframe_every: int = KEYFRAME_EVERY) -> None:
        if not 1 <= keyframe_every <= KEYFRAME_EVERY:
            raise ValueError(f"keyframe_every must be between 1 and {KEYFRAME_EVERY}")
        self.keyframe_every = keyframe_every
        self._base_id: str | None = None
        self._base: list[Reservation] = []  # the base book's reservations, in order
        self._depth = 0
        self._pending: tuple[list[Reservation], int] | None = None

    def reset(self) -> None:
        """Forget the base: the next stored book is a full one."""
        self._base_id, self._base, self._depth, self._pending = None, [], 0, None

    def book(self, state: BookState) -> StoredBook:
        """The book to store for ``state``: a reference to the base when that is exact, else the
        full book. Call :meth:`stored` once the decision is committed."""
        reservations = list(state.reservations)
        delta = self._delta(reservations)
        if delta is None or self._base_id is None:
            stored, depth = StoredBook.of(state), 0
        else:
            removed, added = delta
            stored = StoredBook.of(state, BookReference(self._base_id, tuple(removed), tuple(added)))
            depth = self._depth + 1
        self._pending = (reservations, depth)
        return stored

    def stored(self, decision_id: str) -> None:
        """The decision whose book :meth:`book` returned is committed: later books may refer to it."""
        if self._pending is None:
            raise LedgerError("no encoded book is waiting for its decision")
        (self._base, self._depth), self._pending = self._pending, None
        self._base_id = decision_id

    def _delta(self, current: list[Reservation]) -> tuple[list[str], list[Reservation]] | None:
        """(ids removed from the base book, the reservations added) when the book is the base
        book's reservations still present, unchanged and in order, then new ones; else None.
        (No added reservation can equal a base one: it would then be among the kept ones too, and
        a book never holds one reservation twice.)"""
        if self._base_id is None or self._depth + 1 >= self.keyframe_every:
            return None
        base = self._base
        size = len(base)
        # The usual case: the oldest reservations expired, new ones were appended.
        first = current[0] if current else None
        gone = 0
        while gone < size and base[gone] != first:
            gone += 1
        if gone < size and base[gone:] == current[:size - gone] and (
                gone == 0 or {r.reservation_id for r in base[:gone]}.isdisjoint(r.reservation_id for r in current)):
            return [r.reservation_id for r in base[:gone]], current[size - gone:]
        # Anything else: the base reservations still present (same id, same value) must come first,
        # in their order. Looked up by id (a book never holds two reservations with one id).
        by_id = {r.reservation_id: r for r in current}

        def unchanged(reservation: Reservation) -> bool:
            other = by_id.get(reservation.reservation_id)
            return other is reservation or other == reservation

        kept = [r for r in base if unchanged(r)]
        if current[:len(kept)] != kept:
            return None
        # A reservation whose value changed is removed by id and, when it is still live, comes back
        # among the added ones.
        return [r.reservation_id for r in base if not unchanged(r)], current[len(kept):]
