"""``riskguard db`` and ``riskguard decisions`` on a real SQLite ledger."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from sqlalchemy import update
from typer.testing import CliRunner

from ledger_fixtures import buy, make_gate, posture
from riskguard.cli.db_commands import db_app, decisions_app
from riskguard.ledger import tables as t
from riskguard.ledger.migrate import head_revision

app = typer.Typer()
app.add_typer(db_app, name="db")
app.add_typer(decisions_app, name="decisions")
runner = CliRunner()


def _ledger_with_decisions(tmp_path: Path) -> tuple[str, list[str]]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    gate = make_gate(url, the_posture=posture(**{"portfolio.max_open_positions": 1}))
    ids = [gate.reserve(buy("i-ok", "BTCUSDT", strategy="s1"))[1]["decision_id"],
           gate.reserve(buy("i-no", "ETHUSDT", strategy="s2"))[1]["decision_id"]]
    gate.ledger.dispose()
    return url, ids


def test_db_upgrade_creates_the_schema_and_reports_the_revision(tmp_path: Path) -> None:
    result = runner.invoke(app, ["db", "upgrade", "--db-url", f"sqlite:///{tmp_path / 'new.db'}", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["revision"] == head_revision()


def test_decisions_list_shows_newest_first_with_verdicts(tmp_path: Path) -> None:
    url, ids = _ledger_with_decisions(tmp_path)
    result = runner.invoke(app, ["decisions", "list", "--db-url", url, "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert [d["decision_id"] for d in listed] == ids[::-1]
    assert [d["verdict"] for d in listed] == ["VETO", "APPROVED"]
    assert listed[0]["reasons"] == ["global_concurrency_exceeded"]


def test_decisions_list_table_names_the_reason(tmp_path: Path) -> None:
    url, _ = _ledger_with_decisions(tmp_path)
    result = runner.invoke(app, ["decisions", "list", "--db-url", url, "--vetoed"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "global_concurrency_exceeded" in result.output and "i-ok" not in result.output


def test_decisions_show_includes_inputs_in_json(tmp_path: Path) -> None:
    url, ids = _ledger_with_decisions(tmp_path)
    result = runner.invoke(app, ["decisions", "show", ids[0], "--db-url", url, "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["inputs"]["intent"]["intent_id"] == "i-ok"
    assert shown["reservation_id"] is not None


def test_decisions_explain_lists_every_gate(tmp_path: Path) -> None:
    url, ids = _ledger_with_decisions(tmp_path)
    result = runner.invoke(app, ["decisions", "explain", ids[1], "--db-url", url], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "global_concurrency_exceeded" in result.output and "symbol_nav_cap_exceeded" in result.output


def test_decisions_replay_reproduces_stored_decisions(tmp_path: Path) -> None:
    url, ids = _ledger_with_decisions(tmp_path)
    for decision_id in ids:
        result = runner.invoke(app, ["decisions", "replay", decision_id, "--db-url", url])
        assert result.exit_code == 0, result.output
        assert "reproduces exactly" in result.output


def test_decisions_replay_of_a_tampered_decision_exits_1_naming_the_field(tmp_path: Path) -> None:
    url, ids = _ledger_with_decisions(tmp_path)
    gate = make_gate(url, migrate=False)
    record = gate.ledger.decision(ids[0])
    tampered = {**record.detail, "risk_usdt": 1.0}
    with gate.ledger.transaction() as conn:
        conn.execute(update(t.decisions).where(t.decisions.c.decision_id == ids[0])
                     .values(detail=json.dumps(tampered)))
    result = runner.invoke(app, ["decisions", "replay", ids[0], "--db-url", url, "--json"])
    assert result.exit_code == 1
    assert list(json.loads(result.output)["differences"]) == ["risk_usdt"]


def test_unknown_decision_exits_1_with_one_line(tmp_path: Path) -> None:
    url, _ = _ledger_with_decisions(tmp_path)
    result = runner.invoke(app, ["decisions", "show", "nope", "--db-url", url])
    assert result.exit_code == 1
    assert "decision 'nope' does not exist" in result.output
    assert "Traceback" not in result.output


def test_missing_sqlite_ledger_exits_2_pointing_at_db_upgrade(tmp_path: Path) -> None:
    result = runner.invoke(app, ["decisions", "list", "--db-url", f"sqlite:///{tmp_path / 'absent.db'}"])
    assert result.exit_code == 2
    assert "riskguard db upgrade" in result.output
    assert not (tmp_path / "absent.db").exists()


def test_unreachable_database_exits_2_without_the_password() -> None:
    result = runner.invoke(app, ["decisions", "list", "--db-url", "postgresql+psycopg://bot:s3cret@127.0.0.1:1/x"])
    assert result.exit_code == 2
    assert "unavailable" in result.output and "s3cret" not in result.output


def test_db_state_set_records_who_and_why(tmp_path: Path) -> None:
    url, _ = _ledger_with_decisions(tmp_path)
    result = runner.invoke(app, ["db", "state", "--db-url", url, "--set", "REDUCING", "--reason", "vol spike",
                                 "--actor", "alice", "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert (shown["trading_state"], shown["reason"], shown["actor"]) == ("REDUCING", "vol spike", "alice")


def test_db_state_set_without_reason_is_a_usage_error(tmp_path: Path) -> None:
    url, _ = _ledger_with_decisions(tmp_path)
    result = runner.invoke(app, ["db", "state", "--db-url", url, "--set", "HALTED"])
    assert result.exit_code == 2
    assert "--reason" in result.output


def test_db_state_set_halted_works_on_a_fresh_ledger_before_any_bot_ran(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    result = runner.invoke(app, ["db", "state", "--db-url", url, "--set", "HALTED", "--reason", "not yet",
                                 "--actor", "ops", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["trading_state"] == "HALTED"
    gate = make_gate(url)  # the first bot starts: it finds the account halted
    veto, detail, _ = gate.reserve(buy("first"))
    assert veto and detail["reasons"] == ["trading_halted"]


def test_db_state_set_to_an_unknown_state_is_refused_before_creating_anything(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    result = runner.invoke(app, ["db", "state", "--db-url", url, "--set", "SIDEWAYS", "--reason", "r"])
    assert result.exit_code == 2 and "ACTIVE, REDUCING, HALTED" in result.stderr
    assert not (tmp_path / "fresh.db").exists()
