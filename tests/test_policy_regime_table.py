"""scripts/regime_table.py: the per-month BTC table, and docs/regime.md showing the current one."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

from riskguard.config import preset

ROOT = Path(__file__).resolve().parents[1]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("regime_table", ROOT / "scripts" / "regime_table.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _btc() -> pd.DataFrame:
    env = os.environ.get("RISKGUARD_SHARED_DATA")
    base = Path(env) if env else ROOT / ".." / "shared" / "data"
    path = base / "freqtrade-testdata" / "BTC_USDT_USDT-1h-futures.feather"
    if not path.exists():
        pytest.skip(f"shared candles not found at {path} (set RISKGUARD_SHARED_DATA)")
    return pd.read_feather(path)


def test_regime_shares_of_each_month_add_up_to_100_percent() -> None:
    table = _script().monthly_regime_table(_btc(), preset("moderate").policy.regime)
    shares = table[["BULL", "BEAR", "HIGH_VOL", "CHOP", "LOW_VOL", "NORMAL"]].sum(axis=1)
    assert shares.between(98, 102).all()  # each share is rounded to a whole percent


def test_docs_show_the_table_the_script_generates_today() -> None:
    script = _script()
    table = script.to_markdown(script.monthly_regime_table(_btc(), preset("moderate").policy.regime))
    assert table in (ROOT / "docs" / "regime.md").read_text(encoding="utf-8")
