"""Ledger reservations per second: 1 and 8 client processes on SQLite and PostgreSQL, next to
pgbench's simple-update TPS on the same PostgreSQL server.

Each client is a separate process with its own RiskEngine + RiskGate on one shared account, calling
``gate.reserve(intent)`` with the wall clock. The bench posture is the moderate preset with its
caps opened up (so most intents are approved and each approval writes a reservation) and a short
reservation TTL, so the budget comes back by expiry inside reserve() itself and the book stays at
a realistic size. Each run starts after a warm-up (and, on PostgreSQL, an ANALYZE: see measure).
Every reserve is one full transaction: account lock, reload when another process wrote, expiry,
all gates, decision + reservation insert, commit.

    python benchmarks/bench_reserve.py                      # print the figures
    python benchmarks/bench_reserve.py --write-docs         # and record them in docs/performance.md
    python benchmarks/bench_reserve.py --batch 1 8          # also reserve_many() of 8 intents per transaction
    python benchmarks/bench_reserve.py --without book-chain # what one shortcut buys: the same run without it
    python benchmarks/bench_reserve.py --history 1000 1000000 --clients 8 --only postgresql
                                                            # the same load after 1,000 and 1,000,000 stored decisions

``--history N``: before the timed run the ledger is filled with N stored decisions (bulk SQL copying
a real decision of the warm-up, approved, with its reservation), their reservations inserted ACTIVE
and then expired by an UPDATE, with autovacuum off for the ledger's tables: what a busy ledger holds
after N reserves when nothing has vacuumed it (the dead row versions and index entries included).

PostgreSQL: --pg-url (default postgresql+psycopg://postgres@127.0.0.1:5432/test; a private schema
is created and dropped). pgbench runs on a scratch database it creates and drops.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from riskguard.config import Posture, preset_data, validate_posture
from riskguard.engine import RiskEngine
from riskguard.ledger import Ledger
from riskguard.model.intent import OrderIntent
from riskguard.model.snapshots import AccountSnapshot, MarketSnapshot
from riskguard.runtime import RiskGate

PRICES = {"BTCUSDT": 50_000.0, "ETHUSDT": 3_000.0, "SOLUSDT": 150.0}
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SECTION = "## Ledger reservations"
REPO = Path(__file__).resolve().parents[1]
SHORTCUTS = ("book-chain", "wal-thread")
"""What ``--without`` can switch off: books stored by reference (every decision then stores its
full book) and the SQLite WAL checkpoint thread (SQLite then checkpoints inside the commit that
crosses its threshold, as it does by default)."""
WITHOUT: frozenset[str] = frozenset()


def bench_posture() -> Posture:
    """Moderate, with caps wide open, clocks off and a 50 ms reservation TTL."""
    data = preset_data("moderate")
    # Cooldowns off: at > 1,000 reserves/s a 1 ms cooldown would veto (and so skip the reservation
    # write of) entries landing in the same millisecond, flattering the figure.
    data["strategies"] = {"default": {"max_concurrent_positions": 1_000_000, "cooldown_flat_s": 0.0,
                                      "cooldown_open_s": 0.0}}
    data["portfolio"].update(max_open_positions=1_000_000, max_open_positions_high_confidence=1_000_000,
                             max_trades_per_day=1_000_000_000, max_orders_per_window=1_000_000,
                             order_rate_window_s=0.01, max_gross_nav_multiple=10, max_same_direction_nav_pct=10,
                             max_total_risk_nav_pct=10, correlation_groups={})
    data["symbols"] = {"default": {"max_nav_pct": 10, "max_leverage": 4}}
    data["account"].update(nav_max_age_s=86_400, market_max_age_s=3_600)
    data["trade"].update(max_feed_latency_ms=3_600_000)
    data["ledger"] = {"reservation_ttl_s": 0.05}
    return validate_posture(data)


def _client(url: str, client: int, reserves: int, posture: Posture, barrier: Any, results: Any,
            batch: int = 1) -> None:
    ledger = Ledger(url)
    gate = RiskGate(RiskEngine(posture), ledger, actor=f"bench-{client}")
    _switch_off(gate)
    rng = random.Random(client)
    symbols = sorted(PRICES)
    run = uuid.uuid4().hex[:8]
    barrier.wait()
    started, busy_before = time.perf_counter(), busy_cpu_seconds()
    approved = 0
    pending: list[OrderIntent] = []
    latencies: list[float] = []  # seconds per reserve() call (batch 1)
    for k in range(reserves):
        now = time.time_ns() // 1_000_000
        symbol = symbols[k % len(symbols)]
        price = PRICES[symbol]
        gate.update_market(MarketSnapshot(symbol, price, now, bid=price * 0.99999, ask=price * 1.00001,
                                          exchange_ts_ms=now))
        long = rng.random() < 0.5
        intent = OrderIntent(f"b{run}-{client}-{k}", f"bench{client}", symbol, "BUY" if long else "SELL",
                             notional=300.0, stop_price=price * (0.99 if long else 1.01),
                             take_profit_price=price * (1.03 if long else 0.97), expected_rr=3.0, confidence=0.8)
        if batch == 1:
            called = time.perf_counter()
            veto, _, _ = gate.reserve(intent)
            latencies.append(time.perf_counter() - called)
            approved += not veto
            continue
        pending.append(intent)
        if len(pending) == batch or k == reserves - 1:
            approved += sum(not veto for veto, _, _ in gate.reserve_many(pending))
            pending = []
    results.put((started, time.perf_counter(), approved, busy_before, busy_cpu_seconds(), latencies))
    ledger.dispose()


def _switch_off(gate: RiskGate) -> None:
    """Take the shortcuts named by ``--without`` out of ``gate`` (before its first reserve)."""
    if "book-chain" in WITHOUT:
        from riskguard.runtime.stored_book import BookChain

        gate.book_chain = BookChain(keyframe_every=1)
    if "wal-thread" in WITHOUT:
        gate.ledger._checkpointer = None


def busy_cpu_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (all vCPUs; Linux /proc/stat), or None.

    The difference over a run, divided by its reserves, is the CPU that one reserve costs the
    machine: the client's Python, the database server's backend and the kernel, together. On a
    machine with N vCPUs, N / that cost is the most reserves per second it could do at all.
    """
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


@dataclass
class Figure:
    """One measurement; ``cpu_seconds`` is the machine's busy CPU over the run (None if unknown)."""

    backend: str
    clients: int
    reserves: int
    seconds: float
    approved: int
    cpu_seconds: float | None = None
    batch: int = 1
    inputs_bytes: float = 0.0  # mean stored inputs per decision
    p99_ms: float | None = None  # 99th percentile of one reserve() call's wall time, all clients
    history: int = 0  # stored decisions before the timed run (--history)

    @property
    def rate(self) -> float:
        return self.reserves / self.seconds

    @property
    def cpu_us(self) -> float | None:
        """Machine CPU per reserve, microseconds."""
        return None if self.cpu_seconds is None else self.cpu_seconds / self.reserves * 1e6


WARM_UP = 500
"""reserve() calls made before the timed run, so it measures a ledger in steady state (see measure)."""


def measure(url: str, backend: str, clients: int, reserves: int, batch: int = 1, history: int = 0) -> Figure:
    """``clients`` processes x ``reserves`` reserve() calls on a freshly migrated ledger, after a
    warm-up of WARM_UP reserves, ``history`` stored decisions in all (see fill_history) and, on
    PostgreSQL, an ANALYZE of the ledger's tables.

    A fresh schema has no planner statistics, and psycopg prepares a statement after its fifth
    run: the generic plan chosen then, for tables of a page or two, stays cached while they grow
    (the server's CPU per reserve doubled within 3,000 reserves in a test), until an ANALYZE
    invalidates it. On a running server autovacuum analyzes within a minute of the first writes;
    the warm-up plus ANALYZE measures that steady state instead of the first minute.
    """
    prepare(url, backend, history)
    return run_clients(url, backend, clients, reserves, batch, history)


def prepare(url: str, backend: str, history: int = 0) -> None:
    """Migrate, create the account, warm up, fill the history and (PostgreSQL) analyze and checkpoint."""
    posture = bench_posture()
    ledger = Ledger(url)
    ledger.upgrade()
    ledger.ensure_account(posture.mode.value)
    ledger.mark_nav(AccountSnapshot(nav=1_000_000.0, ts_ms=time.time_ns() // 1_000_000), actor="bench")
    gate = RiskGate(RiskEngine(posture), ledger, actor="bench-warm-up")
    _switch_off(gate)
    for k in range(WARM_UP):
        now = time.time_ns() // 1_000_000
        gate.update_market(MarketSnapshot("BTCUSDT", 50_000.0, now, bid=49_999.5, ask=50_000.5, exchange_ts_ms=now))
        gate.reserve(OrderIntent(f"warm-up-{uuid.uuid4().hex[:8]}-{k}", "warm-up", "BTCUSDT", "BUY", notional=300.0,
                                 stop_price=49_500.0, take_profit_price=51_500.0, expected_rr=3.0, confidence=0.8))
    if history > WARM_UP:
        fill_history(ledger, history - WARM_UP)
    if backend == "postgresql":
        with ledger.transaction() as conn:
            for table in LEDGER_TABLES:
                conn.exec_driver_sql(f"ANALYZE {table}")
        with ledger.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # The fill's WAL would otherwise be checkpointed during the timed run.
            conn.exec_driver_sql("CHECKPOINT")
    ledger.dispose()


LEDGER_TABLES = ("rg_accounts", "rg_reservations", "rg_decisions", "rg_positions")
HISTORY_CHUNK = 100_000
"""Reservations inserted, then expired, per statement pair while filling the history."""


def fill_history(ledger: Ledger, count: int) -> None:
    """Add ``count`` stored decisions to the bench account, each an approved copy of the warm-up's
    last approved decision (same inputs and detail documents, its own ids, one ms apart, in the
    past) with its reservation, the reservations inserted ACTIVE and then expired by an UPDATE as
    reserve() expires them, so the tables and indexes hold what ``count`` reserves leave behind
    when nothing vacuums (autovacuum is switched off for the ledger's tables first).

    PostgreSQL builds the rows server-side with generate_series; SQLite with a recursive CTE.
    Columns are the ones every schema revision has, so the same fill runs against older trees.
    """
    postgres = ledger.postgres
    with ledger.transaction() as conn:
        if postgres:
            for table in LEDGER_TABLES:
                conn.exec_driver_sql(f"ALTER TABLE {table} SET (autovacuum_enabled = off)")
        template = conn.exec_driver_sql(
            "SELECT decision_id, reservation_id FROM rg_decisions WHERE reservation_id IS NOT NULL "
            "ORDER BY version DESC LIMIT 1").one()
        oldest = conn.exec_driver_sql("SELECT min(ts_ms) FROM rg_decisions").scalar()
    start = int(oldest) - count - 1  # history ends before the warm-up began
    series = ("generate_series(CAST(%(lo)s AS BIGINT), CAST(%(hi)s AS BIGINT)) AS g(n)" if postgres else
              "(WITH RECURSIVE s(n) AS (SELECT :lo UNION ALL SELECT n + 1 FROM s WHERE n < :hi) SELECT n FROM s) AS g")
    text = "CAST(g.n AS TEXT)" if not postgres else "g.n::text"
    param = (lambda name: f"%({name})s") if postgres else (lambda name: f":{name}")
    decisions = (
        "INSERT INTO rg_decisions (decision_id, account_id, intent_id, strategy, symbol, approved, adds_risk, "
        "reservation_id, ts_ms, config_hash, version, inputs, detail) "
        f"SELECT 'hist-' || {text}, d.account_id, 'hist-intent-' || {text}, d.strategy, d.symbol, d.approved, "
        f"d.adds_risk, 'res-hist-' || {text}, {param('start')} + g.n, d.config_hash, d.version, d.inputs, d.detail "
        f"FROM {series} CROSS JOIN rg_decisions d WHERE d.decision_id = {param('template')}")
    reservations = (
        "INSERT INTO rg_reservations (reservation_id, account_id, intent_id, decision_id, strategy, symbol, side, "
        "qty, price, notional, risk_usdt, opens_new, leverage, stop_price, take_profit_price, filled_qty, status, "
        "created_ms, expires_ms, ended_ms, created_version, ended_version) "
        f"SELECT 'res-hist-' || {text}, r.account_id, 'hist-intent-' || {text}, 'hist-' || {text}, r.strategy, "
        "r.symbol, r.side, r.qty, r.price, r.notional, r.risk_usdt, r.opens_new, r.leverage, r.stop_price, "
        f"r.take_profit_price, 0.0, 'ACTIVE', {param('start')} + g.n, {param('start')} + g.n + 50, NULL, "
        f"r.created_version, NULL FROM {series} CROSS JOIN rg_reservations r WHERE r.reservation_id = "
        f"{param('reservation')}")
    expire = ("UPDATE rg_reservations SET status = 'EXPIRED', ended_ms = expires_ms, ended_version = created_version "
              f"WHERE account_id = {param('account')} AND status = 'ACTIVE' AND expires_ms <= {param('until')}")
    for lo in range(1, count + 1, HISTORY_CHUNK):
        hi = min(lo + HISTORY_CHUNK - 1, count)
        values = {"lo": lo, "hi": hi, "start": start, "template": template.decision_id,
                  "reservation": template.reservation_id}
        with ledger.transaction() as conn:
            driver = conn.connection.driver_connection
            assert driver is not None
            cursor = driver.cursor()
            cursor.execute(decisions, values)
            cursor.execute(reservations, values)
        with ledger.transaction() as conn:  # expired in a later transaction, as reserve() expires them
            driver = conn.connection.driver_connection
            assert driver is not None
            driver.cursor().execute(expire, {"account": ledger.account_id, "until": start + hi + 50})


def run_clients(url: str, backend: str, clients: int, reserves: int, batch: int = 1, history: int = 0) -> Figure:
    """The timed run: ``clients`` processes x ``reserves`` reserve() calls on a prepared ledger."""
    posture = bench_posture()
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(clients)
    results = context.Queue()
    workers = [context.Process(target=_client, args=(url, c, reserves, posture, barrier, results, batch))
               for c in range(clients)]
    for worker in workers:
        worker.start()
    reports = [results.get(timeout=900) for _ in workers]
    for worker in workers:
        worker.join()
    seconds = max(r[1] for r in reports) - min(r[0] for r in reports)
    busy = [r[3] for r in reports] + [r[4] for r in reports]
    cpu = None if None in busy else max(r[4] for r in reports) - min(r[3] for r in reports)
    latencies = sorted(x for r in reports for x in r[5])
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] * 1e3 if latencies else None
    ledger = Ledger(url)
    with ledger.reading() as conn:
        inputs_bytes = float(conn.exec_driver_sql(
            "SELECT avg(length(inputs)) FROM rg_decisions WHERE substr(decision_id, 1, 5) <> 'hist-'").scalar() or 0.0)
    ledger.dispose()
    return Figure(backend, clients, clients * reserves, seconds, sum(r[2] for r in reports), cpu, batch,
                  inputs_bytes, p99, history)


def _pg_admin(url: str, sql: str) -> None:
    import psycopg

    parsed = make_url(url)
    with psycopg.connect(host=parsed.host or "127.0.0.1", port=parsed.port or 5432, user=parsed.username,
                         password=parsed.password, dbname=parsed.database, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def pgbench_binary() -> str | None:
    """pgbench on PATH or in the PostgreSQL installation."""
    found = shutil.which("pgbench")
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"), reverse=True):
        return str(candidate)
    return None


@dataclass
class Pgbench:
    """pgbench -N on the same server: transactions per second and the machine's busy CPU per
    transaction (microseconds, all processes; None if unknown)."""

    tps: float
    cpu_us: float | None


def pgbench_tps(url: str, clients: int, seconds: int) -> Pgbench | None:
    """pgbench simple-update (-N) TPS with ``clients`` clients on a scratch database."""
    binary = pgbench_binary()
    if binary is None:
        return None
    parsed = make_url(url)
    scratch = f"riskguard_pgbench_{uuid.uuid4().hex[:8]}"
    _pg_admin(url, f'CREATE DATABASE "{scratch}"')
    env = {**os.environ, "PGPASSWORD": parsed.password or ""}
    base = [binary, "-h", parsed.host or "127.0.0.1", "-p", str(parsed.port or 5432),
            "-U", parsed.username or "postgres"]
    try:
        subprocess.run([*base, "-i", "-s", "1", "-q", scratch], check=True, capture_output=True, env=env)
        busy_before = busy_cpu_seconds()
        done = subprocess.run([*base, "-N", "-c", str(clients), "-j", str(min(clients, os.cpu_count() or 1)),
                               "-T", str(seconds), scratch], check=True, capture_output=True, text=True, env=env)
        busy_after = busy_cpu_seconds()
    finally:
        _pg_admin(url, f'DROP DATABASE IF EXISTS "{scratch}"')
    match = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", done.stdout)
    count = re.search(r"number of transactions actually processed: ([0-9]+)", done.stdout)
    if match is None:
        return None
    cpu_us = None
    if count is not None and busy_before is not None and busy_after is not None and int(count.group(1)):
        cpu_us = (busy_after - busy_before) / int(count.group(1)) * 1e6
    return Pgbench(float(match.group(1)), cpu_us)


def _us(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _table(figures: list[Figure], pgbench: dict[int, Pgbench | None]) -> list[str]:
    lines = ["| backend | clients | intents per transaction | stored decisions before | reserves | seconds "
             "| reserves/s | p99 ms | approved | machine CPU per reserve (us) | pgbench -N TPS "
             "| machine CPU per pgbench txn (us) | ratio |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for f in figures:
        bench = pgbench.get(f.clients) if f.backend == "postgresql" else None
        ratio = f"{f.rate / bench.tps:.0%}" if bench else "-"
        p99 = "-" if f.p99_ms is None else f"{f.p99_ms:.1f}"
        lines.append(f"| {f.backend} | {f.clients} | {f.batch} | {f.history:,} | {f.reserves} | {f.seconds:.2f} "
                     f"| {f.rate:,.0f} | {p99} | "
                     f"{f.approved / f.reserves:.0%} | {_us(f.cpu_us)} | {f'{bench.tps:,.0f}' if bench else '-'} | "
                     f"{_us(bench.cpu_us) if bench else '-'} | {ratio} |")
    return lines


def write_docs(lines: list[str], note: str) -> Path:
    """Record the figures under the ledger heading of docs/performance.md, leaving other sections alone."""
    path = REPO / "docs" / "performance.md"
    text = path.read_text() if path.exists() else "# Performance\n"
    section = f"{SECTION}\n\n{note}\n\n" + "\n".join(lines) + "\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1).rstrip("\n") + "\n"
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reserves", type=int, default=2_000, help="reserve() calls per client (default 2000)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--batch", type=int, nargs="+", default=[1],
                        help="intents per transaction: 1 = reserve() per intent (the targets); k > 1 also "
                             "measures reserve_many() of k intents, in extra rows")
    parser.add_argument("--pg-url", default=os.environ.get("RISKGUARD_TEST_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--skip-pg", action="store_true", help="SQLite only")
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument("--write-docs", action="store_true", help="record the figures in docs/performance.md")
    parser.add_argument("--without", nargs="+", choices=SHORTCUTS, default=[],
                        help="measure without these shortcuts (to see what each buys)")
    parser.add_argument("--only", choices=("sqlite", "postgresql"), help="one backend only")
    parser.add_argument("--history", type=int, nargs="+", default=[0],
                        help="PostgreSQL: stored decisions before the timed runs (see fill_history), one ledger each")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs per ledger (default 1)")
    args = parser.parse_args(argv)
    global WITHOUT
    WITHOUT = frozenset(args.without)

    load_before = os.getloadavg()[0]
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as scratch:
        for clients in args.clients if args.only != "postgresql" else ():
            for batch in args.batch:
                url = f"sqlite:///{scratch}/bench-{clients}-{batch}.db"
                figures.append(measure(url, "sqlite", clients, args.reserves, batch))
                print(f"sqlite      {clients} client(s), {batch} per transaction: {figures[-1].rate:8,.0f} reserves/s, "
                      f"{figures[-1].inputs_bytes / 1000:.1f} kB inputs per decision", flush=True)
    pgbench: dict[int, Pgbench | None] = {}
    if not args.skip_pg and args.only != "sqlite":
        for clients in args.clients:
            for batch in args.batch:
                for history in args.history:
                    schema = f"rg_bench_{uuid.uuid4().hex[:8]}"
                    _pg_admin(args.pg_url, f'CREATE SCHEMA "{schema}"')
                    try:
                        url = f"{args.pg_url}?options=-csearch_path%3D{schema}"
                        filled = time.perf_counter()
                        prepare(url, "postgresql", history)
                        if history:
                            print(f"postgresql  {history:,} stored decisions in {time.perf_counter() - filled:.0f} s",
                                  flush=True)
                        for _ in range(args.repeat):
                            figures.append(run_clients(url, "postgresql", clients, args.reserves, batch, history))
                            f = figures[-1]
                            print(f"postgresql  {clients} client(s), {batch} per transaction, after {history:,}: "
                                  f"{f.rate:8,.0f} reserves/s, p99 {f.p99_ms or float('nan'):.1f} ms, "
                                  f"{f.inputs_bytes / 1000:.1f} kB inputs per decision", flush=True)
                    finally:
                        _pg_admin(args.pg_url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            pgbench[clients] = pgbench_tps(args.pg_url, clients, args.pgbench_seconds)
            bench = pgbench[clients]
            print(f"pgbench -N  {clients} client(s): {bench.tps if bench else float('nan'):,.0f} TPS", flush=True)
    lines = _table(figures, pgbench)
    print("\n".join(lines))
    if args.write_docs:
        note = (f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `python benchmarks/bench_reserve.py "
                f"--reserves {args.reserves} --batch {' '.join(map(str, args.batch))}` on "
                f"{platform.node() or 'this machine'} ({os.cpu_count()} vCPU, "
                f"{platform.python_implementation()} {platform.python_version()}, SQLite (WAL, "
                f"synchronous=NORMAL) on local disk, PostgreSQL 15 on 127.0.0.1 with default settings "
                f"(synchronous_commit=on)); 1-minute load average {load_before:.1f} before and "
                f"{os.getloadavg()[0]:.1f} after the run (the machine is shared, so figures vary by tens of "
                f"per cent between runs). Each reserve() is one serialised transaction on one account; "
                f"approved reserves also write their reservation. Targets: SQLite 1 client >= 2,000/s, "
                f"PostgreSQL 8 clients >= 30 % of pgbench with p99 <= 10 ms; where they stand and why in "
                f"docs/ledger.md (Throughput).")
        print(f"wrote {write_docs(lines, note)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
