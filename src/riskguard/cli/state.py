"""STATE.json: the account, market and position snapshot that ``riskguard check`` and ``probe`` decide on.

Format (documented in docs/cli.md)::

    {
      "now_ms": 1767618000000,            # optional: decision time, epoch ms
      "trading_state": "ACTIVE",          # optional: ACTIVE | REDUCING | HALTED
      "description": "...",               # optional, ignored
      "account": {"nav": 4400.0, "ts_ms": ..., "available_balance": ..., "day_start_nav": ...,
                  "wallet_balance": ..., "margin_mode": "isolated" | "cross"},
      "markets": [{"symbol": "BTCUSDT", "mark_price": ..., "ts_ms": ..., "bid": ..., "ask": ...,
                   "exchange_ts_ms": ..., "atr": ...}],
      "positions": [{"symbol", "side", "qty", "entry_price", "strategy", "leverage", "stop_price",
                     "take_profit_price", "opened_ts_ms", "position_id"}]
    }

``now_ms`` defaults to the newest timestamp in the file (so a snapshot is judged as of when it
was taken), else the wall clock. Every error names the field, e.g. ``markets[1].bid``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from riskguard.cli.output import InputFileError
from riskguard.engine.engine import RiskEngine
from riskguard.examples import EXAMPLE_PREFIX, example_names, read_example
from riskguard.model import validation as v
from riskguard.model.clock import wall_clock_ms
from riskguard.model.enums import TradingState
from riskguard.model.errors import InputValidationError
from riskguard.model.position import Position
from riskguard.model.snapshots import AccountSnapshot, MarketSnapshot

_ROOT_KEYS = ("now_ms", "trading_state", "description", "account", "markets", "positions")
_ACCOUNT_FIELDS = AccountSnapshot.__slots__
_MARKET_FIELDS = MarketSnapshot.__slots__
_POSITION_FIELDS = Position.__slots__
_REQUIRED = {
    "account": ("nav", "ts_ms"),
    "markets": ("symbol", "mark_price", "ts_ms"),
    "positions": ("symbol", "side", "qty", "entry_price", "strategy"),
}

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class State:
    """A validated STATE.json. ``now_ms`` is the decision time (epoch ms)."""

    now_ms: int
    account: AccountSnapshot | None
    markets: tuple[MarketSnapshot, ...]
    positions: tuple[Position, ...]
    trading_state: TradingState
    source: str

    def apply(self, engine: RiskEngine) -> None:
        """Feed this snapshot to ``engine`` (account, markets, positions, trading state)."""
        if self.account is not None:
            engine.update_account(self.account)
        for market in self.markets:
            engine.update_market(market)
        for position in self.positions:
            engine.add_position(position)
        engine.set_trading_state(self.trading_state, f"from {self.source}")

    def with_nav(self, nav: float) -> State:
        """This state with NAV replaced (timestamped like the state's account, else at ``now_ms``)."""
        account = (AccountSnapshot(nav=nav, ts_ms=self.now_ms) if self.account is None
                   else replace(self.account, nav=nav))
        return State(self.now_ms, account, self.markets, self.positions, self.trading_state, self.source)


def empty_state(now_ms: int | None = None) -> State:
    """No NAV, no markets, no positions, ACTIVE; at ``now_ms`` or the wall clock."""
    return State(wall_clock_ms() if now_ms is None else now_ms, None, (), (), TradingState.ACTIVE, "(no state)")


def read_json(ref: str) -> tuple[str, Any]:
    """Read ``ref`` (a path, or ``example:NAME``) as JSON; returns (source name, parsed value)."""
    if ref.startswith(EXAMPLE_PREFIX):
        name = ref[len(EXAMPLE_PREFIX):]
        try:
            text = read_example(name)
        except KeyError:
            raise InputFileError(ref, f"no such example; choose one of {', '.join(example_names())}") from None
    else:
        path = Path(ref)
        if not path.is_file():
            raise InputFileError(ref, "no such file")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputFileError(ref, f"cannot read: {exc}") from None
    try:
        return ref, json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFileError(ref, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None


def _build(prefix: str, data: object, fields: tuple[str, ...], required: tuple[str, ...],
           factory: Callable[..., T]) -> T:
    """Construct ``factory(**data)``, naming every problem as ``prefix.field``."""
    if not isinstance(data, dict):
        raise InputValidationError(prefix, "must be a JSON object", data)
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise InputValidationError(f"{prefix}.{unknown[0]}", f"unknown field; known: {', '.join(fields)}",
                                   data[unknown[0]])
    for name in required:
        if data.get(name) is None:
            raise InputValidationError(f"{prefix}.{name}", "is required", None)
    try:
        return factory(**data)
    except InputValidationError as exc:
        raise nested(prefix, exc) from None


def nested(prefix: str, exc: InputValidationError) -> InputValidationError:
    """``exc`` with its field prefixed by where it sits in the file (``bid`` -> ``markets[1].bid``)."""
    return InputValidationError(f"{prefix}.{exc.field}", exc.message, exc.value)


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputValidationError(key, "must be a JSON array", value)
    return value


def parse_state(data: object, source: str = "<state>", now_ms: int | None = None) -> State:
    """Validate a parsed STATE.json; raises InputValidationError naming the field. ``now_ms``
    overrides the file's decision time."""
    if not isinstance(data, dict):
        raise InputValidationError("(root)", "must be a JSON object", type(data).__name__)
    unknown = sorted(set(data) - set(_ROOT_KEYS))
    if unknown:
        raise InputValidationError(unknown[0], f"unknown field; known: {', '.join(_ROOT_KEYS)}", data[unknown[0]])
    account = None
    if data.get("account") is not None:
        account = _build("account", data["account"], _ACCOUNT_FIELDS, _REQUIRED["account"], AccountSnapshot)
    markets: list[MarketSnapshot] = []
    seen: set[str] = set()
    for i, item in enumerate(_list(data, "markets")):
        market = _build(f"markets[{i}]", item, _MARKET_FIELDS, _REQUIRED["markets"], MarketSnapshot)
        if market.symbol in seen:
            raise InputValidationError(f"markets[{i}].symbol", "appears twice", market.symbol)
        seen.add(market.symbol)
        markets.append(market)
    positions = [_build(f"positions[{i}]", item, _POSITION_FIELDS, _REQUIRED["positions"], Position)
                 for i, item in enumerate(_list(data, "positions"))]
    raw_state = data.get("trading_state", TradingState.ACTIVE.value)
    if not isinstance(raw_state, str) or raw_state.strip().upper() not in TradingState.__members__:
        raise InputValidationError("trading_state", f"must be one of {', '.join(TradingState.__members__)}",
                                   raw_state)
    trading_state = TradingState(raw_state.strip().upper())
    if now_ms is None and data.get("now_ms") is not None:
        now_ms = v.timestamp_ms("now_ms", data["now_ms"])
    if now_ms is None:
        stamps = [m.ts_ms for m in markets] + [p.opened_ts_ms for p in positions if p.opened_ts_ms is not None]
        if account is not None:
            stamps.append(account.ts_ms)
        now_ms = max(stamps) if stamps else wall_clock_ms()
    return State(now_ms, account, tuple(markets), tuple(positions), trading_state, source)


def load_state(ref: str, now_ms: int | None = None) -> State:
    """Load and validate a STATE.json path or ``example:NAME``; errors name the file and field."""
    source, data = read_json(ref)
    try:
        return parse_state(data, source, now_ms)
    except InputValidationError as exc:
        raise InputFileError(source, str(exc)) from None
