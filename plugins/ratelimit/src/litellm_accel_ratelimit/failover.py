"""Circuit breaker in front of Redis: a dead Redis costs one timeout per breaker interval.

``closed``: every decision goes to Redis. A failure opens the breaker for ``interval`` seconds, during
which decisions follow the failure policy without touching Redis. When the interval has passed,
exactly one caller probes Redis (the others keep the policy until the probe ends); its success closes
the breaker, its failure opens it for another interval.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

CLOSED, OPEN = "closed", "open"


class RedisBreaker:
    def __init__(self, interval: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self.clock = clock
        self.state = CLOSED
        self.opened_at: float | None = None
        self.last_error: str | None = None
        self._retry_at = 0.0
        self._lock = threading.Lock()

    def allow(self) -> bool:
        """Whether this caller may use Redis now (fast path: one attribute read when closed)."""
        if self.state == CLOSED:
            return True
        with self._lock:
            now = self.clock()
            if now >= self._retry_at:
                self._retry_at = now + self.interval  # this caller is the probe
                return True
            return False

    def record_failure(self, error: str) -> bool:
        """Open (or keep open) the breaker; return whether it was closed before."""
        with self._lock:
            was_closed = self.state == CLOSED
            now = self.clock()
            self.state = OPEN
            self.last_error = error
            self._retry_at = now + self.interval
            if was_closed:
                self.opened_at = now
            return was_closed

    def record_success(self) -> bool:
        """Close the breaker; return whether it was open before (a recovery)."""
        if self.state == CLOSED:
            return False
        with self._lock:
            recovered = self.state == OPEN
            self.state = CLOSED
            self.opened_at = None
            return recovered

    def seconds_until_probe(self) -> float:
        return max(0.0, self._retry_at - self.clock()) if self.state == OPEN else 0.0
