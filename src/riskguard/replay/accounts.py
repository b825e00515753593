"""The replayed account behind one small interface: in memory (the engine's own book) or through a
scratch SQLite ledger (``RiskGate``: every decision reserved, filled and closed as it is live).

The replay loop speaks only :class:`ReplayAccount`; which account is in the loop is chosen once,
when the run starts (``ReplayOptions.use_ledger``).
"""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from riskguard.engine.engine import RiskEngine
from riskguard.model.decision import Detail
from riskguard.model.position import Position
from riskguard.model.signal import Signal
from riskguard.model.snapshots import AccountSnapshot

if TYPE_CHECKING:
    from riskguard.runtime.gate import RiskGate


class ReplayAccount(Protocol):
    """Where the replay's NAV marks, decisions and fills go. Prices and fees in USDT, times in ms."""

    def mark_nav(self, nav: float, ts_ms: int) -> None:
        """The account's NAV (USDT) at ``ts_ms``."""

    def decide(self, signal: Signal, now_ms: int) -> tuple[bool, Detail, str | None]:
        """One decision on ``signal``: ``(veto, detail, reservation_id)`` (None without a reservation)."""

    def entered(self, reservation_id: str | None, position: Position, fee: float) -> None:
        """The approved entry filled as ``position``, paying ``fee``."""

    def abandoned(self, reservation_id: str | None) -> None:
        """The approved entry will not be placed (its budget comes back)."""

    def added(self, reservation_id: str | None, qty: float, price: float, fee: float, position: Position) -> None:
        """The approved add filled ``qty`` at ``price``, paying ``fee``; ``position`` is the whole
        position after it (legs, average entry, the stop it now carries)."""

    def restated(self, position: Position, reason: str) -> None:
        """The open ``position``'s stop moved (tightened) to its ``stop_price``, for ``reason``."""

    def exited(self, strategy: str, symbol: str, price: float, qty: float | None, fee: float, funding: float,
               remaining: Position | None) -> None:
        """An exit fill of ``qty`` (None: all of it) at ``price``, paying ``fee``, booking ``funding``;
        ``remaining`` is the position left after it (None when flat)."""

    def realized_pnl(self) -> float | None:
        """The realised PnL the account booked (None when it books none of its own)."""

    def close(self) -> None:
        """Release what the account holds (connections)."""


class MemoryAccount:
    """The engine's own book is the account: positions are added and removed by hand."""

    def __init__(self, engine: RiskEngine) -> None:
        self.engine = engine
        self._fed: AccountSnapshot | None = None

    def mark_nav(self, nav: float, ts_ms: int) -> None:
        fed = self._fed
        if fed is not None and fed.ts_ms == ts_ms and fed.nav == nav and self.engine.account is fed:
            # The same mark again (signals at one bar close after a veto): feeding it is a no-op for
            # the engine, its drawdown windows and the ladder, so skip the work.
            return
        account = AccountSnapshot(nav=nav, ts_ms=ts_ms)
        self.engine.update_account(account)
        self._fed = account

    def decide(self, signal: Signal, now_ms: int) -> tuple[bool, Detail, str | None]:
        veto, detail = self.engine.check_order(signal, now_ms=now_ms, commit=True)
        return veto, detail, None

    def entered(self, reservation_id: str | None, position: Position, fee: float) -> None:
        self.engine.add_position(position)

    def abandoned(self, reservation_id: str | None) -> None:
        """Nothing was reserved."""

    def added(self, reservation_id: str | None, qty: float, price: float, fee: float, position: Position) -> None:
        self.engine.add_position(position)

    def restated(self, position: Position, reason: str) -> None:
        self.engine.add_position(position)

    def exited(self, strategy: str, symbol: str, price: float, qty: float | None, fee: float, funding: float,
               remaining: Position | None) -> None:
        if remaining is None:
            self.engine.close_position(symbol, strategy)
        else:
            self.engine.add_position(remaining)

    def realized_pnl(self) -> float | None:
        return None

    def close(self) -> None:
        """Nothing to release."""


class LedgerAccount:
    """A scratch SQLite ledger in ``path`` is the account: every signal is reserved through the
    gate (one decision, stored), entries fill their reservation, exits close through the ledger."""

    def __init__(self, engine: RiskEngine, path: Path) -> None:
        from riskguard.ledger import Ledger
        from riskguard.runtime import RiskGate

        # The file is this run's own and deleted after it: a scratch ledger (no sync to disk, one
        # connection). The ledger's own settings still guard a live account. Same rows.
        ledger = Ledger(f"sqlite:///{path}", account_id="replay", scratch=True)
        ledger.upgrade()
        self.engine = engine
        self.gate: RiskGate = RiskGate(engine, ledger, actor="replay")

    def mark_nav(self, nav: float, ts_ms: int) -> None:
        account = AccountSnapshot(nav=nav, ts_ms=ts_ms)
        self.engine.update_account(account)
        # The ledger stores every mark as a row: feed it each one, repeated or not.
        self.gate.mark_nav(account, source="replay")

    def decide(self, signal: Signal, now_ms: int) -> tuple[bool, Detail, str | None]:
        return self.gate.reserve(signal)

    def entered(self, reservation_id: str | None, position: Position, fee: float) -> None:
        assert reservation_id is not None  # an approved entry adds risk, so the ledger reserved it
        self.gate.fill(reservation_id, position.qty, position.entry_price, fee)

    def abandoned(self, reservation_id: str | None) -> None:
        if reservation_id is not None:
            self.gate.release(reservation_id)

    def added(self, reservation_id: str | None, qty: float, price: float, fee: float, position: Position) -> None:
        assert reservation_id is not None  # an approved add adds risk, so the ledger reserved it
        self.gate.fill(reservation_id, qty, price, fee)

    def restated(self, position: Position, reason: str) -> None:
        from riskguard.ledger import StopLoosened

        assert position.stop_price is not None  # a managed trade always carries its stop
        # StopLoosened: the ledger already holds a tighter stop (an add's fill restated it) and keeps it.
        with suppress(StopLoosened):
            self.gate.move_stop(position.strategy, position.symbol, position.stop_price, reason=reason)

    def exited(self, strategy: str, symbol: str, price: float, qty: float | None, fee: float, funding: float,
               remaining: Position | None) -> None:
        # Funding is booked with the last fill, in the closing transaction.
        self.gate.close(strategy, symbol, price, qty=qty, fee=fee, funding=funding)

    def realized_pnl(self) -> float | None:
        return float(self.gate.ledger.account().realized_pnl)

    def close(self) -> None:
        self.gate.ledger.dispose()
