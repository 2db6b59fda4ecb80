"""The hot paths added for speed decide exactly as the plain code does:

- the in-memory decision (inlined GCRA / clock-window arithmetic, precompiled entry rows) against a
  reference built from the pure algorithm functions, on random requests and clocks (hypothesis);
- the decision objects built without the frozen dataclass's ``__init__`` are ordinary ``LimitDecision``s;
- the cached scope-list resolution returns the same entries as resolving each scope;
- the pre-packed ``EVALSHA`` is byte for byte what redis-py's own packer sends for the same arguments;
- an async Redis connection interrupted by a timeout is never reused with a reply pending.
"""

from __future__ import annotations

import asyncio
import dataclasses
import signal
from typing import Any

import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st

from litellm_accel.contracts import LimitDecision
from litellm_accel_ratelimit import Scope, create_limiter
from litellm_accel_ratelimit.algorithms import check_fixed, check_gcra, check_sliding, check_slots
from litellm_accel_ratelimit.memory import MemoryBackend, combine
from litellm_accel_ratelimit.redis_backend import RedisBackend
from litellm_accel_ratelimit.scopes import Entry, compile_scope


# -- in-memory decision against the pure functions ---------------------------------------------------
def reference_decide(
    state: dict[str, Any], entries: tuple[Entry, ...], tokens: int, slot_id: str | None, ttl: float, now: float
) -> tuple[Any, ...]:
    """Every entry decided by its ``algorithms`` function on the state before the request, charged
    only if all admit; the outcome from ``combine``."""
    token_check = tokens if tokens > 0 else 1
    results, news, starts = [], [], []
    for e in entries:
        check, consume = (token_check, tokens) if e.metric == "tokens" else (1, 1)
        old = state.get(e.key)
        if e.kind == "g":
            ok, rem, retry, new, ws = check_gcra(old, now, e.limit, e.period, check, consume)
        elif e.kind == "s":
            ok, rem, retry, new, ws = check_sliding(old, now, e.limit, e.period, check, consume)
        elif e.kind == "c":
            ok, rem, retry, new = check_slots(old, now, e.limit)
            ws = 0.0
        else:
            ok, rem, retry, new, ws = check_fixed(old, now, e.limit, e.period, check, consume, e.kind == "F")
        results.append((ok, rem, retry))
        news.append(new)
        starts.append(ws)
    outcome = combine(entries, results, tuple(starts))
    if outcome.allowed:
        for e, new in zip(entries, news, strict=True):
            if e.kind == "c":
                new = dict(new)
                new[slot_id or ""] = now + ttl
            state[e.key] = new
    return (
        outcome.allowed,
        outcome.remaining,
        outcome.retry_after,
        outcome.scope,
        outcome.metric,
        outcome.window_starts,
    )


def _entries_pool() -> list[Entry]:
    pool: list[Entry] = []
    for alg, alignment in (
        ("gcra", "clock"),
        ("sliding_window", "clock"),
        ("fixed_window", "clock"),
        ("fixed_window", "first_request"),
    ):
        for i, (rpm, tpm, par, period) in enumerate(((3, None, None, 2.0), (None, 7, 2, 1.0), (2, 5, None, 60.0))):
            pool.extend(compile_scope(Scope("custom", f"{alg}-{alignment}-{i}", rpm, tpm, par), alg, alignment, period))
    return pool


ENTRIES = _entries_pool()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(st.sampled_from(range(len(ENTRIES))), min_size=1, max_size=4),  # duplicates allowed
            st.integers(0, 6),  # tokens
            st.sampled_from([0.0, 0.01, 0.3, 0.5, 1.0, 1.7, 2.0, 61.0]),  # clock step before the request
        ),
        min_size=1,
        max_size=40,
    )
)
def test_memory_decide_matches_the_algorithm_functions(requests: list[tuple[list[int], int, float]]) -> None:
    clock = Clock(1_700_000_000.25)
    backend = MemoryBackend(clock)
    ref_state: dict[str, Any] = {}
    for n, (indexes, tokens, step) in enumerate(requests):
        clock.now += step
        entries = tuple(ENTRIES[i] for i in indexes)
        slot = f"s{n}"
        got = backend.decide(entries, tokens, slot, 5.0)
        expected = reference_decide(ref_state, entries, tokens, slot, 5.0, clock.now)
        assert (got.allowed, got.remaining, got.retry_after, got.scope, got.metric, got.window_starts) == expected
        assert backend._state == ref_state
        assert set(backend._kinds) >= set(backend._state)  # every stored key is known to the sweep


# -- decision objects -------------------------------------------------------------------------------
def test_decisions_are_ordinary_limit_decisions() -> None:
    limiter = create_limiter({}, clock=Clock(1_700_000_000.0))
    scopes = [Scope("api_key", "k", rpm=2), Scope("team", "t", rpm=5)]
    first = limiter.acquire_sync(scopes)
    assert type(first) is LimitDecision
    assert first == LimitDecision(True, 1, 0.0, "api_key:k", "requests", first.lease)
    assert hash(first) == hash(LimitDecision(True, 1, 0.0, "api_key:k", "requests", first.lease))
    assert dataclasses.replace(first, remaining=9).remaining == 9
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.allowed = False  # type: ignore[misc]
    limiter.acquire_sync(scopes)
    denied = limiter.acquire_sync(scopes)
    assert denied == LimitDecision(False, 0, denied.retry_after, "api_key:k", "requests", None)
    assert denied.retry_after > 0
    assert repr(first.lease).startswith("Lease(entries=(")
    limiter.close()


async def test_inlined_memory_acquire_decides_as_acquire_entries() -> None:
    """``acquire``/``acquire_sync`` take a shortcut in memory; ``acquire_entries_sync`` does not."""
    clock_a, clock_b = Clock(1_700_000_000.0), Clock(1_700_000_000.0)
    options = {"slot_ttl_seconds": 30}
    fast, plain = create_limiter(options, clock=clock_a), create_limiter(options, clock=clock_b)
    outcomes = set()
    scopes = [Scope("api_key", "k", rpm=3, tpm=50, max_parallel=2), Scope("team", "t", rpm=4)]
    for i in range(24):
        tokens = (i * 7) % 20
        got = await fast.acquire(scopes, tokens=tokens) if i % 2 else fast.acquire_sync(scopes, tokens=tokens)
        want = plain.acquire_entries_sync(plain.entries_for(scopes), tokens)
        assert (got.allowed, got.remaining, got.retry_after, got.scope, got.metric) == (
            want.allowed,
            want.remaining,
            want.retry_after,
            want.scope,
            want.metric,
        )
        if want.lease is None:
            assert got.lease is None
        else:
            assert (got.lease.entries, got.lease.tokens, got.lease.window_starts, got.lease.backend) == (
                want.lease.entries,
                want.lease.tokens,
                want.lease.window_starts,
                want.lease.backend,
            )
            assert (got.lease.slot_id is None) == (want.lease.slot_id is None)
            if i % 3 != 2:  # most are released (refunded or reconciled), some keep their slot until the TTL
                used = None if i % 4 == 0 else tokens // 2
                fast.release_sync(got, used_tokens=used)
                plain.release_sync(want, used_tokens=used)
        outcomes.add(got.allowed)
        clock_a.now += 7.5
        clock_b.now += 7.5
    assert outcomes == {True, False}
    with pytest.raises(ValueError):
        fast.acquire_sync(scopes, tokens=-1)
    fast.close()
    plain.close()


def test_a_scope_list_resolves_to_the_entries_of_its_scopes() -> None:
    limiter = create_limiter(
        {"scopes": {"team:t": {"rpm": 3}}, "defaults": {"user": {"tpm": 100}}}, clock=Clock(1_700_000_000.0)
    )
    a = Scope("api_key", "k", rpm=2, tpm=10)
    items: list[Any] = [a, "team:t", "user:u", "custom:none"]
    expected = tuple(e for item in items for e in limiter.scope_entries(item))
    assert limiter.entries_for(items) == expected
    assert limiter.entries_for(items) == expected  # from the cache
    # An equal but distinct scope list resolves to the same entries; a changed limit does not.
    assert limiter.entries_for([Scope("api_key", "k", rpm=2, tpm=10), *items[1:]]) == expected
    changed = limiter.entries_for([Scope("api_key", "k", rpm=3, tpm=10), *items[1:]])
    assert changed != expected and changed[1].limit == 3
    with pytest.raises(ValueError):
        limiter.entries_for([a, "nokind"])
    with pytest.raises(TypeError):
        limiter.entries_for([a, ["team:t"]])  # type: ignore[list-item]
    limiter.close()


# -- Redis: packing and connection reuse ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("tokens", "slot_id", "ttl", "charge"),
    [(0, None, 0, True), (17, "ab12-3", 300.0, True), (5, None, 12.5, False), (10**12, "é-slot", 1, True)],
)
def test_packed_decide_is_what_redis_py_sends(tokens: int, slot_id: str | None, ttl: float, charge: bool) -> None:
    backend = RedisBackend("redis://127.0.0.1:1/0", key_prefix="{p}", timeout_seconds=0.05)
    entries = (
        *compile_scope(Scope("api_key", "k", rpm=5, tpm=1000, max_parallel=3), "gcra", "clock", 60.0),
        *compile_scope(Scope("team", "t", tpm=7), "sliding_window", "clock", 2.5),
        *compile_scope(Scope("user", "u", rpm=9), "fixed_window", "first_request", 60.0),
    )
    args = backend._decide_call(entries, tokens, slot_id, ttl, charge)
    expected = b"".join(redis.Connection().pack_command("EVALSHA", backend.decide_sha, *args))
    packed = backend._packed_decide(entries)
    assert packed.pack(tokens, slot_id, ttl, charge) == expected
    via_args = b"".join(
        redis.Connection().pack_command("EVALSHA", backend.decide_sha, *packed.args(tokens, slot_id, ttl, charge))
    )
    assert via_args == expected
    assert backend._packed_decide(entries) is packed  # built once per entries tuple


@pytest.mark.redis
async def test_async_connection_interrupted_by_a_timeout_is_not_reused(redis_server: Any, redis_url: str) -> None:
    limiter = create_limiter(
        {"redis_timeout_ms": 40, "failure_policy": "closed", "breaker_interval_seconds": 0.2}, redis_url=redis_url
    )
    warm = Scope("user", "stale-u", rpm=1000)
    assert (await limiter.acquire(warm)).allowed
    redis_server.proc.send_signal(signal.SIGSTOP)
    try:
        # Each of these writes an EVALSHA whose reply arrives only after the server resumes.
        decisions = await asyncio.gather(*(limiter.acquire(warm) for _ in range(8)))
        assert not any(d.allowed for d in decisions)
    finally:
        redis_server.proc.send_signal(signal.SIGCONT)
    await asyncio.sleep(0.3)  # past the breaker interval
    failures = limiter.metrics.counter_value("redis_failures")
    # A two-entry scope: a stale one-entry reply read on a reused connection could not pass for its reply.
    fresh = Scope("api_key", "stale-fresh", rpm=2, tpm=1000)
    got = [await limiter.acquire(fresh, tokens=10) for _ in range(3)]
    assert [d.allowed for d in got] == [True, True, False]
    assert all(d.lease.backend == "redis" for d in got[:2])
    assert got[2].scope == "api_key:stale-fresh" and got[2].metric == "requests"
    assert limiter.metrics.counter_value("redis_failures") == failures
    limiter.close()
