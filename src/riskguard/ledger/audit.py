"""The audit store: stored decisions (books stored by reference resolved on read), the postures
and CVaR return sets they refer to, events and equity marks."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from riskguard.ledger import tables as t
from riskguard.ledger.decision_segments import DecisionSegments, SegmentReader, segment_reader
from riskguard.ledger.errors import LedgerError, LedgerNotFound
from riskguard.ledger.return_sets import ReturnSetStore
from riskguard.ledger.rows import DecisionRecord, decision_record
from riskguard.ledger.stored_books import resolve_book


class AuditStore(ReturnSetStore, DecisionSegments):
    """Decisions (packed ones in riskguard.ledger.decision_segments), postures, return sets
    (riskguard.ledger.return_sets), events and equity marks."""

    def store_posture(self, config_hash: str, name: str, canonical: str) -> None:
        """Keep the canonical posture JSON behind a config hash (once)."""
        # Several gates may start at once on a new ledger: insert-or-ignore, never read-then-insert.
        with self.transaction() as conn:
            dialect_insert = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
            conn.execute(dialect_insert(t.postures)
                         .values(config_hash=config_hash, name=name, canonical_json=canonical)
                         .on_conflict_do_nothing(index_elements=[t.postures.c.config_hash]))

    def posture_json(self, config_hash: str) -> str:
        """The canonical posture JSON stored under ``config_hash``."""
        with self.reading() as conn:
            value = conn.execute(select(t.postures.c.canonical_json).where(
                t.postures.c.config_hash == config_hash)).scalar()
        if value is None:
            raise LedgerNotFound(f"posture {config_hash} is not stored in the ledger")
        return str(value)

    def events(self, kind: str | None = None) -> list[Row[Any]]:
        """Events in time order (optionally of one kind)."""
        query = select(t.events).where(t.events.c.account_id == self.account_id)
        if kind is not None:
            query = query.where(t.events.c.kind == kind)
        with self.reading() as conn:
            return list(conn.execute(query.order_by(t.events.c.event_id)))

    def equity_marks(self) -> list[Row[Any]]:
        """Equity marks in time order."""
        with self.reading() as conn:
            return list(conn.execute(select(t.equity_marks).where(t.equity_marks.c.account_id == self.account_id)
                                     .order_by(t.equity_marks.c.mark_id)))

    def decision(self, decision_id: str) -> DecisionRecord:
        """One stored decision (any account of this database)."""
        with self.reading() as conn:
            row = conn.execute(select(t.decisions).where(t.decisions.c.decision_id == decision_id)).first()
            if row is None:
                raise LedgerNotFound(f"decision {decision_id!r} does not exist")
            return _records(conn, [row])[0]

    def decisions(self, *, limit: int = 50, approved: bool | None = None, symbol: str | None = None,
                  strategy: str | None = None, all_accounts: bool = False) -> list[DecisionRecord]:
        """The newest decisions first."""
        d = t.decisions.c
        query = select(t.decisions)
        if not all_accounts:
            query = query.where(d.account_id == self.account_id)
        if approved is not None:
            query = query.where(d.approved.is_(approved))
        if symbol is not None:
            query = query.where(d.symbol == symbol.upper())
        if strategy is not None:
            query = query.where(d.strategy == strategy)
        with self.reading() as conn:
            rows = conn.execute(query.order_by(d.ts_ms.desc(), d.decision_id.desc()).limit(limit)).all()
            return _records(conn, rows)


_STORED_INPUTS = select(t.decisions.c.decision_id, t.decisions.c.inputs, t.decisions.c.segment_id,
                        t.decisions.c.segment_index)


def _records(conn: Connection, rows: Sequence[Row[Any]]) -> list[DecisionRecord]:
    """Decisions rows as records: packed ones unpacked, and every book stored by reference
    (``ledger.stored_books``) resolved to the full book."""
    segments = segment_reader(conn)
    return _with_full_books(conn, [decision_record(row, segments.documents(row)) for row in rows], segments)


def _with_full_books(conn: Connection, records: list[DecisionRecord], segments: SegmentReader) -> list[DecisionRecord]:
    stored: dict[str, dict[str, Any]] = {}

    def stored_book_of(decision_id: str) -> dict[str, Any]:
        book = stored.get(decision_id)
        if book is None:
            row = conn.execute(_STORED_INPUTS.where(t.decisions.c.decision_id == decision_id)).first()
            if row is None:
                raise LedgerError(f"a stored book refers to decision {decision_id!r}, which does not exist")
            inputs = row.inputs if row.segment_id is None else segments.documents(row)[0]
            book = stored[decision_id] = json.loads(inputs)["book"]
        return book

    resolved = []
    for record in records:
        book = record.inputs.get("book")
        if isinstance(book, dict) and "base" in book:
            record = dataclasses.replace(record, inputs={**record.inputs, "book": resolve_book(book, stored_book_of)})
        resolved.append(record)
    return resolved
