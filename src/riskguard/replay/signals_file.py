"""Signals from a file: CSV or JSON rows of ``ts`` (epoch ms, epoch s or ISO date), ``symbol``,
``side`` and optional ``strategy``, ``signal_id``, ``confidence``, ``expected_rr``, ``stop_price``,
``take_profit_price``, ``atr``, ``leverage``, ``source``.

A signal stamped ``ts`` is decided at the first bar close of its symbol at or after ``ts`` and
entered at the next bar's open, exactly like a strategy's signal. Every error names the file,
the row and the field.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from riskguard.model.enums import Side
from riskguard.model.errors import InputValidationError
from riskguard.model.intent import parse_side
from riskguard.replay.data import DataFileError

_REQUIRED = ("ts", "symbol", "side")
_OPTIONAL_FLOATS = ("confidence", "expected_rr", "stop_price", "take_profit_price", "atr", "leverage")
_TEXT = ("strategy", "signal_id", "source")
_KNOWN = frozenset((*_REQUIRED, *_OPTIONAL_FLOATS, *_TEXT))
_SECONDS_BELOW = 10**11
DEFAULT_FILE_STRATEGY = "signals_file"


@dataclass(frozen=True, slots=True)
class FileSignal:
    """One row of a signals file, validated (times epoch ms, prices USDT)."""

    ts_ms: int
    symbol: str
    side: Side
    strategy: str
    signal_id: str | None
    confidence: float | None
    expected_rr: float | None
    stop_price: float | None
    take_profit_price: float | None
    atr: float | None
    leverage: float | None
    source: str | None


def _timestamp(path: Path, row: int, value: Any) -> int:
    if isinstance(value, bool):
        raise DataFileError(path, f"row {row}.ts", "must be epoch ms, epoch s or an ISO date", value)
    if isinstance(value, int | float) and math.isfinite(value):
        number = float(value)
        return round(number * 1000.0) if abs(number) < _SECONDS_BELOW else round(number)
    if isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            try:
                stamp = pd.Timestamp(text)
            except (ValueError, TypeError):
                raise DataFileError(path, f"row {row}.ts", "not a date", value) from None
            stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
            return int(stamp.value // 1_000_000)
        return _timestamp(path, row, number)
    raise DataFileError(path, f"row {row}.ts", "must be epoch ms, epoch s or an ISO date", value)


def _optional_float(path: Path, row: int, name: str, value: Any) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise DataFileError(path, f"row {row}.{name}", "must be a number", value) from None
    if not math.isfinite(number) or number <= 0.0:
        raise DataFileError(path, f"row {row}.{name}", "must be a finite number > 0", value)
    return number


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _rows(path: Path) -> list[dict[str, Any]]:
    name = path.name.lower()
    if not path.is_file():
        raise DataFileError(path, "(file)", "no such file")
    if name.endswith(".json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DataFileError(path, "(file)", f"not readable as JSON: {exc}") from None
        if isinstance(data, dict) and isinstance(data.get("signals"), list):
            data = data["signals"]
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise DataFileError(path, "(file)", 'must be a list of objects or {"signals": [...]}')
        return list(data)
    if name.endswith((".csv", ".csv.gz")):
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        except Exception as exc:  # the CSV parser raises several unrelated exception types
            raise DataFileError(path, "(file)", f"not readable as CSV: {exc}") from None
        frame.columns = [str(c).strip().lower() for c in frame.columns]
        return [{str(k): v for k, v in row.items()} for row in frame.to_dict(orient="records")]
    raise DataFileError(path, "(file)", "unknown extension; use .csv or .json")


def load_signals(path: Path | str) -> list[FileSignal]:
    """Read and validate a signals file; rows come back sorted by time (stable for ties)."""
    file = Path(path)
    rows = _rows(file)
    if not rows:
        raise DataFileError(file, "(file)", "no signals")
    out: list[FileSignal] = []
    for number, raw in enumerate(rows, start=1):
        unknown = sorted(set(raw) - _KNOWN)
        if unknown:
            raise DataFileError(file, f"row {number}.{unknown[0]}", f"unknown field; known: {sorted(_KNOWN)}")
        for field in _REQUIRED:
            if _text(raw.get(field)) is None:
                raise DataFileError(file, f"row {number}.{field}", "is required")
        try:
            side = parse_side("side", raw["side"])
        except InputValidationError as exc:
            raise DataFileError(file, f"row {number}.side", "must be BUY or SELL", raw["side"]) from exc
        floats = {n: _optional_float(file, number, n, raw.get(n)) for n in _OPTIONAL_FLOATS}
        confidence = floats["confidence"]
        if confidence is not None and confidence > 1.0:
            raise DataFileError(file, f"row {number}.confidence", "must be within [0, 1]", confidence)
        out.append(FileSignal(
            ts_ms=_timestamp(file, number, raw["ts"]), symbol=str(raw["symbol"]).strip().upper(), side=side,
            strategy=_text(raw.get("strategy")) or DEFAULT_FILE_STRATEGY, signal_id=_text(raw.get("signal_id")),
            confidence=confidence, expected_rr=floats["expected_rr"], stop_price=floats["stop_price"],
            take_profit_price=floats["take_profit_price"], atr=floats["atr"], leverage=floats["leverage"],
            source=_text(raw.get("source"))))
    return sorted(out, key=lambda s: s.ts_ms)
