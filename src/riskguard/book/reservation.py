"""A pending reservation: approved risk budget not yet filled, counted against every cap."""

from __future__ import annotations

from dataclasses import dataclass

from riskguard.model.enums import Side


@dataclass(frozen=True, slots=True)
class Reservation:
    """Budget held for an approved intent until it is filled, released or expires.

    ``notional`` (USDT) and ``risk_usdt`` (loss at stop) are fixed at approval; ``opens_new`` says
    whether the intent opens a new position (and so takes a concurrency slot); ``leverage`` (x)
    sets the initial margin it holds, notional / leverage (1.0 when unknown: the whole notional);
    ``partly_filled`` says part of it filled already (its remainder belongs to the leg its first fill
    started: it is not another add to the position).
    """

    reservation_id: str
    intent_id: str
    strategy: str
    symbol: str
    side: Side
    notional: float
    risk_usdt: float
    opens_new: bool
    expires_ms: int
    leverage: float = 1.0
    partly_filled: bool = False

    @property
    def margin_usdt(self) -> float:
        """Initial margin the reserved order will take, USDT."""
        return self.notional / self.leverage
