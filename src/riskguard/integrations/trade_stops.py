"""Dynamic stops for a bot's open trades: the exit plan each trade was opened with, and the ratchet
(:func:`riskguard.exits.dynamic_stop.adjust_stop`, posture ``exits.dynamic_stop``) that moves its
stop with the market, only ever tighter.

One R stays the first entry's: the plan's risk per unit is the distance from the opening fill to the
stop it opened with, and an add moves the plan's entry to the position's average price (as the
replay does), so the lock ladder and the trail keep measuring the trade the way it was planned.
"""

from __future__ import annotations

import dataclasses
import logging

from riskguard.config import Posture
from riskguard.engine.instruments import default_instruments
from riskguard.exits import ExitPlan, build_exit_plan, compile_exit_rules
from riskguard.exits.dynamic_stop import StopUpdate, adjust_stop, compile_dynamic_stop_rule
from riskguard.model.enums import Regime
from riskguard.model.errors import InputValidationError

log = logging.getLogger("riskguard.integrations.trade_stops")


class TradeStops:
    """The exit plans of a bot's open trades (by the bot's trade id) and their next stops."""

    def __init__(self, posture: Posture) -> None:
        self.rule = compile_dynamic_stop_rule(posture.exits.dynamic_stop)
        self.exit_rules = compile_exit_rules(posture.exits)
        self.instruments = default_instruments()
        self.plans: dict[int, ExitPlan] = {}

    def open(self, trade_id: int, symbol: str, short: bool, entry_price: float, qty: float, stop_price: float,
             atr: float | None, *, mode: str | None = None) -> ExitPlan | None:
        """Plan trade ``trade_id``'s exits at its opening fill (``qty`` base units at ``entry_price``
        USDT) with the stop it opened with (``stop_price`` USDT; one R is their distance). ``atr``
        (price units) is the signal's; ``mode`` the policy's exit mode. None, logged, when the trade
        cannot carry a plan (a symbol without instrument rules, a stop on the wrong side, a quantity
        off the exchange's grid): its stop then stays where it opened."""
        instrument = self.instruments.get(symbol)
        risk = (stop_price - entry_price) if short else (entry_price - stop_price)
        if instrument is None or not risk > 0.0:
            log.warning("riskguard: no dynamic stop for %s (trade %s): %s", symbol, trade_id,
                        "no instrument rules" if instrument is None else "its stop is not on the losing side")
            return None
        try:
            plan = build_exit_plan(self.exit_rules, instrument, "SHORT" if short else "LONG", entry_price, qty,
                                   atr if atr is not None and atr > 0.0 else risk, mode=mode)
        except InputValidationError as exc:
            log.warning("riskguard: no dynamic stop for %s (trade %s): %s", symbol, trade_id, exc)
            return None
        plan = dataclasses.replace(plan, stop_price=stop_price, risk_per_unit=risk)
        self.plans[trade_id] = plan
        return plan

    def add(self, trade_id: int, qty: float, price: float) -> None:
        """An add of ``qty`` base units filled at ``price`` USDT: the plan's entry becomes the
        position's average price and its quantity the position's; one R stays the first entry's."""
        plan = self.plans.get(trade_id)
        if plan is None or not qty > 0.0:
            return
        total = plan.qty + qty
        average = (plan.entry_price * plan.qty + price * qty) / total
        self.plans[trade_id] = dataclasses.replace(plan, entry_price=average, qty=total)

    def close(self, trade_id: int) -> None:
        """Trade ``trade_id`` is closed: forget its plan."""
        self.plans.pop(trade_id, None)

    def next_stop(self, trade_id: int, current_stop: float, best_price: float, last_price: float, atr: float,
                  *, regime: Regime | None = None, size_multiplier: float = 1.0) -> StopUpdate | None:
        """The stop trade ``trade_id`` should carry now (``adjust_stop``: prices USDT, ``atr`` in
        price units), never looser than ``current_stop``; None when the trade has no plan or an
        input is not usable (logged): the stop then stays."""
        plan = self.plans.get(trade_id)
        if plan is None:
            return None
        try:
            return adjust_stop(self.rule, plan, current_stop, best_price, last_price, atr, regime=regime,
                               size_multiplier=size_multiplier)
        except InputValidationError as exc:
            log.warning("riskguard: stop of trade %s not adjusted: %s", trade_id, exc)
            return None
