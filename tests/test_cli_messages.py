"""Error texts reach the user as written: no Rich markup or emoji codes interpreted, no "(got None)",
paths shown as given with only passwords hidden, and a --db-url that is not a URL refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskguard.cli.app import app
from riskguard.config.errors import PostureError
from riskguard.config.loader import preset_data, validate_posture
from riskguard.ledger.database import redact
from riskguard.model.errors import InputValidationError

runner = CliRunner()


def test_a_file_name_with_emoji_codes_and_brackets_is_printed_as_given(tmp_path: Path) -> None:
    name = tmp_path / "[red]junk:date:.json"
    result = runner.invoke(app, ["check", "--intent", str(name), "--state", "example:state_moderate"])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {name}: no such file"


def test_an_example_name_with_an_emoji_code_is_not_turned_into_an_emoji() -> None:
    result = runner.invoke(app, ["examples", ":date:"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: :date:: no such example")


def test_a_validation_error_without_a_value_does_not_end_in_got_none() -> None:
    assert str(InputValidationError("grid.yaml", "no such grid file")) == "grid.yaml: no such grid file"
    assert str(InputValidationError("nav", "must be > 0", -1.0)) == "nav: must be > 0 (got -1.0)"


def test_a_posture_field_set_to_null_does_not_end_in_got_none() -> None:
    data = preset_data("moderate")
    data["trade"]["max_trade_nav_pct"] = None
    with pytest.raises(PostureError) as caught:
        validate_posture(data, "p.yaml")
    assert not any(m.endswith("(got None)") for _, m in caught.value.problems)


def test_a_db_url_that_is_not_a_url_is_refused_and_creates_no_file(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for argv in (["db", "upgrade", "--db-url", "ledger-typo"], ["db", "state", "--db-url", "ledger-typo"]):
        result = runner.invoke(app, argv)
        assert result.exit_code == 2
        assert result.stderr.startswith("error: --db-url: ledger-typo is not a database URL; write sqlite:///")
    assert list(tmp_path.iterdir()) == []


def test_a_bad_path_in_a_database_url_is_shown_as_given_with_only_the_password_hidden() -> None:
    assert redact("/proc/riskguard.db") == "/proc/riskguard.db"
    assert redact("postgresql+psycopg://bot:s3cret@db/x") == "postgresql+psycopg://bot:***@db/x"
    assert redact("weird://bot:s3cret@host:notaport/x") == "weird://bot:***@host:notaport/x"


def test_an_unopenable_sqlite_path_is_named_in_the_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["db", "upgrade", "--db-url", "sqlite:////proc/riskguard[1].db"])
    assert result.exit_code == 2
    assert "/proc/riskguard[1].db" in result.stderr and "unparseable" not in result.stderr
