"""Decision storage: bytes per stored decision before and after packing, on SQLite and PostgreSQL,
with the real decisions of a replayed year (both shipped strategies, moderate, 4 symbols, 1h).

    python benchmarks/bench_decision_storage.py                 # SQLite and PostgreSQL
    python benchmarks/bench_decision_storage.py --skip-pg       # SQLite only

The replay runs with the SQLite ledger in the loop (as `riskguard replay` does), and a copy of its
ledger is kept. Storage per decision is the decisions table with its indexes plus the segments
table (SQLite: ``dbstat`` pages after VACUUM; PostgreSQL: ``pg_total_relation_size`` after VACUUM
FULL, TOAST included), divided by the number of decisions. The CVaR return sets are reported on
their own: they are stored once per change of the return window (daily), not per decision.
PostgreSQL: --pg-url (default postgresql+psycopg://postgres@127.0.0.1:5432/test; a private schema is
created and dropped); the SQLite ledger's decisions are copied into it and packed there.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import shutil
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text

from riskguard.cli.app import app
from riskguard.ledger import Ledger
from riskguard.ledger import tables as t
from riskguard.ledger.decision_segments import SEGMENT_DECISIONS
from riskguard.replay import runner as replay_runner

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "freqtrade-testdata"
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT")
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DECISION_TABLES = ("rg_decisions", "rg_decision_segments")


@contextlib.contextmanager
def _kept_ledger_dir(keep: Path) -> Iterator[None]:
    """Make the replay write its ledger into ``keep`` (left in place) instead of a deleted temporary directory."""
    original = replay_runner.tempfile.TemporaryDirectory

    @contextlib.contextmanager
    def kept(*_args: Any, **_kwargs: Any) -> Iterator[str]:
        yield str(keep)

    replay_runner.tempfile.TemporaryDirectory = kept  # type: ignore[assignment,misc]
    try:
        yield
    finally:
        replay_runner.tempfile.TemporaryDirectory = original  # type: ignore[misc]


def replay_year(keep: Path) -> Path:
    """``riskguard replay`` of the real year with the SQLite ledger (in this process); returns the kept ledger."""
    args = ["replay", "--preset", "moderate", "--data", str(DATA), "--symbols", ",".join(SYMBOLS),
            "--out", str(keep / "report"), "--json"]
    with _kept_ledger_dir(keep), contextlib.redirect_stdout(io.StringIO()):
        app(args, standalone_mode=False)
    return keep / "ledger.sqlite"


def sqlite_bytes(path: Path) -> dict[str, int]:
    """Pages in use per table/index after VACUUM (bytes)."""
    with sqlite3.connect(path) as db:
        db.execute("VACUUM")
        return {str(name): int(size) for name, size in db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name")}


def decision_bytes(used: dict[str, int]) -> int:
    """The decisions table, its indexes (SQLite names them after it) and the segments."""
    return sum(size for name, size in used.items() if any(table in name for table in DECISION_TABLES))


def _decisions(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT count(*) FROM rg_decisions").fetchone()[0])


def _read_ms(ledger: Ledger, ids: list[str]) -> float:
    times = []
    for decision_id in ids:
        start = time.perf_counter()
        ledger.decision(decision_id)
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def measure_sqlite(path: Path) -> dict[str, Any]:
    count = _decisions(path)
    before = sqlite_bytes(path)
    ledger = Ledger(f"sqlite:///{path}", account_id="replay")
    ids = [r.decision_id for r in ledger.decisions(limit=count)]
    read_before = _read_ms(ledger, ids[::97])
    start = time.perf_counter()
    packed = ledger.pack_decisions(before_ms=2**62)
    pack_s = time.perf_counter() - start
    read_after = _read_ms(ledger, ids[::97])
    ledger.dispose()
    after = sqlite_bytes(path)
    unpacked = count - packed
    return {"decisions": count, "packed": packed, "before": decision_bytes(before) / count,
            "after": decision_bytes(after) / count,
            "per_packed": (decision_bytes(after) - unpacked * decision_bytes(before) / count) / max(packed, 1),
            "return_sets": after.get("rg_return_sets", 0),
            "pack_ms_per_decision": pack_s * 1000.0 / max(packed, 1), "read_ms_before": read_before,
            "read_ms_after": read_after}


def measure_postgresql(path: Path, base_url: str) -> dict[str, Any]:
    schema = f"rg_bench_{uuid.uuid4().hex[:10]}"
    admin = Ledger(base_url)
    with admin.engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{base_url}?options=-csearch_path%3D{schema}"
    try:
        ledger = Ledger(url, account_id="replay")
        ledger.upgrade()
        with sqlite3.connect(path) as db:
            db.row_factory = sqlite3.Row
            rows = [dict(r) for r in db.execute("SELECT * FROM rg_decisions ORDER BY rowid")]
        with ledger.engine.begin() as conn:
            for start in range(0, len(rows), 500):
                batch = rows[start:start + 500]
                conn.execute(insert(t.decisions), [{**r, "approved": bool(r["approved"]),
                                                    "adds_risk": bool(r["adds_risk"])} for r in batch])

        def size() -> int:
            with ledger.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM FULL rg_decisions"))
                conn.execute(text("VACUUM FULL rg_decision_segments"))
                return int(conn.execute(text("SELECT pg_total_relation_size('rg_decisions') + "
                                             "pg_total_relation_size('rg_decision_segments')")).scalar_one())

        before = size()
        start = time.perf_counter()
        packed = ledger.pack_decisions(before_ms=2**62)
        pack_s = time.perf_counter() - start
        after = size()
        unpacked = len(rows) - packed
        with ledger.reading() as conn:
            assert conn.execute(select(t.decisions.c.decision_id)).first() is not None
        ledger.dispose()
        return {"decisions": len(rows), "packed": packed, "before": before / len(rows), "after": after / len(rows),
                "per_packed": (after - unpacked * before / len(rows)) / max(packed, 1),
                "pack_ms_per_decision": pack_s * 1000.0 / max(packed, 1)}
    finally:
        with admin.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", default=os.environ.get("RISKGUARD_TEST_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--skip-pg", action="store_true", help="SQLite only")
    args = parser.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"the real candles are missing: {DATA}")
    print(f"# decision storage, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}, load {os.getloadavg()[0]:.1f}; "
          f"{SEGMENT_DECISIONS} decisions per segment")
    with tempfile.TemporaryDirectory(prefix="riskguard-storage-") as tmp:
        start = time.perf_counter()
        path = replay_year(Path(tmp))
        print(f"replayed the real year with the SQLite ledger in {time.perf_counter() - start:.1f} s")
        copy = Path(tmp) / "copy.sqlite"
        shutil.copy(path, copy)
        result = measure_sqlite(path)
        print(f"SQLite: {result['decisions']} decisions, {result['before']:.0f} B each stored as written, "
              f"{result['after']:.0f} B each after packing {result['packed']} (a packed one "
              f"{result['per_packed']:.0f} B, the rest as written) "
              f"({result['pack_ms_per_decision']:.2f} ms per decision packed); reading one decision "
              f"{result['read_ms_before']:.2f} ms -> {result['read_ms_after']:.2f} ms (median); CVaR return sets "
              f"{result['return_sets'] / 1024:.0f} kB in all")
        if not args.skip_pg:
            pg = measure_postgresql(copy, args.pg_url)
            print(f"PostgreSQL: {pg['decisions']} decisions, {pg['before']:.0f} B each as written (TOAST-compressed), "
                  f"{pg['after']:.0f} B each after packing {pg['packed']} (a packed one {pg['per_packed']:.0f} B) "
                  f"({pg['pack_ms_per_decision']:.2f} ms per decision packed)")


if __name__ == "__main__":
    main()
