"""The decision and its gate checks: typed shapes that are also their JSON wire form.

``check_order`` returns the decision as a plain dict (``Detail``) that callers index, extend and
encode with any JSON library; :class:`Decision` is the same dict's typed shape, which the engine
builds (mypy checks every key and its type) and callers may use to read it typed. The shapes are
``TypedDict`` rather than slots classes or msgspec Structs on purpose: measured on this project's
VM, a Struct per gate check plus its dict form costs ~0.65 us per check (34 per decision, more
than doubling ``check_order``), and a Struct or slots dataclass for the decision plus its dict form
2-3 us (15-20 % of ``check_order``); a TypedDict costs nothing at run time. docs/decision.md lists
every key.
"""

from __future__ import annotations

from typing import Any, TypedDict


class GateCheck(TypedDict):
    """One gate's verdict: ``observed`` vs ``threshold``; ``headroom_notional`` is the largest
    notional (USDT) of this intent the gate would pass, for size-bound gates (else None);
    ``severity`` is ``hard`` or ``soft``."""

    gate: str
    passed: bool
    reason: str
    observed: Any
    threshold: Any
    headroom_notional: float | None
    severity: str
    note: str | None


class RequestedSize(TypedDict):
    """The size as asked: notional (USDT), qty (base units), leverage (x), price (USDT)."""

    notional: float | None
    qty: float | None
    leverage: float
    price: float | None


class SizedOrder(TypedDict):
    """The executable size: notional (USDT) and qty floored to the exchange step, leverage (x)."""

    notional: float | None
    qty: float | None
    leverage: float


class Decision(TypedDict):
    """The complete decision detail (see docs/decision.md for the meaning of every key)."""

    decision_id: str | None
    intent_id: str
    strategy: str
    symbol: str
    side: str
    veto: bool
    approved: bool
    reasons: list[str]
    warnings: list[str]
    nav: float | None
    nav_fresh: bool
    nav_age_ms: float | None
    checks: list[GateCheck]
    requested: RequestedSize
    sized: SizedOrder
    max_notional_allowed: float
    clamped_by: str | None
    resized: bool
    reducing: bool
    risk_usdt: float | None
    risk_estimated: bool
    open_positions: int
    max_concurrent_positions: int
    max_open_positions: int
    trading_state: str
    mode: str
    posture: str
    config_hash: str
    ts_ms: int
    policy: dict[str, object]
    sizing: dict[str, Any] | None
    intent: dict[str, Any] | None
    pyramid: dict[str, Any] | None


CONTRACT_KEYS: tuple[str, ...] = tuple(Decision.__annotations__)
"""Every key a decision detail carries, in order."""

Detail = dict[str, Any]
"""A decision as callers receive it: the :class:`Decision` dict, open to keys a caller adds (e.g.
a reservation id)."""
