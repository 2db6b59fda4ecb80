"""Error budget: too many implementation errors in a window trip a feature to stock litellm for a
cool-down, after which one trial call is let through (half-open)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class ErrorBudgetBreaker:
    """Circuit breaker driven by implementation errors.

    ``closed`` is the normal state. ``record_error`` trips it to ``open`` once ``max_errors`` errors
    fall within ``window_seconds``. While open, ``allow()`` is false until ``cooldown_seconds`` have
    passed; then exactly one caller is allowed (``half_open``): its success closes the breaker, its
    error re-opens it for another cool-down. ``on_change`` is called with the new state.
    """

    def __init__(
        self,
        max_errors: int,
        window_seconds: float,
        cooldown_seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[str], None] | None = None,
    ) -> None:
        self.max_errors = max_errors
        self.window_seconds = window_seconds
        self.cooldown_seconds = cooldown_seconds
        self.state = CLOSED
        self.trips = 0
        self._clock = clock
        self._on_change = on_change
        self._errors: deque[float] = deque()
        self._open_until = 0.0
        self._trial_in_flight = False
        self._lock = threading.Lock()

    def _set(self, state: str) -> None:
        if state != self.state:
            self.state = state
            if self._on_change is not None:
                self._on_change(state)

    def allow(self) -> bool:
        """Whether the accelerated implementation may serve the next call."""
        if self.state == CLOSED:
            return True
        with self._lock:
            if self.state == OPEN:
                if self._clock() < self._open_until:
                    return False
                self._set(HALF_OPEN)
                self._trial_in_flight = False
            if self.state == HALF_OPEN:
                if self._trial_in_flight:
                    return False
                self._trial_in_flight = True
                return True
            return True

    def record_success(self) -> None:
        """A call served by the implementation succeeded (only matters while half-open)."""
        if self.state == CLOSED:
            return
        with self._lock:
            if self.state == HALF_OPEN:
                self._errors.clear()
                self._trial_in_flight = False
                self._set(CLOSED)

    def record_error(self) -> bool:
        """Count one implementation error; return ``True`` if it tripped the breaker."""
        now = self._clock()
        with self._lock:
            if self.state == HALF_OPEN:
                self._trip(now)
                return True
            errors = self._errors
            errors.append(now)
            horizon = now - self.window_seconds
            while errors and errors[0] < horizon:
                errors.popleft()
            if self.state == CLOSED and len(errors) >= self.max_errors:
                self._trip(now)
                return True
            return False

    def _trip(self, now: float) -> None:
        self._open_until = now + self.cooldown_seconds
        self._trial_in_flight = False
        self._errors.clear()
        self.trips += 1
        self._set(OPEN)

    def reset(self) -> None:
        """Close the breaker and forget past errors."""
        with self._lock:
            self._errors.clear()
            self._trial_in_flight = False
            self._set(CLOSED)
