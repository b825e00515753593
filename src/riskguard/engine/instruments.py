"""The shipped instrument-rules snapshot (Binance USD-M), used until an exchange adapter loads live rules."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from riskguard.model.instrument import InstrumentRules


@lru_cache(maxsize=1)
def _snapshot() -> dict[str, Any]:
    text = resources.files("riskguard.data").joinpath("binance_usdm_instruments.json").read_text("utf-8")
    payload: dict[str, Any] = json.loads(text)
    return payload


def snapshot_as_of() -> str:
    """The date (ISO) the shipped instrument snapshot was written; live rules come from the exchange."""
    return str(_snapshot()["as_of"])


@lru_cache(maxsize=1)
def default_instruments() -> dict[str, InstrumentRules]:
    """Symbol -> rules from riskguard/data/binance_usdm_instruments.json (dated: ``snapshot_as_of()``)."""
    payload = _snapshot()
    rules = (InstrumentRules.from_dict(item) for item in payload["instruments"])
    return {r.symbol: r for r in rules}
