"""A replayed trade whose plan changes while it is open: dynamic stop moves and pyramiding adds.

The default replay simulates a trade's exit plan once, from its entry to its last fill. A trade
under ``--dynamic-stops`` or ``--pyramid`` is *managed* instead: it is simulated in *segments*.
A segment is the plan as it stands (quantity, average entry, stop, the take-profit legs not yet
filled, what is left of the time stop) simulated with the same ``simulate_exits`` from the first
bar it holds for to the end of the data. The replay visits the trade at every bar close; while
nothing changes, the segment's fills stand (the plan of bar ``j`` is known at its open, so a
change decided at the close of bar ``j`` cannot alter anything up to that close). When the stop
moves or an add fills, a new segment starts at bar ``j + 1``. The cost is one visit per bar held
plus one simulation per change, paid only by managed trades; the default path is untouched.

This module holds the state of such a trade and the pure pieces of its simulation; the replay
loop (riskguard.replay.runner) decides adds through the account and moves the stops.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from riskguard.exits.plan import ExitPlan
from riskguard.exits.pyramiding import Leg
from riskguard.model.position import Position
from riskguard.replay.exit_simulation import ExitResult

ADD = "add"
BREAK_EVEN = "break_even"
TRAILING = "trailing"
SIGNAL_TRIGGER = "signal"
PRICE_TRIGGER = "price"
MIN_TRIGGER_R = 0.5
"""Smallest favourable move (R) that triggers an add request when the rule's own distance is 0."""


@dataclass(frozen=True, slots=True)
class StopMove:
    """The stop of a trade moved at the close of the bar ending ``ts_ms`` (epoch ms): from
    ``old_stop`` to ``new_stop`` (USDT), working from the next bar on. ``reason``: ``lock`` or
    ``chandelier`` (dynamic stop), ``add`` (restated by an add), ``break_even`` (the plan's
    break-even after a target), ``trailing`` (the plan's trailing stop, folded in at a change)."""

    ts_ms: int
    old_stop: float
    new_stop: float
    reason: str


@dataclass(frozen=True, slots=True)
class AddRow:
    """One add request decided by the engine at the bar close ``ts_ms`` (epoch ms).

    ``trigger``: ``signal`` (the strategy signalled the same side again) or ``price`` (the close
    moved far enough beyond the last leg). ``r_at_add``: the favourable move from the first entry,
    in R, at the fill price (at the decision's close when vetoed). ``qty`` base units filled at
    ``price`` USDT at ``fill_ts_ms`` (the next bar's open; 0 / None when vetoed); ``stop_price`` the
    stop the whole position carries after the add (USDT); ``nav`` the NAV at the decision (USDT);
    ``risk_usdt`` the whole position's loss at that stop after the fill (USDT; None when vetoed).
    """

    ts_ms: int
    symbol: str
    strategy: str
    side: str
    trigger: str
    approved: bool
    resized: bool
    reasons: tuple[str, ...]
    clamped_by: str | None
    qty: float
    price: float | None
    fill_ts_ms: int | None
    r_at_add: float
    stop_price: float
    nav: float
    risk_usdt: float | None


@dataclass(slots=True)
class ManagedTrade:
    """What the replay tracks of a managed trade besides its cashflows (prices USDT, bars absolute
    indices into the symbol's series, ``r_unit`` one R in USDT per unit, fixed)."""

    base_plan: ExitPlan
    plan: ExitPlan
    segment: ExitResult
    segment_start: int
    bar: int
    stop: float
    best: float
    r_unit: float
    legs: list[Leg]
    position: Position
    leverage: float | None
    confidence: float | None
    expected_rr: float | None
    targets_done: int = 0
    next_fill: int = 0
    funding_until_ms: int = 0
    refused_at: float | None = None
    last_request_bar: int = -1
    adds: list[AddRow] = field(default_factory=list)
    stop_path: list[StopMove] = field(default_factory=list)
    fills: list[tuple[int, float, float, str]] = field(default_factory=list)
    gross: float = 0.0
    fees: float = 0.0
    funding: float = 0.0

    @property
    def direction(self) -> int:
        """+1 long, -1 short."""
        return self.base_plan.direction

    @property
    def legs_qty(self) -> float:
        """Every leg's quantity together (base units): the first entry and each add."""
        return sum(leg.qty for leg in self.legs)

    def tighter(self, a: float, b: float) -> bool:
        """True when stop ``a`` is tighter (closer to the price on the safe side) than ``b``."""
        return (a - b) * self.direction > 0.0

    def move_stop(self, ts_ms: int, new_stop: float, reason: str) -> bool:
        """Tighten the stop to ``new_stop`` (never loosens); records the move; True if it moved."""
        if not self.tighter(new_stop, self.stop):
            return False
        self.stop_path.append(StopMove(ts_ms, self.stop, new_stop, reason))
        self.stop = new_stop
        return True

    def trailing_line(self) -> float | None:
        """The plan's trailing stop at the next bar's open (USDT), None before activation."""
        trailing = self.base_plan.trailing
        if trailing is None or (self.best - trailing.activation_price) * self.direction < 0.0:
            return None
        return self.best - self.direction * trailing.distance_at(self.best)

    def add_trigger_price(self, distance_r: float) -> float:
        """The close (USDT) at or beyond which a price-triggered add is requested: ``distance_r`` R
        (at least MIN_TRIGGER_R) beyond the last leg's fill or the last refused request."""
        reference = self.legs[-1].price
        if self.refused_at is not None and (self.refused_at - reference) * self.direction > 0.0:
            reference = self.refused_at
        return reference + self.direction * max(distance_r, MIN_TRIGGER_R) * self.r_unit


def segment_plan(trade: ManagedTrade, qty: float, entry_price: float, start_bar: int, entry_bar: int) -> ExitPlan:
    """The plan from ``start_bar`` on: ``qty`` base units at the average ``entry_price`` (USDT),
    the trade's current stop, the take-profit legs not yet filled (each keeps its quantity: an
    add rides with the rest of the position), the break-even still to come, the time stop's
    remaining bars. One R stays the first entry's."""
    base = trade.base_plan
    done = trade.targets_done
    be_after = base.break_even_after
    be_left = None if be_after is None or be_after < done else be_after - done
    time_left = None if base.time_stop_bars is None else max(0, base.time_stop_bars - (start_bar - entry_bar))
    return replace(base, entry_price=entry_price, qty=qty, steps=max(1, round(qty / base.step_size)),
                   stop_price=trade.stop, targets=base.targets[done:], break_even_after=be_left,
                   break_even_price=base.break_even_price if be_left is not None else None,
                   time_stop_bars=time_left)
