"""CLI start-up: commands import only what they use (pandas, SciPy, Matplotlib and SQLAlchemy cost
seconds of start-up together; docs/performance.md has the timings)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from riskguard.cli import db_commands
from riskguard.ledger import database

HEAVY = ("pandas", "scipy", "matplotlib", "sqlalchemy", "pyarrow")
CHECK = ["check", "--preset", "moderate", "--state", "example:state_moderate", "--intent", "example:intent_btc"]
PROBE = ["probe", "--preset", "moderate", "--nav", "4400", "--state", "example:state_moderate",
         "--symbols", "BTCUSDT,ETHUSDT"]


def heavy_modules_loaded_by(args: list[str], heavy: tuple[str, ...] = HEAVY) -> list[str]:
    """Run ``riskguard ARGS`` in a fresh interpreter; which of the ``heavy`` packages it imported."""
    script = ("import sys\nfrom riskguard.cli.app import app\n"
              f"try:\n    app({args!r})\nexcept SystemExit:\n    pass\n"
              f"print('loaded:' + ','.join(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    line = next(x for x in done.stderr.splitlines() if x.startswith("loaded:"))
    return [m for m in line.removeprefix("loaded:").split(",") if m]


@pytest.mark.parametrize("args", [["--help"], ["db", "--help"], ["replay", "--help"], CHECK, PROBE],
                         ids=["help", "db-help", "replay-help", "check", "probe"])
def test_command_imports_no_pandas_scipy_matplotlib_or_sqlalchemy(args: list[str]) -> None:
    assert heavy_modules_loaded_by(args) == []


def test_help_does_not_build_the_posture_schema() -> None:
    assert heavy_modules_loaded_by(["--help"], ("pydantic", "riskguard.config.schema", "riskguard.engine")) == []


def test_db_help_names_the_ledgers_own_default_url_and_environment_variable() -> None:
    assert (db_commands.ENV_DB_URL, db_commands.DEFAULT_DB_URL) == (database.ENV_DB_URL, database.DEFAULT_DB_URL)
