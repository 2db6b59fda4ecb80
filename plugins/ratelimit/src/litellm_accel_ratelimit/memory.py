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

_INF = float("inf")

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
        """Decide every entry; if all admit (and ``charge``), charge them all. Atomic: one lock
        acquisition covers the reads, the decision and the writes. Every entry is decided on the
        state before the request; the charges are collected in ``updates`` (a later entry with the
        same key overrides an earlier one) and applied in one ``dict.update``."""
        token_check = tokens if tokens > 0 else 1
        results: list[tuple[bool, float, float]] = []
        starts: list[float] = []
        updates: dict[str, Any] = {}
        fresh: list[tuple[str, tuple[str, float]]] = []
        add_result, add_start = results.append, starts.append
        allowed = True
        low = _INF  # the least headroom so far, and its entry (the admitted outcome's scope)
        low_entry = None
        state = self._state
        get = state.get
        with self._lock:
            now = self.clock()
            for e in entries:
                kind, key, limit, period, period_eps, interval, counts_tokens = e.row
                if counts_tokens:
                    check, consume = token_check, tokens
                else:
                    check = consume = 1
                old = get(key)
                if old is None:
                    fresh.append((key, (kind, period)))  # first use (or swept): registered if charged
                # Dispatch inline: this loop is the whole in-memory decision.
                if kind == GCRA:
                    # The admitted case of check_gcra, inlined (the common path); denials take the
                    # function for the exact remaining and retry-after.
                    tat = now if old is None or old < now else old
                    if tat + check * interval - now <= period_eps:
                        new = tat + consume * interval
                        rem = floor((now + period - new) / interval + EPSILON)
                        if rem < 0:
                            rem = 0.0
                        if rem < low:
                            low, low_entry = rem, e
                        add_result((True, rem, 0.0))
                        add_start(0.0)
                        updates[key] = new
                        continue
                    ok, rem, retry, new, ws = check_gcra(old, now, limit, period, check, consume)
                elif kind == FIXED_CLOCK:
                    # check_fixed on clock windows, inlined (the Router check's path).
                    ws = floor(now / period) * period
                    used = old[1] if old is not None and old[0] == ws else 0.0
                    if used + check > limit:
                        ok, rem, retry, new, ws = check_fixed(old, now, limit, period, check, consume, False)
                    else:
                        rem = limit - used - consume
                        if rem < 0:
                            rem = 0.0
                        if rem < low:
                            low, low_entry = rem, e
                        add_result((True, rem, 0.0))
                        add_start(ws)
                        updates[key] = (ws, used + consume)
                        continue
                elif kind == CONCURRENCY:
                    ok, rem, retry, new = check_slots(old, now, limit)
                    ws = 0.0
                    if ok and charge:
                        new = dict(new)
                        new[slot_id or ""] = now + slot_ttl
                elif kind == SLIDING:
                    ok, rem, retry, new, ws = check_sliding(old, now, limit, period, check, consume)
                else:
                    first = kind == FIXED_FIRST
                    ok, rem, retry, new, ws = check_fixed(old, now, limit, period, check, consume, first)
                if not ok:
                    allowed = False
                elif rem < low:
                    low, low_entry = rem, e
                add_result((ok, rem, retry))
                add_start(ws)
                updates[key] = new
            if allowed and charge:
                state.update(updates)
                if fresh:
                    self._kinds.update(fresh)
                self._decisions += 1
                if self._decisions % SWEEP_EVERY == 0:
                    self._sweep(now)
        if allowed and low_entry is not None:
            # combine()'s admitted case, tracked in the loop above: the first entry with the least headroom.
            return Outcome(True, low, 0.0, low_entry.scope, low_entry.metric, tuple(starts), results)
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
