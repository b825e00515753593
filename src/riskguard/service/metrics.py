"""Prometheus metrics of the service (names per the Prometheus naming guide).

Counters and histograms are this process's own; with ``--workers N`` the ``serve`` command runs
prometheus-client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``), so any worker's ``/metrics``
answers for all of them. The state gauges (positions, exposure, caps, NAV, drawdown, trading
state) are read from the shared ledger at scrape time, so every worker reports the same values.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from riskguard.gates.registry import GATE_NAMES
from riskguard.model.decision import Detail
from riskguard.model.enums import TradingState
from riskguard.runtime.unavailable import LEDGER_UNAVAILABLE

log = logging.getLogger("riskguard.service")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
SERVICE_UNAVAILABLE = "service_unavailable"
REASON_CODES: tuple[str, ...] = (*GATE_NAMES, LEDGER_UNAVAILABLE, SERVICE_UNAVAILABLE)
"""Every reason a veto can carry: the gates' codes, the ledger being unreachable, the service not ready."""
_NO_REASON = "none"
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_CONFIDENCE_BUCKETS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)


def multiprocess_mode() -> bool:
    """True when prometheus-client keeps its values in ``$PROMETHEUS_MULTIPROC_DIR`` (several workers)."""
    return bool(os.environ.get(MULTIPROC_ENV))


def verdict_of(detail: Detail) -> str:
    """``approved``, ``resized`` (approved at a smaller size) or ``vetoed``."""
    if detail.get("veto", True):
        return "vetoed"
    return "resized" if detail.get("resized") else "approved"


class ServiceMetrics:
    """The service's counters and histograms, registered in their own registry (several apps may
    live in one process, e.g. in tests)."""

    def __init__(self, budget: Callable[[], dict[str, Any]]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.decisions = Counter(
            "riskguard_decisions", "Recorded decisions (reserves) by result and reason; a veto counts once per "
            "reason it carries, an approval once with reason none.", ["result", "reason"], registry=self.registry)
        self.decision_seconds = Histogram(
            "riskguard_decision_duration_seconds", "Time of a dry-run decision (/v1/check), edge to edge, seconds.",
            buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.reserve_seconds = Histogram(
            "riskguard_reserve_duration_seconds", "Time of a recorded decision (/v1/reserve) including the "
            "ledger transaction, seconds.", buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.confidence = Histogram(
            "riskguard_approved_confidence", "Signal confidence (0..1) of approved risk-adding decisions.",
            buckets=_CONFIDENCE_BUCKETS, registry=self.registry)
        self.ledger_errors = Counter(
            "riskguard_ledger_errors", "Ledger operations that failed because the database was unreachable.",
            ["operation"], registry=self.registry)
        for result in ("approved", "resized"):
            self.decisions.labels(result, _NO_REASON)
        for reason in REASON_CODES:
            self.decisions.labels("vetoed", reason)
        self._state = LedgerStateCollector(budget, self.ledger_errors)
        self.registry.register(self._state)

    def record_decision(self, detail: Detail, confidence: float | None) -> None:
        """Count one recorded decision by result and reason(s); an approved risk-adding one also
        records its signal ``confidence`` (0..1) when the intent carried one."""
        result = verdict_of(detail)
        if result != "vetoed":
            self.decisions.labels(result, _NO_REASON).inc()
            if confidence is not None and not detail.get("reducing"):
                self.confidence.observe(confidence)
            return
        for reason in detail.get("reasons") or [SERVICE_UNAVAILABLE]:
            self.decisions.labels("vetoed", str(reason)).inc()

    def exposition(self) -> bytes:
        """The text exposition for ``/metrics`` (every worker's counters in multiprocess mode)."""
        if not multiprocess_mode():
            return bytes(generate_latest(self.registry))
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        registry.register(self._state)
        return bytes(generate_latest(registry))


class LedgerStateCollector(Collector):
    """Gauges read from the shared ledger at scrape time (see riskguard.service.budget)."""

    def __init__(self, budget: Callable[[], dict[str, Any]], errors: Counter) -> None:
        self._budget = budget
        self._errors = errors

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("riskguard_ledger_up", "1 when the ledger answered this scrape.")
        try:
            view = self._budget()
        except Exception as exc:  # a scrape must answer even when the ledger does not
            log.warning("metrics: ledger state unavailable: %s", type(exc).__name__)
            self._errors.labels("metrics").inc()
            up.add_metric([], 0.0)
            yield up
            return
        up.add_metric([], 1.0)
        yield up
        account = view["account"]
        yield GaugeMetricFamily("riskguard_open_positions", "Open positions plus pending new-position reservations.",
                                value=float(view["open_positions"]))
        yield GaugeMetricFamily("riskguard_pending_reservations", "Active reservations.",
                                value=float(view["pending_reservations"]))
        yield GaugeMetricFamily("riskguard_gross_exposure_usdt", "Gross exposure of positions and reservations, USDT.",
                                value=float(view["gross_exposure_usdt"]))
        caps = GaugeMetricFamily("riskguard_cap_utilisation_ratio", "Each cap's use as a fraction of its limit "
                                 "(1 = full).", labels=["cap", "scope"])
        for cap in view["caps"]:
            utilisation = cap["utilisation"]
            caps.add_metric([cap["cap"], cap["scope"]], float("inf") if utilisation is None else float(utilisation))
        yield caps
        nav = account["nav"]
        yield GaugeMetricFamily("riskguard_nav_usdt", "Latest NAV mark, USDT (NaN before the first).",
                                value=float("nan") if nav is None else float(nav))
        drawdown = GaugeMetricFamily("riskguard_drawdown_ratio", "Drawdown as a fraction of NAV: from the UTC day's "
                                     "high and from the peak of the charted NAV marks.", labels=["window"])
        drawdown.add_metric(["day"], float(view["daily_drawdown"]))
        drawdown.add_metric(["peak"], float(view["drawdown_from_peak"]))
        yield drawdown
        state = GaugeMetricFamily("riskguard_trading_state", "1 for the account's current trading state.",
                                  labels=["state"])
        for name in TradingState:
            state.add_metric([name.value], 1.0 if account["trading_state"] == name.value else 0.0)
        yield state
