"""What a bot integration talks to: riskguard in this process (a RiskGate on a ledger URL) or
riskguard as a service (``riskguard.client.RiskClient``), behind one small protocol.

Both answer ``check`` (a dry run: nothing stored), ``reserve`` / ``fill`` / ``release`` / ``close``
/ ``move_stop`` with the runtime's call shapes. Feeding (NAV marks, market snapshots) is optional: an in-process
gate needs it; a service that watches the exchange itself may not offer it.

This is the one module of ``riskguard.integrations`` that names ``RiskGate``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from riskguard.config import Posture, load_config, preset
from riskguard.engine import RiskEngine
from riskguard.ledger import Ledger
from riskguard.model.decision import Detail
from riskguard.model.enums import Regime
from riskguard.model.intent import OrderIntent
from riskguard.model.signal import Signal
from riskguard.model.snapshots import AccountSnapshot, MarketSnapshot
from riskguard.runtime import RiskGate as _RiskGate

PRESETS = ("conservative", "moderate", "aggressive")


@runtime_checkable
class RiskBackend(Protocol):
    """The calls every integration needs; ``RiskGate`` (wrapped by :class:`InProcessBackend`) and
    ``RiskClient`` both provide them with the same return shapes."""

    def check(self, request: OrderIntent | Signal) -> tuple[bool, Detail]:
        """Dry run: ``(veto, detail)``; nothing is stored or reserved."""
        ...

    def reserve(self, intent: OrderIntent) -> tuple[bool, Detail, str | None]:
        """Decide and, when approved and adding risk, reserve: ``(veto, detail, reservation_id)``."""
        ...

    def fill(self, reservation_id: str, qty: float, price: float, fee: float = 0.0) -> Any:
        """Book a (partial) fill of a reservation (qty base units, price and fee USDT)."""
        ...

    def release(self, reservation_id: str) -> Any:
        """Return a reservation's unfilled budget."""
        ...

    def close(self, strategy: str, symbol: str, price: float, *, qty: float | None = None,
              fee: float = 0.0, funding: float = 0.0) -> Any:
        """Close (or reduce by ``qty``) a position at ``price`` USDT, booking realised PnL."""
        ...

    def move_stop(self, strategy: str, symbol: str, stop_price: float, *, reason: str) -> Any:
        """Tighten an open position's stop to ``stop_price`` USDT (ledger event ``stop_moved``); a
        looser stop or no open position is refused with an error, never applied."""
        ...


@runtime_checkable
class StopContextBackend(Protocol):
    """A backend that knows what a dynamic stop tightens on: the market regime of a symbol and the
    account's operating size multiplier."""

    def stop_context(self, symbol: str) -> tuple[Regime | None, float]:
        """``(regime or None when unknown, size multiplier in (0, 1])`` as of the last decision."""
        ...


@runtime_checkable
class FeedableBackend(Protocol):
    """A backend that takes this process's NAV marks and market snapshots."""

    def mark_nav(self, snapshot: AccountSnapshot) -> Any:
        """Store a NAV mark (USDT) at the snapshot's time."""
        ...

    def update_market(self, snapshot: MarketSnapshot) -> Any:
        """Take a mark / top-of-book snapshot for this process's decisions."""
        ...


def load_posture(name_or_path: str) -> Posture:
    """A preset by name (``moderate``) or a posture file (YAML / JSON / TOML) by path."""
    return preset(name_or_path) if name_or_path in PRESETS else load_config(name_or_path)


class InProcessBackend:
    """A ``RiskGate`` on a ledger URL, in this process. ``clock`` returns epoch ms; an integration
    hands in its own (a backtest's simulated time) so every staleness gate judges that time.
    ``pack_after_s``: pack decisions older than this (wall clock, s) in the background
    (``riskguard.ledger.decision_segments``); None packs only on ``riskguard db pack``."""

    def __init__(self, posture: Posture, ledger_url: str, *, clock: Callable[[], int],
                 account_id: str = "default", actor: str = "riskguard", migrate: bool = True,
                 pack_after_s: float | None = None) -> None:
        ledger = Ledger(ledger_url, account_id=account_id, pack_after_s=pack_after_s)
        if migrate:
            ledger.upgrade()
        self.engine = RiskEngine(posture, clock=clock)
        self.gate = _RiskGate(self.engine, ledger, actor=actor)

    @property
    def ledger(self) -> Ledger:
        """The ledger behind the gate."""
        return self.gate.ledger

    def check(self, request: OrderIntent | Signal) -> tuple[bool, Detail]:
        """Dry run against the ledger's current book (reloaded first): ``(veto, detail)``."""
        self.gate.refresh()
        emit, detail = self.engine.would_emit(request, commit=False)
        return not emit, detail

    def reserve(self, intent: OrderIntent) -> tuple[bool, Detail, str | None]:
        """``RiskGate.reserve``."""
        return self.gate.reserve(intent)

    def fill(self, reservation_id: str, qty: float, price: float, fee: float = 0.0) -> Any:
        """``RiskGate.fill``."""
        return self.gate.fill(reservation_id, qty, price, fee)

    def release(self, reservation_id: str) -> Any:
        """``RiskGate.release``."""
        return self.gate.release(reservation_id)

    def close(self, strategy: str, symbol: str, price: float, *, qty: float | None = None,
              fee: float = 0.0, funding: float = 0.0) -> Any:
        """``RiskGate.close``."""
        return self.gate.close(strategy, symbol, price, qty=qty, fee=fee, funding=funding)

    def move_stop(self, strategy: str, symbol: str, stop_price: float, *, reason: str) -> Any:
        """``RiskGate.move_stop``: StopLoosened for a looser stop, LedgerNotFound without a position."""
        return self.gate.move_stop(strategy, symbol, stop_price, reason=reason)

    def stop_context(self, symbol: str) -> tuple[Regime | None, float]:
        """The engine's regime of ``symbol`` (None until candles set one) and the smaller of the
        drawdown ladder's and the account's size multipliers, as loaded for the last decision."""
        engine = self.engine
        multiplier = min(engine.ladder_size_multiplier, engine.operating_size_multiplier)
        return engine.policy.regime(symbol), multiplier if 0.0 < multiplier <= 1.0 else 1.0

    def mark_nav(self, snapshot: AccountSnapshot) -> Any:
        """``RiskGate.mark_nav`` (source ``bot``: the bot's own wallet, not the exchange)."""
        return self.gate.mark_nav(snapshot, source="bot")

    def update_market(self, snapshot: MarketSnapshot) -> Any:
        """``RiskGate.update_market``."""
        return self.gate.update_market(snapshot)
