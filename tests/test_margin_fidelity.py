"""Fidelity of riskguard.math.margin to Binance USD-M.

1. Generated cases over every USDT-M tier table in ../shared/data/freqtrade-testdata/
   binance_leverage_tiers.json (each tier's floor, middle and just under its cap): maintenance margin
   and liquidation price (isolated and cross, long and short) equal Binance's published formulas,
   written out here independently from the raw bracket entries (floor-inclusive lookup).
2. The recorded positions in ../shared/data/binance-usdm: Binance's own ``maintMargin`` and
   ``liquidationPrice`` wherever the recording holds the inputs (see each test for what is missing).

Binance (one-way mode): MM = notional x MMR - cum, with the bracket notionalFloor <= notional < notionalCap;
LP = (WB - TMM1 + UPNL1 + cum - side x qty x EP) / (qty x MMR - side x qty).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from riskguard.exchange.binance_rules import leverage_brackets
from riskguard.math.margin import bracket_for, liquidation_price, maintenance_margin
from riskguard.model import InstrumentRules, PositionSide

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TIERS = SHARED / "freqtrade-testdata" / "binance_leverage_tiers.json"
RECORDED = SHARED / "binance-usdm"


def load(path: Path) -> Any:
    if not path.exists():
        pytest.skip(f"shared test data not found at {path}")
    return json.loads(path.read_text("utf-8"))


def usdt_tier_tables() -> dict[str, list[dict[str, Any]]]:
    """Symbol -> raw Binance bracket entries (``info``) of every USDT-margined table."""
    tables = load(TIERS)
    return {symbol: [tier["info"] for tier in tiers] for symbol, tiers in tables.items() if symbol.endswith(":USDT")}


def binance_bracket(raw: list[dict[str, Any]], notional: float) -> dict[str, Any]:
    """Binance's lookup, straight from the raw entries: notionalFloor <= notional < notionalCap."""
    for entry in raw:
        if entry["notionalFloor"] <= notional < entry["notionalCap"]:
            return entry
    raise AssertionError(f"no bracket for {notional}")


def binance_maintenance_margin(raw: list[dict[str, Any]], notional: float) -> float:
    entry = binance_bracket(raw, notional)
    return notional * entry["maintMarginRatio"] - entry["cum"]


def binance_liquidation_price(raw: list[dict[str, Any]], side: int, qty: float, entry_price: float, mark: float,
                              wallet: float, other_mm: float = 0.0, other_upnl: float = 0.0) -> float:
    bracket = binance_bracket(raw, qty * mark)
    mmr, cum = bracket["maintMarginRatio"], bracket["cum"]
    price = (wallet - other_mm + other_upnl + cum - side * qty * entry_price) / (qty * mmr - side * qty)
    return max(price, 0.0)


def cases(raw: list[dict[str, Any]]) -> Iterator[float]:
    """Notionals at each tier's floor (the boundary), its middle and just under its cap."""
    for entry in raw:
        floor, cap = float(entry["notionalFloor"]), float(entry["notionalCap"])
        yield floor
        yield (floor + cap) / 2.0
        yield cap * (1.0 - 1e-9)


def riskguard_liquidation(brackets: Any, side: PositionSide, qty: float, entry_price: float, mark: float,
                          wallet: float, other_mm: float = 0.0, other_upnl: float = 0.0) -> float:
    """What riskguard computes: the bracket of the notional at mark, then the one-way formula."""
    bracket = bracket_for(qty * mark, brackets)
    return liquidation_price(side, qty, entry_price, wallet, bracket.maintenance_margin_rate,
                             bracket.maintenance_amount, other_mm, other_upnl)


def test_every_usdt_tier_table_is_covered() -> None:
    tables = usdt_tier_tables()
    assert len(tables) > 800
    assert all(len(raw) >= 3 for raw in tables.values())


def test_maintenance_margin_equals_binance_on_every_tier_including_boundaries() -> None:
    checked = 0
    for symbol, raw in usdt_tier_tables().items():
        brackets = leverage_brackets(raw)
        for notional in cases(raw):
            bracket = bracket_for(notional, brackets)
            ours = maintenance_margin(notional, bracket.maintenance_margin_rate, bracket.maintenance_amount)
            theirs = binance_maintenance_margin(raw, notional)
            assert ours == pytest.approx(theirs, rel=1e-12, abs=1e-9), (symbol, notional)
            assert bracket.maintenance_margin_rate == binance_bracket(raw, notional)["maintMarginRatio"], (
                symbol, notional)
            checked += 1
    assert checked > 20_000


def position_inputs(mode: str, raw: list[dict[str, Any]], notional: float, sign: int) -> dict[str, float]:
    """A position of ``notional`` at mark: isolated on its own initial margin at the tier's leverage,
    or cross with a wallet and other positions' maintenance margin and (losing) uPnL."""
    mark = 2.0 if mode == "isolated" else 0.5  # powers of two keep qty x mark == notional exact at floors
    qty = notional / mark
    if mode == "isolated":
        entry_price = mark * (1.0 - 0.01 * sign)
        wallet = qty * entry_price / binance_bracket(raw, notional)["initialLeverage"]
        return {"qty": qty, "entry_price": entry_price, "mark": mark, "wallet": wallet}
    return {"qty": qty, "entry_price": mark * (1.0 + 0.02 * sign), "mark": mark, "wallet": notional * 0.3,
            "other_mm": notional * 0.01, "other_upnl": -notional * 0.02}


@pytest.mark.parametrize("mode", ["isolated", "cross"])
@pytest.mark.parametrize("side", [PositionSide.LONG, PositionSide.SHORT])
def test_liquidation_price_equals_binance_on_every_tier(mode: str, side: PositionSide) -> None:
    sign = 1 if side is PositionSide.LONG else -1
    for symbol, raw in usdt_tier_tables().items():
        brackets = leverage_brackets(raw)
        for notional in cases(raw):
            if notional == 0.0:
                continue
            inputs = position_inputs(mode, raw, notional, sign)
            ours = riskguard_liquidation(brackets, side, **inputs)
            theirs = binance_liquidation_price(raw, sign, **inputs)
            assert ours == pytest.approx(theirs, rel=1e-12, abs=1e-12), (symbol, notional, mode, side)


def test_exchange_leverage_ceiling_at_a_bracket_boundary_is_the_next_brackets() -> None:
    # Regression for InstrumentRules.max_leverage_for (the exchange_leverage_bracket_exceeded gate):
    # at exactly 300,000 USDT Binance's BTC schedule is already in bracket 2 (100x, not 150x).
    raw = usdt_tier_tables()["BTC/USDT:USDT"]
    rules = InstrumentRules("BTCUSDT", 0.1, 0.001, 0.001, 5.0, brackets=leverage_brackets(raw))
    assert rules.max_leverage_for(299_999.0) == 150.0
    assert rules.max_leverage_for(300_000.0) == binance_bracket(raw, 300_000.0)["initialLeverage"] == 100.0


# -- Binance's own numbers in the recorded positions ----------------------------------------------
def recorded_btc_brackets() -> Any:
    """BTCUSDT brackets from leverageBracket.json. They are the 2026 schedule, not the one of July
    2024; both put a position under 50,000 USDT in a first bracket at MMR 0.004 and cum 0
    (ccxt_test_options.json holds the 2024 floors), which is all these small positions need."""
    (btc,) = [b for b in load(RECORDED / "leverageBracket.json") if b["symbol"] == "BTCUSDT"]
    options = load(RECORDED / "ccxt_test_options.json")["leverageBrackets"]["BTC/USDT:USDT"]
    assert options[0] == ["0", "0.004"] and float(options[1][0]) > 1_000.0
    return leverage_brackets(btc["brackets"])


@pytest.mark.parametrize("name", ["positionRisk_v3.json", "positionRisk_v3_symbol.json",
                                  "account_v3_positions.json"])
def test_maintenance_margin_matches_binance_in_every_recorded_position(name: str) -> None:
    brackets = recorded_btc_brackets()
    body = load(RECORDED / name)["httpResponse"]
    positions = body["positions"] if isinstance(body, dict) else body
    (position,) = positions
    notional = abs(float(position["notional"]))
    bracket = bracket_for(notional, brackets)
    ours = maintenance_margin(notional, bracket.maintenance_margin_rate, bracket.maintenance_amount)
    assert ours == pytest.approx(float(position["maintMargin"]), abs=1e-8)  # Binance prints 8 decimals


@pytest.mark.parametrize("name", ["positionRisk_v3.json", "positionRisk_v3_symbol.json"])
def test_cross_liquidation_price_matches_binance_in_the_recorded_positions(name: str) -> None:
    """The cross formula needs the cross wallet balance at the instant of the position snapshot, and
    the other cross positions' MM and uPnL. positionRisk does not carry the wallet; the account
    answer recorded with the same updateTime (account_v3_positions.json) does: 25.7261006 USDT,
    and BTCUSDT is its only position (TMM1 = UPNL1 = 0). That account is in multi-assets mode (22
    USDC of its wallet are valued at USDC's index price with a haircut, which moves between
    snapshots), so the wallet Binance used for each positionRisk snapshot is not exactly the recorded
    one: the two snapshots imply 25.7247 and 25.7265 USDT. Hence agreement to 5e-6, not exactly; a
    wrong bracket (MMR 0.005) or sign would miss by more than 1e-3."""
    brackets = recorded_btc_brackets()
    (position,) = load(RECORDED / name)["httpResponse"]
    account = load(RECORDED / "account_v3_positions.json")["httpResponse"]
    assert account["positions"][0]["updateTime"] == position["updateTime"]
    assert [p["symbol"] for p in account["positions"]] == ["BTCUSDT"]
    wallet = float(account["totalCrossWalletBalance"])
    qty, entry, mark = float(position["positionAmt"]), float(position["entryPrice"]), float(position["markPrice"])
    ours = riskguard_liquidation(brackets, PositionSide.LONG, qty, entry, mark, wallet)
    assert ours == pytest.approx(float(position["liquidationPrice"]), rel=5e-6)
