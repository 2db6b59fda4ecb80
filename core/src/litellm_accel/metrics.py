"""Per-feature, per-implementation counters and latency histograms, readable as a dict or as
Prometheus text.

Counters are plain attribute increments (no lock) because they sit on the request path; under heavy
multi-threading a rare increment can be lost, which is acceptable for monitoring. See
docs/monitoring.md for every metric's meaning.
"""

from __future__ import annotations

import threading
from typing import Any

from litellm_accel.histogram import Histogram

#: Counter attributes of :class:`FeatureMetrics`, with their meaning (used for docs and Prometheus).
STANDARD_COUNTERS: dict[str, str] = {
    "calls": "Calls that reached the guard.",
    "accelerated": "Calls answered by the accelerated implementation.",
    "stock": "Calls answered by stock litellm because of the flag (off, canary remainder, tripped).",
    "errors": "Exceptions raised by the implementation (each answered by stock litellm).",
    "fallbacks": "Calls answered by stock litellm after an implementation error.",
    "delegated": "Calls the implementation handed to stock litellm on purpose (UseStock).",
    "shadow_runs": "Calls run by both implementations in shadow mode.",
    "shadow_mismatches": "Shadow calls whose accelerated result differed from stock's.",
    "breaker_trips": "Times the error budget tripped the feature to stock litellm.",
}


class FeatureMetrics:
    """Metrics of one feature's selected implementation."""

    def __init__(self, feature: str, implementation: str) -> None:
        self.feature = feature
        self.implementation = implementation
        self.calls = 0
        self.accelerated = 0
        self.stock = 0
        self.errors = 0
        self.fallbacks = 0
        self.delegated = 0
        self.shadow_runs = 0
        self.shadow_mismatches = 0
        self.breaker_trips = 0
        self.latency = Histogram()  #: accelerated calls
        self.stock_latency = Histogram()  #: stock calls timed in shadow mode
        self.last_error: str | None = None
        self.last_mismatch: str | None = None
        self._extra_counters: dict[str, int] = {}
        self._gauges: dict[str, float] = {}
        self._lock = threading.Lock()

    def incr(self, name: str, amount: int = 1) -> None:
        """Add to an implementation-specific counter (for example ``memo_hits``)."""
        self._extra_counters[name] = self._extra_counters.get(name, 0) + amount

    def set_gauge(self, name: str, value: float) -> None:
        """Set an implementation-specific gauge (for example ``memo_bytes``)."""
        self._gauges[name] = value

    def counter_value(self, name: str) -> int:
        """Current value of a standard or implementation-specific counter (0 if never set)."""
        if name in STANDARD_COUNTERS:
            return int(getattr(self, name))
        return self._extra_counters.get(name, 0)

    def snapshot(self) -> dict[str, Any]:
        """A JSON-serialisable copy of every metric."""
        data: dict[str, Any] = {name: getattr(self, name) for name in STANDARD_COUNTERS}
        data["implementation"] = self.implementation
        data["latency"] = self.latency.summary()
        data["stock_latency"] = self.stock_latency.summary()
        data["counters"] = dict(self._extra_counters)
        data["gauges"] = dict(self._gauges)
        data["last_error"] = self.last_error
        data["last_mismatch"] = self.last_mismatch
        return data


class MetricsRegistry:
    """All features' metrics. One process-wide instance lives in :data:`REGISTRY`."""

    def __init__(self) -> None:
        self._features: dict[str, FeatureMetrics] = {}
        self._lock = threading.Lock()

    def for_feature(self, feature: str, implementation: str) -> FeatureMetrics:
        """The metrics object of ``feature`` for ``implementation`` (a new one if the
        implementation changed since the last install)."""
        with self._lock:
            current = self._features.get(feature)
            if current is None or current.implementation != implementation:
                current = FeatureMetrics(feature, implementation)
                self._features[feature] = current
            return current

    def get(self, feature: str) -> FeatureMetrics | None:
        """The current metrics of ``feature``, or ``None`` if it was never installed."""
        return self._features.get(feature)

    def reset(self) -> None:
        """Forget every metric (tests, or a fresh measurement window)."""
        with self._lock:
            self._features.clear()

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """``{feature: {metric: value}}`` for every feature seen so far."""
        return {name: m.snapshot() for name, m in sorted(self._features.items())}

    def prometheus_text(self) -> str:
        """The metrics in Prometheus exposition format.

        Uses ``prometheus_client`` (extra ``litellm-accel[prometheus]``) when installed, so the
        output can also be served by its HTTP server; otherwise renders the same families itself.
        """
        try:
            from litellm_accel.prometheus import render_with_prometheus_client
        except ImportError:  # pragma: no cover - the module itself has no hard deps
            render_with_prometheus_client = None
        if render_with_prometheus_client is not None:
            text = render_with_prometheus_client(self)
            if text is not None:
                return text
        from litellm_accel.prometheus import render_plain

        return render_plain(self)


REGISTRY = MetricsRegistry()
