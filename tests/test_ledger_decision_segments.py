"""Packed decisions: older decisions' documents compressed together in segments read back exactly as
stored, are packed once even by competing packers, and cost under 1 kB each."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from typer.testing import CliRunner

from ledger_fixtures import PRICES, Clock, buy, db_url, make_gate, posture
from riskguard.cli.app import app
from riskguard.ledger import Ledger, LedgerError
from riskguard.ledger import tables as t
from riskguard.ledger.decision_segments import CODEC, PACKED, SEGMENT_DECISIONS, pack, unpack
from riskguard.runtime import RiskGate, replay_decision

__all__ = ["db_url"]

_LATER = 2**62  # a "before" that every test decision precedes
SEGMENT = 24  # decisions per segment in these tests (the shipped size only where the size matters)


def _decide(gate: RiskGate, clock: Clock, count: int, prefix: str = "i") -> list[str]:
    """``count`` decisions: approvals, vetoes (a stop on the wrong side), fills and releases."""
    rng = np.random.default_rng(5)
    ids = []
    for n in range(count):
        clock.advance(int(rng.integers(1, 500)))
        symbol = ["BTCUSDT", "ETHUSDT", "SOLUSDT"][n % 3]
        wrong_stop = {"stop_price": PRICES[symbol] * 1.01} if n % 5 == 2 else {}
        _, detail, rid = gate.reserve(buy(f"{prefix}{n}", symbol, notional=200.0 + n, strategy=f"s{n % 4}",
                                          **wrong_stop))
        ids.append(detail["decision_id"])
        if rid is not None and n % 3 == 0:
            gate.release(rid)
    return ids


def _small_segments(ledger: Ledger) -> Ledger:
    ledger.segment_decisions = SEGMENT
    return ledger


def _gate(url: str, clock: Clock, segment: int = SEGMENT, **ledger: Any) -> RiskGate:
    the_posture = posture(**{"ledger.reservation_ttl_s": 0.3, "portfolio.max_open_positions": 1_000,
                             "portfolio.max_open_positions_high_confidence": 1_000})
    gate = make_gate(url, clock, the_posture, nav=50_000.0)
    if ledger:
        gate.ledger.dispose()
        gate.ledger = Ledger(url, **ledger)
    gate.ledger.segment_decisions = segment
    return gate


@given(st.lists(st.tuples(st.text(), st.text()), max_size=20))
@settings(max_examples=60, deadline=None)
def test_a_segment_unpacks_to_exactly_the_documents_packed(documents: list[tuple[str, str]]) -> None:
    assert unpack(CODEC, pack(documents)) == documents


def test_an_unknown_codec_is_refused_by_name() -> None:
    with pytest.raises(LedgerError, match="zstd-9"):
        unpack("zstd-9", pack([("{}", "{}")]))


def test_a_damaged_segment_is_an_error_not_a_guess() -> None:
    body = bytearray(pack([('{"a":1}', '{"b":2}')] * 10))
    body[len(body) // 2] ^= 0xFF
    with pytest.raises(LedgerError, match="damaged"):
        unpack(CODEC, bytes(body))


def test_packed_decisions_read_back_exactly_as_stored(db_url: str) -> None:
    clock = Clock()
    gate = _gate(db_url, clock)
    ids = _decide(gate, clock, 2 * SEGMENT + 10)
    before = {r.decision_id: r for r in gate.ledger.decisions(limit=1_000)}
    assert gate.ledger.pack_decisions(before_ms=_LATER) == 2 * SEGMENT
    after = {r.decision_id: r for r in gate.ledger.decisions(limit=1_000)}
    assert after == before
    assert [gate.ledger.decision(d) for d in ids] == [before[d] for d in ids]


def test_packed_decisions_still_replay_bit_for_bit(db_url: str) -> None:
    clock = Clock()
    gate = _gate(db_url, clock)
    ids = _decide(gate, clock, SEGMENT)
    gate.ledger.pack_decisions(before_ms=_LATER)
    for decision_id in ids[::3]:
        result = replay_decision(gate.ledger, decision_id)
        assert result.matches, (decision_id, result.differences)


def test_a_packed_row_keeps_its_columns_and_names_its_segment(db_url: str) -> None:
    clock = Clock()
    gate = _gate(db_url, clock)
    ids = _decide(gate, clock, SEGMENT)
    gate.ledger.pack_decisions(before_ms=_LATER)
    with gate.ledger.reading() as conn:
        rows = {r.decision_id: r for r in conn.execute(select(t.decisions))}
    assert {(r.inputs, r.detail) for r in rows.values()} == {(PACKED, PACKED)}
    assert [rows[d].segment_index for d in ids] == list(range(SEGMENT))
    assert {rows[d].segment_id for d in ids} == {ids[0]}


def test_only_whole_segments_of_decisions_before_the_cut_are_packed(db_url: str) -> None:
    clock = Clock()
    gate = _gate(db_url, clock)
    ids = _decide(gate, clock, 2 * SEGMENT + 10)
    cut = gate.ledger.decision(ids[SEGMENT + 16]).ts_ms
    assert gate.ledger.pack_decisions(before_ms=cut) == SEGMENT
    summary = gate.ledger.packing_summary()
    assert (summary.packed, summary.unpacked, summary.segments) == (SEGMENT, SEGMENT + 10, 1)
    assert gate.ledger.unpacked_before(cut) == 17
    assert gate.ledger.pack_decisions(before_ms=_LATER) == SEGMENT
    assert gate.ledger.pack_decisions(before_ms=_LATER) == 0


def test_a_retried_intent_whose_decision_is_packed_gets_the_stored_decision(db_url: str) -> None:
    clock = Clock()
    gate = _gate(db_url, clock)
    ids = _decide(gate, clock, SEGMENT)
    stored = gate.ledger.decision(ids[7])
    gate.ledger.pack_decisions(before_ms=_LATER)
    veto, detail, reservation_id = gate.reserve(buy("i7", "ETHUSDT", notional=207.0, strategy="s3"))
    assert detail == stored.detail
    assert (veto, reservation_id) == (not stored.approved, stored.reservation_id)


def test_books_stored_by_reference_resolve_across_packed_and_unpacked_decisions(db_url: str) -> None:
    clock = Clock()
    gate = _gate(db_url, clock)
    ids = _decide(gate, clock, SEGMENT + 20)
    books = {d: gate.ledger.decision(d).inputs["book"] for d in ids}
    gate.ledger.pack_decisions(before_ms=_LATER)
    with gate.ledger.reading() as conn:
        stored = dict(conn.execute(select(t.decisions.c.decision_id, t.decisions.c.inputs)).all())
    by_reference = [d for d in ids[SEGMENT:] if "base" in json.loads(stored[d])["book"]]
    assert by_reference  # an unpacked decision whose book names a packed one
    assert {d: gate.ledger.decision(d).inputs["book"] for d in ids} == books


def test_competing_packers_pack_every_decision_exactly_once(db_url: str) -> None:
    clock = Clock()
    gate = _gate(db_url, clock)
    ids = _decide(gate, clock, 6 * SEGMENT)
    expected = {r.decision_id: r for r in gate.ledger.decisions(limit=1_000)}
    packers = [_small_segments(Ledger(db_url)) for _ in range(3)]
    counts: list[int] = []
    threads = [threading.Thread(target=lambda p=p: counts.append(p.pack_decisions(before_ms=_LATER)))
               for p in packers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for packer in packers:
        packer.dispose()
    # A packer that lost a race stops; whatever is left is packed by the next run.
    counts.append(gate.ledger.pack_decisions(before_ms=_LATER))
    assert sum(counts) == len(ids)
    with gate.ledger.reading() as conn:
        segments = list(conn.execute(select(t.decision_segments)))
    assert sum(s.decisions for s in segments) == len(ids)
    assert {r.decision_id: r for r in gate.ledger.decisions(limit=1_000)} == expected


def test_a_ledger_told_to_pack_does_it_in_the_background_as_it_reserves(
        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Ledger, "segment_decisions", SEGMENT)  # the thread's period is set as the ledger is made
    clock = Clock()
    gate = _gate(db_url, clock, pack_after_s=0.0)
    ids = _decide(gate, clock, SEGMENT + 5)
    deadline = time.monotonic() + 30.0
    while gate.ledger.packing_summary().packed < SEGMENT and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gate.ledger.packing_summary().packed == SEGMENT
    assert gate.ledger.decision(ids[0]).decision_id == ids[0]
    gate.ledger.dispose()


def test_a_ledger_packs_nothing_by_itself_unless_told_to(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Small segments from the start: a ledger that packed by default would wake its thread here.
    monkeypatch.setattr(Ledger, "segment_decisions", SEGMENT)
    clock = Clock()
    gate = _gate(db_url, clock)
    gate.ledger.dispose()
    gate.ledger = Ledger(db_url)
    _decide(gate, clock, 2 * SEGMENT + 5)
    time.sleep(1.0)
    assert gate.ledger.packing_summary().packed == 0


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_a_nonsense_packing_age_is_refused_by_name(tmp_path: Any, bad: float) -> None:
    with pytest.raises(LedgerError, match="pack_after_s"):
        Ledger(f"sqlite:///{tmp_path / 'l.db'}", pack_after_s=bad)


def test_a_packed_decision_stores_under_one_kilobyte(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    clock = Clock()
    gate = _gate(url, clock, segment=SEGMENT_DECISIONS)
    ids = _decide(gate, clock, 2 * SEGMENT_DECISIONS)
    gate.ledger.pack_decisions(before_ms=_LATER)
    gate.ledger.dispose()
    with sqlite3.connect(tmp_path / "ledger.db") as db:
        db.execute("VACUUM")
        used = dict(db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall())
    decision_bytes = sum(size for name, size in used.items()
                         if name in ("rg_decisions", "rg_decision_segments") or "rg_decisions" in name
                         or "rg_decision_segments" in name)
    assert decision_bytes / len(ids) < 1024, decision_bytes / len(ids)


def test_downgrading_past_packing_is_refused_while_decisions_are_packed(tmp_path: Any) -> None:
    from alembic import command

    from riskguard.ledger.migrate import alembic_config

    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    clock = Clock()
    gate = _gate(url, clock)
    _decide(gate, clock, SEGMENT)
    gate.ledger.pack_decisions(before_ms=_LATER)
    config = alembic_config()
    with pytest.raises(RuntimeError, match="packed"), gate.ledger.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0005_active_reservations")


def test_db_pack_reports_what_it_packed_as_json(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Ledger, "segment_decisions", SEGMENT)
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    clock = Clock()
    gate = _gate(url, clock)
    _decide(gate, clock, SEGMENT + 3)
    gate.ledger.dispose()
    result = CliRunner().invoke(app, ["db", "pack", "--db-url", url, "--older-than", "1h", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["packed_now"], report["packed"], report["unpacked"], report["segments"]) == (
        SEGMENT, SEGMENT, 3, 1)


def test_db_pack_names_a_bad_age_and_exits_2(tmp_path: Any) -> None:
    result = CliRunner().invoke(app, ["db", "pack", "--db-url", f"sqlite:///{tmp_path / 'l.db'}",
                                      "--older-than", "soon"])
    assert result.exit_code == 2
    assert "--older-than" in result.output


def _pack_until_killed(url: str) -> None:
    ledger = _small_segments(Ledger(url))
    while ledger.pack_decisions(before_ms=_LATER, max_segments=1):
        pass
    time.sleep(60)  # everything packed: wait for the kill


def _packing_problems(ledger: Ledger) -> list[str]:
    with ledger.reading() as conn:
        rows = list(conn.execute(select(t.decisions)))
        segments = {s.segment_id: s.decisions for s in conn.execute(select(t.decision_segments))}
    problems = [f"{r.decision_id}: documents emptied without a segment" for r in rows
                if r.segment_id is None and (r.inputs, r.detail) == (PACKED, PACKED)]
    problems += [f"{r.decision_id}: names missing segment {r.segment_id}" for r in rows
                 if r.segment_id is not None and r.segment_id not in segments]
    members: dict[str, int] = {}
    for r in rows:
        if r.segment_id is not None:
            members[r.segment_id] = members.get(r.segment_id, 0) + 1
    problems += [f"segment {s}: {n} decisions, {members.get(s, 0)} rows" for s, n in segments.items()
                 if members.get(s, 0) != n]
    return problems


@pytest.mark.slow
def test_kill_9_while_packing_loses_no_decision(db_url: str) -> None:
    import multiprocessing
    import os
    import random
    import signal

    clock = Clock()
    gate = _gate(db_url, clock)
    _decide(gate, clock, 16 * SEGMENT)
    expected = {r.decision_id: r for r in gate.ledger.decisions(limit=10_000)}
    gate.ledger.dispose()
    context = multiprocessing.get_context("fork")
    rng = random.Random(3)
    for attempt in range(6):
        worker = context.Process(target=_pack_until_killed, args=(db_url,))
        worker.start()
        time.sleep(rng.uniform(0.05, 0.3))
        os.kill(worker.pid, signal.SIGKILL)  # type: ignore[arg-type]
        worker.join()
        ledger = Ledger(db_url)
        assert _packing_problems(ledger) == [], f"after kill {attempt}"
        assert {r.decision_id: r for r in ledger.decisions(limit=10_000)} == expected, f"after kill {attempt}"
        ledger.dispose()


def test_the_migrated_schema_is_exactly_the_tables_the_code_declares(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    import riskguard.ledger.control_tables  # noqa: F401  (declares its tables on the same metadata)

    ledger = Ledger(db_url)
    ledger.upgrade()
    with ledger.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), t.metadata)
    ledger.dispose()
    assert differences == []


def test_db_pack_of_an_unknown_account_exits_1_naming_it(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    _gate(url, Clock()).ledger.dispose()
    result = CliRunner().invoke(app, ["db", "pack", "--db-url", url, "--account", "nobody"])
    assert result.exit_code == 1
    assert "nobody" in result.output
