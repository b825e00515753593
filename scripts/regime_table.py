"""Per-month regime table of a symbol's 1h candles, as Markdown (pasted into docs/regime.md).

Run: python scripts/regime_table.py [SYMBOL]   (default BTC; data from ../shared/data or
RISKGUARD_SHARED_DATA). Uses the moderate preset's regime thresholds.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd

from riskguard.config import preset
from riskguard.config.policy_schema import RegimeDetectionSection
from riskguard.model.enums import Regime
from riskguard.policy import detect_regimes

ORDER = (Regime.BULL, Regime.BEAR, Regime.HIGH_VOL, Regime.CHOP, Regime.LOW_VOL, Regime.NORMAL)


def shared_data() -> Path:
    env = os.environ.get("RISKGUARD_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def monthly_regime_table(df: pd.DataFrame, cfg: RegimeDetectionSection) -> pd.DataFrame:
    """One row per UTC month: bars labelled, close change over those bars (%), share of each regime
    (%), and the dominant regime. Warm-up bars (no label) are left out."""
    labels = detect_regimes(df, cfg)
    frame = pd.DataFrame({"month": df["date"].dt.strftime("%Y-%m"), "close": df["close"], "regime": labels})
    rows = []
    for month, group in frame.dropna(subset=["regime"]).groupby("month", sort=True):
        shares = group["regime"].value_counts(normalize=True)
        row: dict[str, object] = {
            "month": month,
            "bars": len(group),
            "change_pct": round(100.0 * (group["close"].iloc[-1] / group["close"].iloc[0] - 1.0), 1),
        }
        for regime in ORDER:
            row[regime.value] = round(100.0 * float(shares.get(regime, 0.0)))
        row["dominant"] = max(ORDER, key=lambda r: float(shares.get(r, 0.0))).value
        rows.append(row)
    return pd.DataFrame(rows)


def to_markdown(table: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table (no tabulate dependency)."""
    header = "| " + " | ".join(str(c) for c in table.columns) + " |"
    rule = "| " + " | ".join("---" for _ in table.columns) + " |"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def main(argv: list[str]) -> int:
    symbol = argv[1].upper() if len(argv) > 1 else "BTC"
    path = shared_data() / "freqtrade-testdata" / f"{symbol}_USDT_USDT-1h-futures.feather"
    if not path.exists():
        print(f"candles not found: {path} (set RISKGUARD_SHARED_DATA)")
        return 1
    table = monthly_regime_table(pd.read_feather(path), preset("moderate").policy.regime)
    print(f"{symbol}/USDT perpetual, 1h candles; regime shares in % of each month's labelled bars.\n")
    print(to_markdown(table))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
