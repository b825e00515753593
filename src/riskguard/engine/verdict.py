"""What a decision means for the caller that books it: typed, next to the JSON detail."""

from __future__ import annotations

from dataclasses import dataclass

from riskguard.model.decision import Detail
from riskguard.model.intent import OrderIntent


@dataclass(frozen=True, slots=True)
class Verdict:
    """One decision of :meth:`RiskEngine.decide`.

    ``detail`` is the documented JSON form (``check_order`` returns it); the other fields are the
    same facts typed, for a caller that acts on the decision (the runtime reserving budget), so it
    never reads the detail as an internal API. ``order`` is the executable intent (a signal's
    sized intent); ``price`` the price (USDT) the sizes were computed at; ``notional`` (USDT) and
    ``qty`` (base units) the executable size, None when the size is unknown; ``opens_new`` True
    when an approval would open a position the strategy does not hold.
    """

    veto: bool
    detail: Detail
    decision_id: str
    order: OrderIntent
    reducing: bool
    opens_new: bool
    price: float | None
    notional: float | None
    qty: float | None
