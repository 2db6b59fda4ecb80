"""Connection counters of the pools, kept per endpoint and summed into the host's feature metrics.

Counters (``FeatureMetrics.incr``): ``connections_opened``, ``connections_reused``,
``connections_closed``, ``requests``, ``waits`` (requests that queued for a connection),
``wait_time_us`` (total microseconds spent queued), ``pool_timeouts``, ``stale_retries``.
Gauges (``FeatureMetrics.set_gauge``): ``connections_in_use``, ``requests_waiting``,
``connections_open``, ``max_wait_ms``, ``endpoint_pools``.
Updates are plain integer arithmetic on the event loop's thread (no lock), like the host's counters.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class EndpointStats:
    """Counters of one endpoint pool (one event loop, one scheme/host/port/TLS profile)."""

    endpoint: str
    connections_opened: int = 0
    connections_reused: int = 0
    connections_closed: int = 0
    connections_open: int = 0
    in_use: int = 0
    waiting: int = 0
    requests: int = 0
    waits: int = 0
    wait_time_us: int = 0
    max_wait_ms: float = 0.0
    pool_timeouts: int = 0
    stale_retries: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class PoolMetrics:
    """Aggregates every endpoint's events into the feature's :class:`FeatureMetrics` (may be ``None``)."""

    def __init__(self, metrics: Any) -> None:
        self._metrics = metrics
        self.in_use = 0
        self.waiting = 0
        self.open = 0
        self.max_wait_ms = 0.0
        self.endpoint_pools = 0

    def _incr(self, name: str, amount: int = 1) -> None:
        if self._metrics is not None and amount:
            self._metrics.incr(name, amount)

    def _gauge(self, name: str, value: float) -> None:
        if self._metrics is not None:
            self._metrics.set_gauge(name, value)

    def endpoint_created(self) -> None:
        self.endpoint_pools += 1
        self._gauge("endpoint_pools", self.endpoint_pools)

    def endpoint_closed(self, stats: EndpointStats) -> None:
        self.endpoint_pools -= 1
        self._gauge("endpoint_pools", self.endpoint_pools)
        self.sync_open(stats, 0)

    def acquired(self, stats: EndpointStats) -> None:
        stats.requests += 1
        stats.in_use += 1
        self.in_use += 1
        self._incr("requests")
        self._gauge("connections_in_use", self.in_use)

    def released(self, stats: EndpointStats) -> None:
        stats.in_use -= 1
        self.in_use -= 1
        self._gauge("connections_in_use", self.in_use)

    def wait_started(self, stats: EndpointStats) -> None:
        stats.waiting += 1
        self.waiting += 1
        self._gauge("requests_waiting", self.waiting)

    def wait_ended(self, stats: EndpointStats, seconds: float, timed_out: bool) -> None:
        stats.waiting -= 1
        self.waiting -= 1
        self._gauge("requests_waiting", self.waiting)
        micros = int(seconds * 1_000_000)
        stats.waits += 1
        stats.wait_time_us += micros
        self._incr("waits")
        self._incr("wait_time_us", micros)
        ms = seconds * 1000.0
        if ms > stats.max_wait_ms:
            stats.max_wait_ms = ms
        if ms > self.max_wait_ms:
            self.max_wait_ms = ms
            self._gauge("max_wait_ms", ms)
        if timed_out:
            self.pool_timeout(stats)

    def pool_timeout(self, stats: EndpointStats) -> None:
        stats.pool_timeouts += 1
        self._incr("pool_timeouts")

    def connection_opened(self, stats: EndpointStats) -> None:
        stats.connections_opened += 1
        self._incr("connections_opened")

    def connection_reused(self, stats: EndpointStats) -> None:
        stats.connections_reused += 1
        self._incr("connections_reused")

    def stale_retry(self, stats: EndpointStats) -> None:
        stats.stale_retries += 1
        self._incr("stale_retries")

    def sync_open(self, stats: EndpointStats, open_now: int) -> None:
        """Record that the endpoint holds ``open_now`` sockets; the difference closed since."""
        closed_total = max(stats.connections_opened - open_now, stats.connections_closed)
        self._incr("connections_closed", closed_total - stats.connections_closed)
        stats.connections_closed = closed_total
        self.open += open_now - stats.connections_open
        stats.connections_open = open_now
        self._gauge("connections_open", self.open)
