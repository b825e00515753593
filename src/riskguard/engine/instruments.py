"""The shipped instrument-rules snapshot (Binance USD-M), used until an exchange adapter loads live rules."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from riskguard.model.instrument import InstrumentRules


@lru_cache(maxsize=1)
def default_instruments() -> dict[str, InstrumentRules]:
    """Symbol -> rules from riskguard/data/binance_usdm_instruments.json."""
    text = resources.files("riskguard.data").joinpath("binance_usdm_instruments.json").read_text("utf-8")
    payload = json.loads(text)
    rules = (InstrumentRules.from_dict(item) for item in payload["instruments"])
    return {r.symbol: r for r in rules}
