"""Shared helpers for the ledger tests: real SQLite files and a real PostgreSQL schema per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from riskguard.config import Posture, preset_data, validate_posture
from riskguard.engine import RiskEngine
from riskguard.ledger import Ledger
from riskguard.ledger import tables as t
from riskguard.model.intent import OrderIntent
from riskguard.model.snapshots import AccountSnapshot, MarketSnapshot
from riskguard.runtime import RiskGate

PG_DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
T0 = 1_700_000_000_000  # a Tuesday, 22:13 UTC
PRICES = {"BTCUSDT": 50_000.0, "ETHUSDT": 3_000.0, "SOLUSDT": 150.0}


def pg_base_url() -> str:
    """The PostgreSQL server the tests use."""
    return os.environ.get("RISKGUARD_TEST_PG_URL", PG_DEFAULT_URL)


def _pg_reachable(url: str) -> str | None:
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    try:
        with psycopg.connect(host=parsed.host or "127.0.0.1", port=parsed.port or 5432, user=parsed.username,
                             password=parsed.password, dbname=parsed.database, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def require_pg() -> str:
    """Skip (or fail under RISKGUARD_REQUIRE_PG=1) when the PostgreSQL server is unreachable."""
    url = pg_base_url()
    problem = _pg_reachable(url)
    if problem is not None:
        message = (f"PostgreSQL not reachable at {url} ({problem}); start the server (database `test`, user "
                   "postgres, trust auth) or point RISKGUARD_TEST_PG_URL at one to run these tests")
        if os.environ.get("RISKGUARD_REQUIRE_PG") == "1":
            pytest.fail(f"RISKGUARD_REQUIRE_PG=1: {message}")
        pytest.skip(message)
    return url


@dataclass
class PgSchema:
    """A private schema on the test server, dropped afterwards."""

    base_url: str
    name: str

    @property
    def url(self) -> str:
        return f"{self.base_url}?options=-csearch_path%3D{self.name}"

    def _run(self, sql: str) -> None:
        import psycopg
        from sqlalchemy.engine import make_url

        parsed = make_url(self.base_url)
        with psycopg.connect(host=parsed.host or "127.0.0.1", port=parsed.port or 5432, user=parsed.username,
                             password=parsed.password, dbname=parsed.database, autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def create(self) -> None:
        self._run(f'CREATE SCHEMA "{self.name}"')

    def drop(self) -> None:
        self._run(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE')


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A migrated-ready URL on a fresh, uniquely named PostgreSQL schema."""
    schema = PgSchema(require_pg(), f"rg_test_{os.getpid()}_{uuid.uuid4().hex[:10]}")
    schema.create()
    try:
        yield schema.url
    finally:
        schema.drop()


@pytest.fixture
def sqlite_url(tmp_path: Any) -> str:
    """An SQLite ledger file in the test's temporary directory."""
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """The same test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    schema = PgSchema(require_pg(), f"rg_test_{os.getpid()}_{uuid.uuid4().hex[:10]}")
    schema.create()
    try:
        yield schema.url
    finally:
        schema.drop()


class Clock:
    """A settable clock in epoch ms."""

    def __init__(self, now: int = T0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> int:
        self.now += ms
        return self.now


def posture(**changes: Any) -> Posture:
    """The moderate preset with clocks and counters relaxed so the caps under test decide.

    ``changes`` maps "section.field" to a value, e.g. ``{"portfolio.max_open_positions": 2}``.
    """
    data = preset_data("moderate")
    data["strategies"]["default"].update(cooldown_flat_s=0.001, cooldown_open_s=0.001)
    for name in ("btc_trend", "eth_trend", "sol_trend"):
        data["strategies"].pop(name, None)
    data["portfolio"].update(max_trades_per_day=1_000_000, max_orders_per_window=1_000_000, order_rate_window_s=1)
    data["account"].update(nav_max_age_s=3600, market_max_age_s=3600)
    data["trade"].update(max_feed_latency_ms=3_600_000)
    for key, value in changes.items():
        section, _, field = key.partition(".")
        if field:
            data.setdefault(section, {})[field] = value
        else:
            data[section] = value
    return validate_posture(data)


def make_gate(url: str, clock: Clock | None = None, the_posture: Posture | None = None, *,
              account_id: str = "default", migrate: bool = True, nav: float | None = 4_400.0,
              actor: str = "test") -> RiskGate:
    """A gate on ``url`` with fresh markets for every test symbol and (optionally) a NAV mark."""
    clock = clock or Clock()
    ledger = Ledger(url, account_id=account_id)
    if migrate:
        ledger.upgrade()
    engine = RiskEngine(the_posture or posture(), clock=clock)
    gate = RiskGate(engine, ledger, actor=actor)
    mark_markets(gate, clock())
    if nav is not None:
        gate.mark_nav(AccountSnapshot(nav=nav, ts_ms=clock()))
    return gate


def mark_markets(gate: RiskGate, now: int, prices: dict[str, float] | None = None) -> None:
    """Fresh marks (tight spread) for the test symbols."""
    for symbol, price in (prices or PRICES).items():
        gate.update_market(MarketSnapshot(symbol, price, now, bid=price * 0.99999, ask=price * 1.00001,
                                          exchange_ts_ms=now))


def buy(intent_id: str, symbol: str = "BTCUSDT", notional: float = 400.0, strategy: str = "s1",
        side: str = "BUY", **fields: Any) -> OrderIntent:
    """An intent that passes every soft gate: stop 1 % away, target 3 % away, confident."""
    price = PRICES[symbol]
    long = side.upper() in ("BUY", "LONG")
    values: dict[str, Any] = {
        "stop_price": price * (0.99 if long else 1.01), "take_profit_price": price * (1.03 if long else 0.97),
        "expected_rr": 3.0, "confidence": 0.8}
    values.update(fields)
    return OrderIntent(intent_id, strategy, symbol, side, notional=notional, **values)


def rows(ledger: Ledger, table: Any) -> list[Any]:
    """Every row of ``table``."""
    with ledger.reading() as conn:
        return list(conn.execute(select(table)))


def consistency_problems(ledger: Ledger) -> list[str]:
    """Ledger invariants: no position without its fill, no lost or doubled reservation, versions coherent."""
    problems: list[str] = []
    positions = rows(ledger, t.positions)
    fills = sorted(rows(ledger, t.fills), key=lambda r: r.fill_id)
    reservations = rows(ledger, t.reservations)
    decisions = rows(ledger, t.decisions)
    (account,) = rows(ledger, t.accounts)
    last_fill: dict[tuple[str, str], Any] = {}
    for fill in fills:
        last_fill[(fill.strategy, fill.symbol)] = fill
    held = {(p.strategy, p.symbol): (p.qty if p.side == "LONG" else -p.qty) for p in positions}
    for key, qty in held.items():
        fill = last_fill.get(key)
        if fill is None:
            problems.append(f"position {key} has no fill")
        elif abs(fill.position_qty_after - qty) > 1e-9 * max(1.0, abs(qty)):
            problems.append(f"position {key} qty {qty} != last fill's {fill.position_qty_after}")
    for key, fill in last_fill.items():
        if key not in held and fill.position_qty_after != 0.0:
            problems.append(f"fill {fill.fill_id} leaves {key} at {fill.position_qty_after} but no position")
    by_decision = {d.decision_id: d for d in decisions}
    reserved_decisions = {r.decision_id for r in reservations}
    for r in reservations:
        d = by_decision.get(r.decision_id)
        if d is None or not d.approved or d.reservation_id != r.reservation_id:
            problems.append(f"reservation {r.reservation_id} has no matching approved decision")
        filled = sum(f.qty for f in fills if f.reservation_id == r.reservation_id)
        if abs(filled - r.filled_qty) > 1e-9 * max(1.0, r.qty):
            problems.append(f"reservation {r.reservation_id} filled_qty {r.filled_qty} != fills {filled}")
        if r.status == "ACTIVE" and r.ended_version is not None:
            problems.append(f"active reservation {r.reservation_id} has an end")
        if r.status != "ACTIVE" and r.ended_version is None:
            problems.append(f"{r.status} reservation {r.reservation_id} has no end")
        if r.status == "FILLED" and r.filled_qty < r.qty * (1 - 1e-9):
            problems.append(f"reservation {r.reservation_id} FILLED at {r.filled_qty} of {r.qty}")
        if max(r.created_version, r.ended_version or 0) > account.version:
            problems.append(f"reservation {r.reservation_id} is newer than the account version")
    for d in decisions:
        if d.approved and d.adds_risk and d.decision_id not in reserved_decisions:
            problems.append(f"approved decision {d.decision_id} lost its reservation")
        if d.version > account.version:
            problems.append(f"decision {d.decision_id} is newer than the account version")
    if any(f.version > account.version for f in fills):
        problems.append("a fill is newer than the account version")
    return problems


def cap_violations(ledger: Ledger, the_posture: Posture, nav: float, prices: dict[str, float]) -> list[str]:
    """Replay the ledger's history version by version and report every moment a cap was exceeded.

    Positions are valued at ``prices`` (the race test fills at those marks); reservations at their
    reserved notional. Checks the global open-position cap, per-symbol NAV caps and gross exposure.
    """
    reservations = rows(ledger, t.reservations)
    fills = sorted(rows(ledger, t.fills), key=lambda r: r.fill_id)
    (account,) = rows(ledger, t.accounts)
    symbol_caps = {s: v.max_nav_pct for s, v in the_posture.symbols.items()}
    gross_cap = the_posture.portfolio.max_gross_nav_multiple * nav
    open_cap = the_posture.portfolio.max_open_positions
    fills_at: dict[int, list[Any]] = {}
    for fill in fills:
        fills_at.setdefault(fill.version, []).append(fill)
    held: dict[tuple[str, str], float] = {}
    filled: dict[str, float] = {}  # quantity of each reservation filled so far (as of the version)
    problems: list[str] = []
    for version in range(account.version + 1):
        for fill in fills_at.get(version, []):
            held[(fill.strategy, fill.symbol)] = fill.position_qty_after
            if fill.reservation_id is not None:
                filled[fill.reservation_id] = filled.get(fill.reservation_id, 0.0) + fill.qty
        active = [r for r in reservations
                  if r.created_version <= version and (r.ended_version is None or version < r.ended_version)]
        open_count = sum(1 for q in held.values() if q != 0.0) + sum(
            1 for r in active if r.opens_new and (r.strategy, r.symbol) not in
            {k for k, q in held.items() if q != 0.0})
        by_symbol: dict[str, float] = {}
        for (_, symbol), q in held.items():
            by_symbol[symbol] = by_symbol.get(symbol, 0.0) + abs(q) * prices[symbol]
        for r in active:
            remaining = max(0.0, 1.0 - filled.get(r.reservation_id, 0.0) / r.qty)
            by_symbol[r.symbol] = by_symbol.get(r.symbol, 0.0) + r.notional * remaining
        if open_count > open_cap:
            problems.append(f"v{version}: {open_count} open positions > {open_cap}")
        gross = sum(by_symbol.values())
        if gross > gross_cap * (1 + 1e-9):
            problems.append(f"v{version}: gross {gross:.2f} > {gross_cap:.2f}")
        for symbol, value in by_symbol.items():
            cap = symbol_caps.get(symbol, symbol_caps["default"]) * nav
            if value > cap * (1 + 1e-9):
                problems.append(f"v{version}: {symbol} {value:.2f} > {cap:.2f}")
    return problems


def race_worker(url: str, worker: int, reserves: int, the_posture: Posture, seed: int, results: Any) -> None:
    """One bot process: ``reserves`` reserve calls against tight caps, each approval then released,
    filled (and later closed) or left to expire. Reports its approval count on ``results``."""
    import random

    try:
        results.put(_race_loop(url, worker, reserves, the_posture, random.Random(seed)))
    except BaseException as exc:  # report, so the parent fails at once instead of waiting
        results.put(f"worker {worker} failed: {exc!r}")


def _race_loop(url: str, worker: int, reserves: int, the_posture: Posture, rng: Any) -> int:
    import time

    ledger = Ledger(url)
    engine = RiskEngine(the_posture)
    gate = RiskGate(engine, ledger, actor=f"worker-{worker}")
    strategy = f"w{worker}"
    held: set[str] = set()
    approved = 0
    k = 0
    while k < reserves:
        mark_markets(gate, time.time_ns() // 1_000_000)
        if held and rng.random() < 0.5:
            symbol = rng.choice(sorted(held))
            gate.close(strategy, symbol, PRICES[symbol])
            held.discard(symbol)
        symbol = rng.choice([s for s in sorted(PRICES) if s not in held] or sorted(PRICES))
        intents = [buy(f"{strategy}-{k}", symbol, rng.uniform(150.0, 650.0), strategy, rng.choice(["BUY", "SELL"]))]
        if worker % 2 == 1 and k + 1 < reserves and rng.random() < 0.3:  # odd workers: two signals at once
            intents.append(buy(f"{strategy}-{k + 1}", rng.choice(sorted(PRICES)), rng.uniform(150.0, 650.0),
                               strategy, rng.choice(["BUY", "SELL"])))
        outcomes = gate.reserve_many(intents) if len(intents) > 1 else [gate.reserve(intents[0])]
        k += len(intents)
        for intent, (veto, detail, reservation_id) in zip(intents, outcomes, strict=True):
            if veto:
                continue
            approved += 1
            if reservation_id is None:  # an approved reducing order books no reservation
                continue
            choice = rng.random()
            if choice < 0.4:
                gate.release(reservation_id)
            # A bot declares its order sent before sending it (placed: no TTL from then on); too late
            # (expired under load), it must not send, and so cannot fill.
            elif choice < 0.8 and intent.symbol not in held and gate.placed(reservation_id):
                gate.fill(reservation_id, detail["sized"]["qty"], PRICES[intent.symbol])
                held.add(intent.symbol)
    ledger.dispose()
    return approved


def crash_worker(url: str, the_posture: Posture, seed: int) -> None:
    """A bot that reserves, fills, partially fills, releases, closes and expires forever (until killed)."""
    import random
    import time

    rng = random.Random(seed)
    ledger = Ledger(url)
    gate = RiskGate(RiskEngine(the_posture), ledger, actor=f"crash-{seed}")
    strategy = f"c{seed % 3}"
    k = 0
    while True:
        k += 1
        mark_markets(gate, time.time_ns() // 1_000_000)
        held = {p.symbol for p in ledger.positions() if p.strategy == strategy}
        if held and rng.random() < 0.4:
            symbol = rng.choice(sorted(held))
            gate.close(strategy, symbol, PRICES[symbol] * rng.uniform(0.98, 1.02),
                       qty=None if rng.random() < 0.5 else next(
                           p.qty / 2 for p in ledger.positions() if (p.strategy, p.symbol) == (strategy, symbol)))
            continue
        symbol = rng.choice(sorted(PRICES))
        side = "SELL" if symbol in held else rng.choice(["BUY", "SELL"])
        intent = buy(f"{seed}-{k}", symbol, rng.uniform(100.0, 600.0), strategy, side)
        _, detail, reservation_id = gate.reserve(intent)
        if reservation_id is None:
            if rng.random() < 0.1:
                ledger.expire()
            continue
        qty = detail["sized"]["qty"]
        choice = rng.random()
        if choice < 0.3:
            gate.release(reservation_id)
        elif choice < 0.6 and gate.placed(reservation_id):  # sent only while still reserved
            gate.fill(reservation_id, qty, PRICES[symbol])
        elif 0.6 <= choice < 0.8 and gate.placed(reservation_id):
            gate.fill(reservation_id, qty / 2, PRICES[symbol])
            gate.fill(reservation_id, qty / 2, PRICES[symbol] * 1.001)
