"""reserve()'s statements as plain SQL on a DBAPI cursor, built once per backend.

The account lock is held from the first statement of a reserve to its commit, so every
microsecond spent there is lost to every other client. SQLAlchemy's per-statement machinery
(compilation cache look-up, parameter processing, events, result wrapping) cost more than the
SQL itself on SQLite; these statements are the same SQL, sent straight to the driver. On
PostgreSQL the writes of one reserve (expiry, decision, reservation, version and counters) are
one statement of data-modifying CTEs: one round trip under the lock.
"""

from __future__ import annotations

import json
from collections import namedtuple
from typing import Any

from riskguard.config.limits import Limits
from riskguard.ledger import tables as t
from riskguard.ledger.decision_segments import SegmentReader
from riskguard.ledger.errors import LedgerError, LedgerNotFound
from riskguard.ledger.rows import (
    ACTIVE,
    EXPIRED,
    NEVER_MS,
    AccountRow,
    DecisionRecord,
    book_reservation,
    decision_record,
    parse_account,
    parse_position,
)
from riskguard.ledger.state import BookState

_PACKING_COLUMNS = ("segment_id", "segment_index")  # set when a decision is packed, never by a reserve
DECISION_COLUMNS = tuple(c.name for c in t.decisions.c if c.name not in _PACKING_COLUMNS)
"""The columns a reserve writes of a decision, in the order ``ReserveCursor.write`` takes them."""
RESERVATION_COLUMNS = tuple(c.name for c in t.reservations.c)
_EXPIRES = RESERVATION_COLUMNS.index("expires_ms")
_ACCOUNT_COLUMNS = tuple(c.name for c in t.accounts.c)
_POSITION_COLUMNS = tuple(c.name for c in t.positions.c)

# Attribute access like SQLAlchemy rows, so the row parsers of ledger.rows apply unchanged.
_AccountRow = namedtuple("_AccountRow", _ACCOUNT_COLUMNS)  # type: ignore[misc]
_PositionRow = namedtuple("_PositionRow", _POSITION_COLUMNS)  # type: ignore[misc]
_ReservationRow = namedtuple("_ReservationRow", RESERVATION_COLUMNS)  # type: ignore[misc]
_DecisionRow = namedtuple("_DecisionRow", DECISION_COLUMNS + _PACKING_COLUMNS)  # type: ignore[misc]


def _insert(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


class Statements:
    """The reserve statements for one backend (``?`` placeholders become ``%s`` on psycopg)."""

    def __init__(self, postgres: bool) -> None:
        self.postgres = postgres
        lock = " FOR UPDATE OF rg_accounts" if postgres else ""
        self.lock = self._sql(
            f"SELECT {', '.join(_ACCOUNT_COLUMNS)}, (SELECT decision_id FROM rg_decisions WHERE account_id = ? "
            f"AND intent_id = ?) FROM rg_accounts WHERE account_id = ?{lock}")
        self.first_decision = self._sql(
            f"SELECT {', '.join(DECISION_COLUMNS + _PACKING_COLUMNS)} FROM rg_decisions "
            "WHERE account_id = ? AND intent_id = ?")
        self.segment = self._sql("SELECT codec, body FROM rg_decision_segments WHERE segment_id = ?")
        self.positions = self._sql(
            f"SELECT {', '.join(_POSITION_COLUMNS)} FROM rg_positions WHERE account_id = ? ORDER BY strategy, symbol")
        # Reads of the active reservations start after the account's expired_through_ms, so they skip
        # the dead index entries of every reservation that expired before (see tables.py).
        floor = "(SELECT expired_through_ms FROM rg_accounts WHERE account_id = ?)"
        self.reservations = self._sql(
            f"SELECT {', '.join(RESERVATION_COLUMNS)} FROM rg_reservations WHERE account_id = ? "
            f"AND status = '{ACTIVE}' AND expires_ms > {floor} ORDER BY created_version, reservation_id")
        self.size_multiplier = self._sql("SELECT size_multiplier FROM rg_controls WHERE account_id = ?")
        self.expire = (f"UPDATE rg_reservations SET status = '{EXPIRED}', ended_ms = ?, ended_version = ? "
                       f"WHERE account_id = ? AND status = '{ACTIVE}' AND expires_ms > {floor} AND expires_ms <= ?")
        self.expire_alone = self._sql(self.expire)  # the expiry as a statement of its own
        self.insert_decision = _insert("rg_decisions", DECISION_COLUMNS)
        self.insert_reservation = _insert("rg_reservations", RESERVATION_COLUMNS)
        # The account's floor after a write. Parameters: the time the write's expiry covered (it
        # rises to it: nothing active expires at or before it any more) or -NEVER_MS (no expiry ran),
        # then a new reservation's expiry - 1, or NEVER_MS without one (a writer whose clock lags
        # can store a reservation expiring at or before the floor: the floor drops below it).
        greatest, least = ("GREATEST", "LEAST") if postgres else ("max", "min")
        floor_after = f"expired_through_ms = {least}({greatest}(expired_through_ms, ?), ?)"
        self.raise_floor = self._sql(f"UPDATE rg_accounts SET {floor_after} WHERE account_id = ?")
        # PostgreSQL, after an expiry in the same statement: the new version only when exactly the
        # expected number of reservations expired, else NULL, which the NOT NULL column refuses, so
        # a book that disagrees with the ledger cannot commit (checked without another round trip).
        self.checked_version = "version = CASE WHEN (SELECT count(*) FROM w0) = ? THEN ? END"
        self.bump_floor = f"UPDATE rg_accounts SET version = ?, {floor_after} WHERE account_id = ?"
        self.bump_counters_floor = (f"UPDATE rg_accounts SET version = ?, counters = ?, {floor_after} "
                                    "WHERE account_id = ?")
        self._writes: dict[tuple[bool, bool, bool], str] = {}

    def placeholders(self, text: str) -> str:
        """``text`` with this backend's parameter markers."""
        return text.replace("?", "%s") if self.postgres else text

    def _sql(self, text: str) -> str:
        return self.placeholders(text)

    def write(self, expire: bool, reservation: bool, approved: bool) -> str:
        """PostgreSQL: the whole write of one reserve as one statement (parameters in the order
        expiry, decision, reservation, account update)."""
        key = (expire, reservation, approved)
        text = self._writes.get(key)
        if text is None:
            parts = ([self.expire] if expire else []) + [self.insert_decision] + (
                [self.insert_reservation] if reservation else [])
            main = self.bump_counters_floor if approved else self.bump_floor if expire else None
            if main is None:
                text = parts[0]
            else:
                if expire:
                    parts[0] += " RETURNING 1"
                    main = main.replace("version = ?", self.checked_version)
                text = "WITH " + ", ".join(f"w{k} AS ({p})" for k, p in enumerate(parts)) + " " + main
            text = self._writes[key] = self._sql(text)
        return text


_STATEMENTS = {False: Statements(False), True: Statements(True)}


class ReserveCursor:
    """reserve()'s reads and its single write, inside a kept transaction that holds the account lock."""

    def __init__(self, cursor: Any, account_id: str, postgres: bool) -> None:
        self.cursor = cursor
        self.account_id = account_id
        self.sql = _STATEMENTS[postgres]
        self._prefetched: tuple[Any, Any, Any] | None = None
        self._expired = False  # this transaction ran its expiry (see write)

    def lock_for_intent(self, intent_id: str, *, prefetch: bool = False) -> tuple[AccountRow, bool]:
        """Lock the account row and say whether ``intent_id`` already has a decision.

        ``prefetch`` (PostgreSQL pipeline mode): the book's queries go out with the lock query and
        run as soon as the lock is granted, so their rows arrive with the account row instead of
        one more round trip (and one more wake-up of this process) later, while the lock is held.
        Worth it when another process probably wrote since this one's last reserve; otherwise
        the rows are read for nothing.
        """
        self.cursor.execute(self.sql.lock, (self.account_id, intent_id, self.account_id))
        if prefetch:
            self._prefetched = self._send_book_queries()
        row = self.cursor.fetchone()
        if row is None:
            raise LedgerNotFound(f"account {self.account_id!r} does not exist in the ledger")
        return parse_account(_AccountRow(*row[:-1])), row[-1] is not None

    def decided(self, intent_ids: list[str]) -> set[str]:
        """Which of ``intent_ids`` already have a decision in this account."""
        if not intent_ids:
            return set()
        query = (f"SELECT intent_id FROM rg_decisions WHERE account_id = ? "
                 f"AND intent_id IN ({', '.join('?' * len(intent_ids))})")
        self.cursor.execute(self.sql.placeholders(query), (self.account_id, *intent_ids))
        return {str(row[0]) for row in self.cursor.fetchall()}

    def first_decision(self, intent_id: str) -> DecisionRecord:
        """The decision stored for ``intent_id``."""
        self.cursor.execute(self.sql.first_decision, (self.account_id, intent_id))
        row = _DecisionRow(*self.cursor.fetchone())
        return decision_record(row, SegmentReader(self._segment).documents(row))

    def _segment(self, segment_id: str) -> tuple[str, bytes] | None:
        self.cursor.execute(self.sql.segment, (segment_id,))
        found = self.cursor.fetchone()
        return None if found is None else (str(found[0]), bytes(found[1]))

    def load_state(self, limits: Limits, now_ms: int, account: AccountRow) -> BookState:
        """Positions, active reservations and approval counters as of now, in the ledger's order."""
        positions_cursor, reservations_cursor, controls_cursor = self._prefetched or self._send_book_queries()
        self._prefetched = None
        positions = [parse_position(_PositionRow(*r)) for r in positions_cursor.fetchall()]
        held = {(p.strategy, p.symbol) for p in positions}
        reservations = [book_reservation(_ReservationRow(*r), held)
                        for r in reservations_cursor.fetchall()]
        state = BookState(version=account.version, positions=positions, reservations=reservations)
        if account.counters is not None:
            state.load_counters(json.loads(account.counters), limits, now_ms)
        controls = controls_cursor.fetchone()
        if controls is not None:
            state.size_multiplier = float(controls[0])
        return state

    def expire(self, now_ms: int, version: int) -> int:
        """Mark every active reservation whose TTL has passed at ``now_ms`` EXPIRED, ended at
        ``version`` (the caller stores that version); returns how many. The one expiry statement:
        on PostgreSQL the reserve path sends it inside its single write (see :meth:`write`). The
        caller then raises the account's floor (:meth:`raise_floor`, or the write's account update)."""
        self.cursor.execute(self.sql.expire_alone, (now_ms, version, self.account_id, self.account_id, now_ms))
        return int(self.cursor.rowcount)

    def raise_floor(self, now_ms: int) -> None:
        """After :meth:`expire` at ``now_ms``: nothing active expires at or before it any more."""
        self.cursor.execute(self.sql.raise_floor, (now_ms, NEVER_MS, self.account_id))

    def _send_book_queries(self) -> tuple[Any, Any, Any]:
        # All three queries go out before any result is awaited (one round trip in pipeline mode).
        connection = self.cursor.connection
        positions, reservations, controls = connection.cursor(), connection.cursor(), connection.cursor()
        positions.execute(self.sql.positions, (self.account_id,))
        reservations.execute(self.sql.reservations, (self.account_id, self.account_id))
        controls.execute(self.sql.size_multiplier, (self.account_id,))
        return positions, reservations, controls

    def write(self, decision: tuple[Any, ...], reservation: tuple[Any, ...] | None,
              expire: tuple[int, int, int] | None, version: int, counters: str | None, now_ms: int) -> None:
        """Store the decision (columns in DECISION_COLUMNS order), its reservation (RESERVATION_COLUMNS
        order), the expiry of stale reservations (``(now_ms, version, how many the book expects)``)
        and the account's new version with, for an approval (``counters`` given), the approval
        counters. Raises LedgerError (the transaction then rolls back) when the expiry does not match
        the book the decision was taken against.

        The first write of a transaction that updates the account row runs the expiry, expecting
        none when ``expire`` is None, so that it can raise the account's expired_through_ms to
        ``now_ms``: the floor keeps up with the clock even where reservations never expire (each
        order placed or released within its TTL), and reads stay above the dead index entries.
        """
        sql, account_id, cursor = self.sql, self.account_id, self.cursor
        approved = counters is not None
        run_expiry = not self._expired and (expire is not None or approved)
        self._expired = self._expired or run_expiry
        ended_version, expected = (version, 0) if expire is None else (expire[1], expire[2])
        expire_params = (now_ms, ended_version, account_id, account_id, now_ms) if run_expiry else ()
        # The floor rises to now only in the write that ran the expiry; it drops below a new
        # reservation's expiry - 1 if that is not above it.
        floor = (now_ms if run_expiry else -NEVER_MS,
                 NEVER_MS if reservation is None else reservation[_EXPIRES] - 1)
        if approved:
            main: tuple[Any, ...] = (version, counters, *floor, account_id)
        elif run_expiry:
            main = (version, *floor, account_id)
        else:
            main = ()
        if sql.postgres:
            # Sent without waiting (pipeline mode): its result arrives with the commit's.
            check = (expected,) if run_expiry else ()
            cursor.execute(sql.write(run_expiry, reservation is not None, approved),
                           expire_params + decision + (reservation or ()) + check + main)
            return
        if run_expiry and self.expire(now_ms, ended_version) != expected:
            raise _stale_book()
        if reservation is not None:
            cursor.execute(sql.insert_reservation, reservation)
        cursor.execute(sql.insert_decision, decision)
        if main:
            cursor.execute(sql.bump_counters_floor if approved else sql.bump_floor, main)


def _stale_book() -> LedgerError:
    return LedgerError("the ledger's active reservations differ from the book this decision was taken against; "
                       "nothing was written (the next reserve reloads the book)")
