"""Decision segments: the inputs and detail of an account's older decisions, packed many to a row.

A decision's documents are ~14 kB of JSON (the detail lists every gate with its observed value,
threshold and headroom; the inputs carry the markets, the instrument and the book), and
consecutive decisions share most of that text. Compressing each row alone keeps ~2.5 kB of it;
compressing 256 consecutive decisions together (LZMA2) keeps ~0.55 kB each. So the reserve path
stores each decision as it is (no compression inside the account lock), and decisions older than
a while are packed afterwards, off that path (``ledger.compaction`` runs it on a thread;
``riskguard db compact`` by hand): the segment row is written and each packed decision's row keeps
its columns, with empty ``inputs`` and ``detail`` and the segment's id and its place in it.

Reading a decision is unchanged for every caller: the ledger unpacks its segment (about 10 ms for
256 decisions) and hands back exactly the text that was stored, so replays still compare bit for
bit. Packing moves text, it never re-encodes it.
"""

from __future__ import annotations

import json
import lzma
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from riskguard.ledger import tables as t
from riskguard.ledger.connection import LedgerConnection
from riskguard.ledger.database import HostLock, is_sqlite
from riskguard.ledger.errors import LedgerError
from riskguard.ledger.packing_thread import PackingThread
from riskguard.model.clock import wall_clock_ms

CODEC = "xz-streams"
"""Raw LZMA2 (preset 6, extreme) of one line of JSON character lengths (inputs, detail of each
decision in order), a newline, then every decision's inputs back to back, then every detail."""
SEGMENT_DECISIONS = 256
"""Decisions per segment: ~0.55 kB each stored, ~10 ms to unpack a segment to read one of them."""
PACKED = ""
"""The ``inputs`` and ``detail`` of a packed decision's row (never valid JSON, so never a document)."""
_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 6 | lzma.PRESET_EXTREME}]

Documents = tuple[str, str]
"""A decision's stored ``(inputs, detail)`` JSON texts."""


def pack(documents: Sequence[Documents]) -> bytes:
    """The segment body of ``documents`` (in order), as stored under :data:`CODEC`."""
    lengths = [len(text) for pair in documents for text in pair]
    # Every inputs document, then every detail: like text lies closer together, which LZMA finds.
    plain = (json.dumps(lengths, separators=(",", ":")) + "\n" + "".join(inputs for inputs, _ in documents)
             + "".join(detail for _, detail in documents))
    return lzma.compress(plain.encode("utf-8"), format=lzma.FORMAT_RAW, filters=_FILTERS)


def unpack(codec: str, body: bytes) -> list[Documents]:
    """The documents of a segment body, in the order they were packed. Raises LedgerError for an
    unknown codec or a damaged body."""
    if codec != CODEC:
        raise LedgerError(f"decision segment codec {codec!r} is unknown to this riskguard version")
    try:
        plain = lzma.decompress(body, format=lzma.FORMAT_RAW, filters=_FILTERS).decode("utf-8")
        header, _, text = plain.partition("\n")
        lengths = json.loads(header)
    except (lzma.LZMAError, UnicodeDecodeError, ValueError) as exc:
        raise LedgerError(f"a decision segment is damaged: {exc}") from None
    if (not isinstance(lengths, list) or len(lengths) % 2 or not all(isinstance(n, int) and n >= 0 for n in lengths)
            or sum(lengths) != len(text)):
        raise LedgerError("a decision segment is damaged: its lengths do not match its text")
    inputs, details, at = [], [], 0
    for length in lengths[0::2]:
        inputs.append(text[at:at + length])
        at += length
    for length in lengths[1::2]:
        details.append(text[at:at + length])
        at += length
    return list(zip(inputs, details, strict=True))


class SegmentReader:
    """The documents of packed decisions during one read, each segment fetched and unpacked once.

    ``fetch(segment_id)`` returns the segment's ``(codec, body)``, or None when it does not exist.
    """

    def __init__(self, fetch: Callable[[str], tuple[str, bytes] | None]) -> None:
        self._fetch = fetch
        self._segments: dict[str, list[Documents]] = {}

    def documents(self, row: Any) -> Documents:
        """``(inputs, detail)`` of a decisions row (any row with the table's column names), packed or not."""
        if row.segment_id is None:
            return row.inputs, row.detail
        segment = self._segments.get(row.segment_id)
        if segment is None:
            stored = self._fetch(row.segment_id)
            if stored is None:
                raise LedgerError(f"decision {row.decision_id} is packed in segment {row.segment_id!r}, "
                                  "which does not exist; the ledger is corrupt")
            segment = self._segments[row.segment_id] = unpack(*stored)
        index = int(row.segment_index)
        if not 0 <= index < len(segment):
            raise LedgerError(f"decision {row.decision_id} names place {index} of segment {row.segment_id!r}, "
                              f"which holds {len(segment)}; the ledger is corrupt")
        return segment[index]


_SEGMENT = select(t.decision_segments.c.codec, t.decision_segments.c.body).where(
    t.decision_segments.c.segment_id == bindparam("segment_id"))


def segment_reader(conn: Connection) -> SegmentReader:
    """A reader of packed decisions over ``conn`` (a SQLAlchemy connection in a read or a transaction)."""

    def fetch(segment_id: str) -> tuple[str, bytes] | None:
        row = conn.execute(_SEGMENT, {"segment_id": segment_id}).first()
        return None if row is None else (str(row.codec), bytes(row.body))

    return SegmentReader(fetch)


_d = t.decisions.c
_OLDEST_UNPACKED = (select(_d.decision_id, _d.inputs, _d.detail)
                    .where(_d.account_id == bindparam("account_id"), _d.segment_id.is_(None),
                           _d.ts_ms <= bindparam("before_ms"))
                    .order_by(_d.ts_ms, _d.decision_id).limit(bindparam("limit")))
_MARK_PACKED = (update(t.decisions)
                .where(_d.decision_id == bindparam("packed_id"), _d.segment_id.is_(None))
                .values(inputs=PACKED, detail=PACKED, segment_id=bindparam("into"), segment_index=bindparam("place")))


@dataclass(frozen=True, slots=True)
class PackingSummary:
    """An account's decisions, packed and not, and the bytes its segments hold."""

    packed: int
    unpacked: int
    segments: int
    segment_bytes: int

    def to_dict(self) -> dict[str, int]:
        """The summary as plain JSON."""
        return {"packed": self.packed, "unpacked": self.unpacked, "segments": self.segments,
                "segment_bytes": self.segment_bytes}


class _Taken(Exception):
    """Another packer packed some of a segment's decisions first (rolls the segment back)."""


class DecisionSegments(LedgerConnection):
    """Packing an account's older decisions into segments.

    ``pack_after_s``: when set, this process packs decisions older than that (wall clock, seconds)
    on a background thread, every :data:`SEGMENT_DECISIONS` reserves it commits
    (``ledger.packing_thread``); None (the default, and always for a scratch ledger) packs only when
    asked (:meth:`pack_decisions`, ``riskguard db pack``).
    """

    segment_decisions = SEGMENT_DECISIONS
    """Decisions per segment written by this ledger (segments of any size read alike)."""

    def __init__(self, url: str, *, account_id: str = "default", scratch: bool = False,
                 pack_after_s: float | None = None) -> None:
        super().__init__(url, account_id=account_id, scratch=scratch)
        if pack_after_s is not None and not (math.isfinite(pack_after_s) and pack_after_s >= 0.0):
            self.dispose()
            raise LedgerError(f"pack_after_s: must be a finite number of seconds >= 0, got {pack_after_s!r}")
        self.pack_after_s = None if scratch else pack_after_s
        self._packing: PackingThread | None = None
        self._packing_lock: HostLock | None = None
        if self.pack_after_s is not None:
            self._packing = PackingThread(self._pack_old, every=self.segment_decisions)
            self._after_commit.append(self._packing.committed)
            if is_sqlite(self.engine):
                self._packing_lock = HostLock(self.engine)

    def dispose(self) -> None:
        """Stop the packing thread, then close pooled connections (see LedgerConnection.dispose)."""
        packing = getattr(self, "_packing", None)
        if packing is not None:
            packing.close(timeout_s=60.0)
        if getattr(self, "_packing_lock", None) is not None:
            self._packing_lock.close()  # type: ignore[union-attr]
        super().dispose()

    def _pack_old(self) -> int:
        assert self.pack_after_s is not None  # only the packing thread calls this
        return self.pack_decisions(before_ms=wall_clock_ms() - round(self.pack_after_s * 1000.0))

    def pack_decisions(self, *, before_ms: int, max_segments: int | None = None) -> int:
        """Pack this account's decisions taken at or before ``before_ms`` (epoch ms), oldest first,
        in whole segments of :attr:`segment_decisions` (fewer are left for later); returns how many
        decisions were packed. Safe beside reserves and other packers: compression runs outside any
        write transaction, and a segment whose decisions another packer took first is not written.
        """
        packed = 0
        size = self.segment_decisions
        while max_segments is None or packed < max_segments * size:
            with self.reading() as conn:
                rows = conn.execute(_OLDEST_UNPACKED, {"account_id": self.account_id, "before_ms": before_ms,
                                                       "limit": size}).all()
            if len(rows) < size:
                break
            body = pack([(row.inputs, row.detail) for row in rows])
            # A decision is packed once, so its first decision names the segment uniquely.
            segment_id = str(rows[0].decision_id)
            if not self._store_segment(segment_id, [str(row.decision_id) for row in rows], body):
                break
            packed += len(rows)
        return packed

    def unpacked_before(self, before_ms: int) -> int:
        """How many of this account's decisions taken at or before ``before_ms`` are not packed yet."""
        d = t.decisions.c
        with self.reading() as conn:
            return int(conn.execute(select(func.count()).where(
                d.account_id == self.account_id, d.segment_id.is_(None), d.ts_ms <= before_ms)).scalar_one())

    def packing_summary(self) -> PackingSummary:
        """How many of this account's decisions are packed, how many not, and the segments' size."""
        d, s = t.decisions.c, t.decision_segments.c
        with self.reading() as conn:
            packed, unpacked = conn.execute(select(
                func.count(d.segment_id), func.count() - func.count(d.segment_id)).where(
                d.account_id == self.account_id)).one()
            segments, size = conn.execute(select(func.count(), func.coalesce(func.sum(func.length(s.body)), 0))
                                          .where(s.account_id == self.account_id)).one()
        return PackingSummary(int(packed), int(unpacked), int(segments), int(size))

    def _store_segment(self, segment_id: str, decision_ids: list[str], body: bytes) -> bool:
        """Write the segment and mark its decisions packed, all or nothing; False when another packer
        packed any of them first (nothing is written then)."""
        try:
            with self.transaction(host_lock=self._packing_lock) as conn:
                for place, decision_id in enumerate(decision_ids):
                    if conn.execute(_MARK_PACKED, {"packed_id": decision_id, "into": segment_id,
                                                   "place": place}).rowcount != 1:
                        raise _Taken
                conn.execute(insert(t.decision_segments).values(
                    segment_id=segment_id, account_id=self.account_id, decisions=len(decision_ids), codec=CODEC,
                    body=body))
        except _Taken:
            return False
        return True
