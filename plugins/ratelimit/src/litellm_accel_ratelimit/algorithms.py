"""The limit algorithms as pure functions on one entry's state (used by the in-memory backend; the
Redis script in :mod:`litellm_accel_ratelimit.lua` implements the same arithmetic).

Each ``check_*`` returns ``(allowed, remaining, retry_after, new_state, window_start)``: the state to
store if the whole request is admitted, and the window the charge landed in (for reconciliation).

- GCRA (generic cell rate algorithm, a token bucket kept as one timestamp): the bucket holds ``limit``
  units and refills continuously at ``limit/period`` per second. State: the theoretical arrival time.
- Sliding window (two-window weighted counter): the count of the previous clock window, weighted by
  how much of it still overlaps the last ``period`` seconds, plus the current window's count.
- Fixed window: a counter per window, on clock multiples of ``period`` (what litellm's router check
  does) or starting at the window's first request (what litellm's proxy limiter does).

A check needs ``check`` units of headroom and charges ``consume`` units: for token limits ``check`` is
``max(tokens, 1)`` so that a request reserving nothing is still denied once the limit is used up.
"""

from __future__ import annotations

import math
from typing import Any

#: Float slack so that ``limit`` requests of cost ``period/limit`` each fit exactly.
EPSILON = 1e-6


def check_gcra(
    state: Any, now: float, limit: int, period: float, check: int, consume: int
) -> tuple[bool, float, float, Any, float]:
    interval = period / limit
    tat = state if state is not None and state > now else now
    if tat + check * interval - now > period + EPSILON:
        retry = tat + check * interval - period - now
        if check > limit:
            retry = period
        return False, max(0.0, math.floor((now + period - tat) / interval + EPSILON)), max(retry, 0.0), state, 0.0
    new_tat = tat + consume * interval
    return True, max(0.0, math.floor((now + period - new_tat) / interval + EPSILON)), 0.0, new_tat, 0.0


def _sliding_roll(state: Any, now: float, period: float) -> tuple[float, float, float]:
    aligned = math.floor(now / period) * period
    if state is None:
        return aligned, 0.0, 0.0
    ws, cur, prev = state
    if ws == aligned:
        return ws, cur, prev
    if abs(aligned - ws - period) < EPSILON:
        return aligned, 0.0, cur
    return aligned, 0.0, 0.0


def check_sliding(
    state: Any, now: float, limit: int, period: float, check: int, consume: int
) -> tuple[bool, float, float, Any, float]:
    ws, cur, prev = _sliding_roll(state, now, period)
    weight = (period - (now - ws)) / period
    used = prev * weight + cur
    if used + check > limit + EPSILON:
        need = used + check - limit
        if check > limit:
            retry = period
        elif prev > 0 and prev * weight >= need:
            retry = need * period / prev
        else:
            # Wait for the next window, where this window's count decays from full weight.
            retry = ws + period - now
            if cur > 0 and cur + check > limit:
                retry += period * (1.0 - (limit - check) / cur)
        return False, max(0.0, math.floor(limit - used + EPSILON)), max(retry, 0.0), state, ws
    return True, max(0.0, math.floor(limit - used - consume + EPSILON)), 0.0, (ws, cur + consume, prev), ws


def check_fixed(
    state: Any, now: float, limit: int, period: float, check: int, consume: int, first_request: bool
) -> tuple[bool, float, float, Any, float]:
    if first_request:
        if state is None or now - state[0] >= period:
            ws, used = now, 0.0
        else:
            ws, used = state
    else:
        ws = math.floor(now / period) * period
        used = state[1] if state is not None and state[0] == ws else 0.0
    if used + check > limit:
        retry = period if check > limit else ws + period - now
        return False, max(0.0, limit - used), max(retry, 0.0), state, ws
    return True, max(0.0, limit - used - consume), 0.0, (ws, used + consume), ws


def check_slots(state: Any, now: float, limit: int) -> tuple[bool, float, float, dict[str, float]]:
    """Concurrency: ``state`` maps slot id -> expiry time; expired slots are dropped first."""
    slots: dict[str, float] = state if state is not None else {}
    if slots and min(slots.values()) <= now:
        slots = {k: v for k, v in slots.items() if v > now}
    if len(slots) + 1 > limit:
        return False, 0.0, 1.0, slots
    return True, float(limit - len(slots) - 1), 0.0, slots


def adjust(
    kind: str, state: Any, now: float, limit: int, period: float, delta: float, window_start: float | None
) -> Any:
    """Add ``delta`` units (negative: refund) to a rate entry's state; ``window_start`` is the window
    the original charge landed in (``None``: the current one). A charge whose window has passed is
    dropped, so a late reconciliation never leaks into a later window."""
    if kind == "g":
        interval = period / limit
        if delta > 0:
            base = state if state is not None and state > now else now
            return base + delta * interval
        return None if state is None else state + delta * interval
    if kind == "s":
        ws, cur, prev = _sliding_roll(state, now, period)
        target = ws if window_start is None else window_start
        if target == ws:
            return ws, max(0.0, cur + delta), prev
        if abs(target + period - ws) < EPSILON:
            return ws, cur, max(0.0, prev + delta)
        return state
    first_request = kind == "F"
    if first_request:
        if state is None or now - state[0] >= period:
            return state if window_start is not None else (now, max(0.0, delta))
        ws, used = state
    else:
        ws = math.floor(now / period) * period
        used = state[1] if state is not None and state[0] == ws else 0.0
    if window_start is not None and window_start != ws:
        return state
    return ws, max(0.0, used + delta)
