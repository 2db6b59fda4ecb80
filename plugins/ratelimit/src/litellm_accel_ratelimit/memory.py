"""In-memory backend: every entry's state in one dict behind one lock.

The lock is held only for the arithmetic (no I/O, no ``await``), which makes the backend safe from
threads and from asyncio tasks alike, and exact: all entries of one request are decided and charged
under the same lock, so N concurrent callers against a limit of L admit exactly L.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from math import floor
from typing import Any

from litellm_accel_ratelimit.algorithms import EPSILON, adjust, check_fixed, check_gcra, check_sliding, check_slots
from litellm_accel_ratelimit.scopes import CONCURRENCY, FIXED_CLOCK, FIXED_FIRST, GCRA, SLIDING, Entry

#: Decisions between two sweeps of stale state.
SWEEP_EVERY = 50_000


class Outcome:
    """What a backend decided for one request (before it becomes a ``LimitDecision``)."""

    __slots__ = ("allowed", "metric", "remaining", "results", "retry_after", "scope", "window_starts")

    def __init__(
        self,
        allowed: bool,
        remaining: float,
        retry_after: float,
        scope: str,
        metric: str,
        window_starts: tuple[float, ...],
        results: Sequence[tuple[bool, float, float]] = (),
    ) -> None:
        self.allowed = allowed
        self.remaining = remaining
        self.retry_after = retry_after
        self.scope = scope
        self.metric = metric
        self.window_starts = window_starts
        self.results = results  #: per entry (allowed, remaining, retry_after)


def combine(
    entries: Sequence[Entry], results: Sequence[tuple[bool, float, float]], window_starts: tuple[float, ...]
) -> Outcome:
    """One outcome from per-entry ``(allowed, remaining, retry_after)``: when denied, the entry that
    needs the longest wait (every entry must pass); when allowed, the one with the least headroom."""
    best = -1
    allowed = all(r[0] for r in results)
    for i, r in enumerate(results):
        if best < 0:
            best = i
        elif allowed:
            if r[1] < results[best][1]:
                best = i
        elif not r[0] and (results[best][0] or r[2] > results[best][2]):
            best = i
    if best < 0:
        return Outcome(True, float("inf"), 0.0, "", "", window_starts, results)
    r, e = results[best], entries[best]
    return Outcome(allowed, r[1], 0.0 if allowed else r[2], e.scope, e.metric, window_starts, results)


class MemoryBackend:
    """Thread- and asyncio-safe in-process limit store. ``clock`` returns seconds (wall time)."""

    name = "memory"

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._state: dict[str, Any] = {}
        self._kinds: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._decisions = 0

    def decide(
        self, entries: Sequence[Entry], tokens: int, slot_id: str | None, slot_ttl: float, *, charge: bool = True
    ) -> Outcome:
        """Decide every entry; if all admit (and ``charge``), charge them all. Atomic."""
        token_check = tokens if tokens > 0 else 1
        results: list[tuple[bool, float, float]] = []
        new_states: list[Any] = []
        starts: list[float] = []
        allowed = True
        get = self._state.get
        with self._lock:
            now = self.clock()
            for e in entries:
                kind = e.kind
                if e.metric == "tokens":
                    check, consume = token_check, tokens
                else:
                    check = consume = 1
                # Dispatch inline: this loop is the whole in-memory decision.
                if kind == GCRA:
                    # The admitted case of check_gcra, inlined (the common path); denials take the
                    # function for the exact remaining and retry-after.
                    period = e.period
                    interval = period / e.limit
                    tat = get(e.key)
                    if tat is None or tat < now:
                        tat = now
                    if tat + check * interval - now <= period + EPSILON:
                        new = tat + consume * interval
                        ok, retry, ws = True, 0.0, 0.0
                        rem = floor((now + period - new) / interval + EPSILON)
                        if rem < 0:
                            rem = 0.0
                    else:
                        ok, rem, retry, new, ws = check_gcra(get(e.key), now, e.limit, period, check, consume)
                elif kind == FIXED_CLOCK:
                    # check_fixed on clock windows, inlined (the Router check's path).
                    period = e.period
                    ws = floor(now / period) * period
                    state = get(e.key)
                    used = state[1] if state is not None and state[0] == ws else 0.0
                    if used + check > e.limit:
                        ok, rem, retry, new, ws = check_fixed(state, now, e.limit, period, check, consume, False)
                    else:
                        ok, retry, new = True, 0.0, (ws, used + consume)
                        rem = e.limit - used - consume
                        if rem < 0:
                            rem = 0.0
                elif kind == CONCURRENCY:
                    ok, rem, retry, new = check_slots(get(e.key), now, e.limit)
                    ws = 0.0
                elif kind == SLIDING:
                    ok, rem, retry, new, ws = check_sliding(get(e.key), now, e.limit, e.period, check, consume)
                else:
                    ok, rem, retry, new, ws = check_fixed(
                        get(e.key), now, e.limit, e.period, check, consume, kind == FIXED_FIRST
                    )
                if not ok:
                    allowed = False
                results.append((ok, rem, retry))
                new_states.append(new)
                starts.append(ws)
            if allowed and charge:
                state = self._state
                for e, new in zip(entries, new_states, strict=True):
                    if e.kind == CONCURRENCY:
                        new = dict(new)
                        new[slot_id or ""] = now + slot_ttl
                    if e.key not in state:
                        self._kinds[e.key] = (e.kind, e.period)
                    state[e.key] = new
                self._decisions += 1
                if self._decisions % SWEEP_EVERY == 0:
                    self._sweep(now)
        if allowed and results:
            # combine()'s admitted case, without its second pass: the least headroom.
            best = 0
            low = results[0][1]
            for i in range(1, len(results)):
                if results[i][1] < low:
                    best, low = i, results[i][1]
            e = entries[best]
            return Outcome(True, low, 0.0, e.scope, e.metric, tuple(starts), results)
        return combine(entries, results, tuple(starts))

    def adjust(
        self,
        entries: Sequence[Entry],
        deltas: Sequence[float],
        window_starts: Sequence[float | None],
        slot_id: str | None,
    ) -> None:
        """Reconcile token charges (``deltas``; 0 leaves an entry alone) and free ``slot_id``."""
        with self._lock:
            now = self.clock()
            for e, delta, ws in zip(entries, deltas, window_starts, strict=True):
                if e.kind == CONCURRENCY:
                    slots = self._state.get(e.key)
                    if slots and slot_id in slots:
                        slots = dict(slots)
                        del slots[slot_id]
                        self._state[e.key] = slots
                elif delta:
                    new = adjust(e.kind, self._state.get(e.key), now, e.limit, e.period, delta, ws)
                    if new is not None:
                        if e.key not in self._state:
                            self._kinds[e.key] = (e.kind, e.period)
                        self._state[e.key] = new

    def _sweep(self, now: float) -> None:
        """Drop state that no longer affects any decision (called under the lock)."""
        for key, (kind, period) in list(self._kinds.items()):
            state = self._state.get(key)
            stale = state is None
            if not stale:
                if kind == GCRA:
                    stale = state <= now
                elif kind == CONCURRENCY:
                    stale = all(exp <= now for exp in state.values())
                else:
                    stale = state[0] + 2 * period <= now
            if stale:
                self._state.pop(key, None)
                del self._kinds[key]

    def clear(self) -> None:
        with self._lock:
            self._state.clear()
            self._kinds.clear()

    def close(self) -> None:
        self.clear()
