"""The drawdown action ladder: rungs of (window, drawdown threshold, action) fed by equity marks.

A rung fires once its window's drawdown reaches the threshold and then holds its action: a NAV
recovery inside the window never loosens it. It is lifted only when its window rolls over (rungs
with ``release == "window_roll"``) or by an operator (``acknowledge`` / ``reset``). Pure logic: no
I/O; time comes from the marks or from the injected clock (epoch ms).

Actions map onto the account state as follows: ``halt_new_trades`` -> TradingState.HALTED (no new
risk), ``close_all`` -> TradingState.REDUCING (flatten; the TRIGGERED event carries
``close_all=True``), ``reduce_size`` -> a size multiplier, ``switch_mode`` -> a Mode.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from riskguard.config.policy_schema import LadderRungSection
from riskguard.model.clock import wall_clock_ms
from riskguard.model.enums import Mode, TradingState
from riskguard.model.errors import InputValidationError
from riskguard.model.validation import timestamp_ms
from riskguard.policy.drawdown import DrawdownMonitor, DrawdownWindow

Clock = Callable[[], int]
"""Returns the current time in epoch milliseconds."""

EVENT_HISTORY = 512
"""Events kept in ``DrawdownLadder.history`` (the caller persists them; this is a short memory)."""


class LadderAction(StrEnum):
    HALT_NEW_TRADES = "halt_new_trades"
    CLOSE_ALL = "close_all"
    REDUCE_SIZE = "reduce_size"
    SWITCH_MODE = "switch_mode"


class LadderEventKind(StrEnum):
    TRIGGERED = "triggered"
    RELEASED = "released"
    ACKNOWLEDGED = "acknowledged"
    RESET = "reset"


@dataclass(frozen=True, slots=True)
class LadderRung:
    """One rung; ``threshold_pct`` is a fraction of the window's NAV peak."""

    window: DrawdownWindow
    threshold_pct: float
    action: LadderAction
    size_multiplier: float | None = None
    mode: Mode | None = None
    release_on_roll: bool = True

    @classmethod
    def from_section(cls, section: LadderRungSection) -> LadderRung:
        """Compile a validated posture rung."""
        return cls(DrawdownWindow(section.window), section.threshold_pct, LadderAction(section.action),
                   section.size_multiplier, section.mode, section.release == "window_roll")

    @property
    def name(self) -> str:
        """Stable identifier, e.g. ``daily_3%_halt_new_trades``."""
        return f"{self.window.value}_{self.threshold_pct * 100:g}%_{self.action.value}"


@dataclass(frozen=True, slots=True)
class LadderState:
    """What the active rungs impose: account trading state, size multiplier (0..1], forced mode."""

    trading_state: TradingState
    size_multiplier: float
    mode: Mode | None
    active: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LadderEvent:
    """A record of one ladder change; the state fields are the ladder's state after the change."""

    ts_ms: int
    kind: LadderEventKind
    rung: str | None
    action: LadderAction | None
    drawdown_pct: float
    nav: float
    peak_nav: float
    trading_state: TradingState
    size_multiplier: float
    mode: Mode | None
    close_all: bool
    note: str

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready mapping (enums as their values)."""
        return {
            "ts_ms": self.ts_ms, "kind": self.kind.value, "rung": self.rung,
            "action": None if self.action is None else self.action.value,
            "drawdown_pct": self.drawdown_pct, "nav": self.nav, "peak_nav": self.peak_nav,
            "trading_state": self.trading_state.value, "size_multiplier": self.size_multiplier,
            "mode": None if self.mode is None else self.mode.value, "close_all": self.close_all,
            "note": self.note,
        }


_ARMED, _ACTIVE, _DISARMED = range(3)
_ACTION_STATE = {
    LadderAction.HALT_NEW_TRADES: TradingState.HALTED,
    LadderAction.CLOSE_ALL: TradingState.REDUCING,
}
# REDUCING (flatten everything) outranks HALTED (no new risk) when both rungs are active.
_STATE_RANK = {TradingState.ACTIVE: 0, TradingState.HALTED: 1, TradingState.REDUCING: 2}


class DrawdownLadder:
    """Detects rung crossings from equity marks and holds their actions until released."""

    __slots__ = ("_clock", "_fired_order", "_history", "_monitor", "_rungs", "_state", "_status")

    def __init__(self, rungs: Sequence[LadderRung], clock: Clock | None = None) -> None:
        self._rungs = tuple(rungs)
        self._clock: Clock = clock or wall_clock_ms
        self._monitor = DrawdownMonitor()
        self._status = [_ARMED] * len(self._rungs)
        self._fired_order: list[int] = []
        self._history: deque[LadderEvent] = deque(maxlen=EVENT_HISTORY)
        self._state = LadderState(TradingState.ACTIVE, 1.0, None, ())

    @classmethod
    def from_sections(
        cls, sections: Sequence[LadderRungSection], clock: Clock | None = None
    ) -> DrawdownLadder:
        """A ladder from the posture's ``policy.drawdown_ladder``."""
        return cls([LadderRung.from_section(s) for s in sections], clock)

    @property
    def rungs(self) -> tuple[LadderRung, ...]:
        return self._rungs

    @property
    def state(self) -> LadderState:
        """The current combined effect of the active rungs."""
        return self._state

    @property
    def history(self) -> tuple[LadderEvent, ...]:
        """The most recent events, oldest first (bounded by EVENT_HISTORY)."""
        return tuple(self._history)

    def drawdown_pct(self, window: DrawdownWindow) -> float:
        """The ladder's view of a window's drawdown, fraction (restarts on ``reset``)."""
        return self._monitor.drawdown_pct(window)

    def _now(self, ts_ms: int | None) -> int:
        return timestamp_ms("ts_ms", self._clock() if ts_ms is None else ts_ms)

    def _recompute(self) -> None:
        state, multiplier, mode = TradingState.ACTIVE, 1.0, None
        active = []
        for i in self._fired_order:
            rung = self._rungs[i]
            active.append(rung.name)
            rung_state = _ACTION_STATE.get(rung.action)
            if rung_state is not None and _STATE_RANK[rung_state] > _STATE_RANK[state]:
                state = rung_state
            if rung.size_multiplier is not None:
                multiplier = min(multiplier, rung.size_multiplier)
            if rung.mode is not None:
                mode = rung.mode  # the most recently fired switch wins
        self._state = LadderState(state, multiplier, mode, tuple(active))

    def _event(self, ts: int, kind: LadderEventKind, index: int | None, note: str) -> LadderEvent:
        rung = None if index is None else self._rungs[index]
        window = rung.window if rung is not None else DrawdownWindow.DAILY
        snap = self._monitor.snapshot(window)
        drawdown = self._monitor.drawdown_pct(window) if self._monitor.has_marks else 0.0
        s = self._state
        event = LadderEvent(
            ts, kind, None if rung is None else rung.name, None if rung is None else rung.action,
            drawdown, snap.nav, snap.peak_nav, s.trading_state, s.size_multiplier, s.mode,
            kind is LadderEventKind.TRIGGERED and rung is not None and rung.action is LadderAction.CLOSE_ALL,
            note)
        self._history.append(event)
        return event

    def _set(self, index: int, status: int) -> None:
        was_active = self._status[index] == _ACTIVE
        self._status[index] = status
        if status == _ACTIVE and not was_active:
            self._fired_order.append(index)
        elif status != _ACTIVE and was_active:
            self._fired_order.remove(index)
        self._recompute()

    def update(self, nav: float, ts_ms: int | None = None) -> tuple[LadderEvent, ...]:
        """Feed an equity mark (NAV in USDT; ``ts_ms`` epoch ms, default the clock).

        Returns the events it caused: RELEASED for rungs whose window rolled over, then TRIGGERED
        for rungs whose threshold the drawdown reached.
        """
        ts = self._now(ts_ms)
        rolled = self._monitor.update(ts, nav)
        events: list[LadderEvent] = []
        for i, rung in enumerate(self._rungs):
            if rung.window in rolled and rung.release_on_roll and self._status[i] != _ARMED:
                released = self._status[i] == _ACTIVE
                self._set(i, _ARMED)
                if released:
                    events.append(self._event(ts, LadderEventKind.RELEASED, i,
                                              f"{rung.window.value} window rolled over, {rung.name} lifted"))
            elif rung.window in rolled and self._status[i] == _DISARMED:
                self._set(i, _ARMED)
        for i, rung in enumerate(self._rungs):
            if self._status[i] != _ARMED:
                continue
            drawdown = self._monitor.drawdown_pct(rung.window)
            if drawdown >= rung.threshold_pct:
                self._set(i, _ACTIVE)
                events.append(self._event(
                    ts, LadderEventKind.TRIGGERED, i,
                    f"{rung.window.value} drawdown {drawdown:.2%} reached {rung.threshold_pct:.2%}: "
                    f"{rung.action.value.replace('_', ' ')}"))
        return tuple(events)

    def acknowledge(self, rung_name: str | None = None, ts_ms: int | None = None) -> tuple[LadderEvent, ...]:
        """Operator lifts active rungs (all, or the one named): each stays disarmed until its window rolls.

        Raises InputValidationError (field ``rung_name``) for a name that is not an active rung.
        """
        ts = self._now(ts_ms)
        targets = [i for i in list(self._fired_order)
                   if rung_name is None or self._rungs[i].name == rung_name]
        if rung_name is not None and not targets:
            raise InputValidationError("rung_name", "is not an active rung", rung_name)
        events = []
        for i in targets:
            self._set(i, _DISARMED)
            events.append(self._event(ts, LadderEventKind.ACKNOWLEDGED, i,
                                      f"operator acknowledged {self._rungs[i].name}"))
        return tuple(events)

    def reset(self, nav: float, ts_ms: int | None = None) -> LadderEvent:
        """Operator reset: every rung re-armed, every window restarted with ``nav`` (USDT) as its peak."""
        ts = self._now(ts_ms)
        self._monitor.restart(ts, nav)
        self._status = [_ARMED] * len(self._rungs)
        self._fired_order.clear()
        self._recompute()
        return self._event(ts, LadderEventKind.RESET, None, "operator reset the drawdown ladder")
