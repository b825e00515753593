"""The monitor's metrics as Prometheus gauges (``riskguard_monitor_<metric>``, labelled by account
and, for breakdowns, by key), for the service's ``/metrics`` or any registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge

from riskguard.monitor.metrics import RiskMetrics


class MonitorGauges:
    """One gauge per metric in ``registry``; :meth:`update` sets them from a computation."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self._gauges: dict[str, Gauge] = {}

    def _gauge(self, name: str, unit: str) -> Gauge:
        gauge = self._gauges.get(name)
        if gauge is None:
            gauge = self._gauges[name] = Gauge(f"riskguard_monitor_{name}", f"riskguard monitor: {name} ({unit})",
                                               ["account", "key"], registry=self.registry)
        return gauge

    def update(self, metrics: RiskMetrics) -> None:
        """Set every gauge; a metric that cannot be computed now is NaN (not a stale value)."""
        for name, metric in metrics.metrics.items():
            gauge = self._gauge(name, metric.unit)
            gauge.labels(metrics.account_id, "").set(float("nan") if metric.value is None else metric.value)
            for key, value in metric.by_key.items():
                gauge.labels(metrics.account_id, key).set(value)
