"""In-memory backend: window timing on an injectable clock, exactness under threads and tasks, TPM
reserve/reconcile/release, concurrency slots always released, expired slots reclaimed."""

from __future__ import annotations

import asyncio
import threading

import pytest

from litellm_accel_ratelimit import RateLimitExceeded, Scope, create_limiter


class Clock:
    def __init__(self, start: float = 1_700_000_010.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def admitted(limiter, scopes, n: int, tokens: int = 0) -> list[bool]:
    return [limiter.acquire_sync(scopes, tokens=tokens).allowed for _ in range(n)]


@pytest.mark.parametrize("algorithm", ["gcra", "sliding_window", "fixed_window"])
def test_burst_admits_exactly_the_limit(algorithm: str) -> None:
    limiter = create_limiter({"algorithm": algorithm}, clock=Clock(1_700_000_000.0))
    scope = Scope("api_key", "k", rpm=7)
    assert admitted(limiter, scope, 12) == [True] * 7 + [False] * 5


def test_gcra_refills_one_request_per_interval() -> None:
    clock = Clock()
    limiter = create_limiter({"algorithm": "gcra"}, clock=clock)
    scope = Scope("user", "u", rpm=6)  # one request per 10 s, burst of 6
    assert admitted(limiter, scope, 7) == [True] * 6 + [False]
    denied = limiter.acquire_sync(scope)
    assert denied.retry_after == pytest.approx(10.0)
    clock.now += 9.9
    assert not limiter.acquire_sync(scope).allowed
    clock.now += 0.1
    assert admitted(limiter, scope, 2) == [True, False]
    clock.now += 60
    assert admitted(limiter, scope, 7) == [True] * 6 + [False]


def test_fixed_window_on_clock_multiples_resumes_at_the_boundary() -> None:
    clock = Clock(1_700_000_040.0)  # 40 s into a minute (1_700_000_000 is a multiple of 60 + 20)
    limiter = create_limiter({"algorithm": "fixed_window"}, clock=clock)
    scope = Scope("team", "t", rpm=3)
    boundary = (clock.now // 60 + 1) * 60
    assert admitted(limiter, scope, 4) == [True, True, True, False]
    assert limiter.acquire_sync(scope).retry_after == pytest.approx(boundary - clock.now)
    clock.now = boundary - 0.001
    assert not limiter.acquire_sync(scope).allowed
    clock.now = boundary
    assert admitted(limiter, scope, 4) == [True, True, True, False]


def test_fixed_window_from_first_request() -> None:
    clock = Clock(1_700_000_007.0)
    limiter = create_limiter({"algorithm": "fixed_window", "window_alignment": "first_request"}, clock=clock)
    scope = Scope("team", "t", rpm=2)
    assert admitted(limiter, scope, 3) == [True, True, False]
    clock.now += 59.5
    assert not limiter.acquire_sync(scope).allowed
    clock.now += 0.5
    assert admitted(limiter, scope, 3) == [True, True, False]


def test_sliding_window_weights_the_previous_window() -> None:
    clock = Clock(1_700_000_040.0)
    limiter = create_limiter({"algorithm": "sliding_window"}, clock=clock)
    scope = Scope("custom", "job", rpm=10)
    assert admitted(limiter, scope, 11) == [True] * 10 + [False]
    boundary = (clock.now // 60 + 1) * 60
    clock.now = boundary + 15  # previous window (10 requests) still weighs 45/60 -> 7.5
    assert admitted(limiter, scope, 3) == [True, True, False]
    clock.now = boundary + 60 + 59  # one minute later, the last window weighs 1/60 of 2
    assert admitted(limiter, scope, 10) == [True] * 9 + [False]


def test_window_length_is_an_option() -> None:
    clock = Clock(1_700_000_000.0)
    limiter = create_limiter({"algorithm": "fixed_window", "window_seconds": 1}, clock=clock)
    scope = Scope("api_key", "k", rpm=2)
    assert admitted(limiter, scope, 3) == [True, True, False]
    clock.now += 1
    assert admitted(limiter, scope, 3) == [True, True, False]


def test_all_or_nothing_across_scopes() -> None:
    limiter = create_limiter({"algorithm": "fixed_window"}, clock=Clock(1_700_000_000.0))
    key, user = Scope("api_key", "k", rpm=2), Scope("user", "u", rpm=3)
    assert admitted(limiter, [key, user], 3) == [True, True, False]
    denied = limiter.acquire_sync([key, user])
    assert (denied.scope, denied.metric) == ("api_key:k", "requests")
    # The denied requests consumed nothing from the user's limit.
    assert admitted(limiter, [Scope("api_key", "other", rpm=5), user], 2) == [True, False]


def test_tpm_reserve_reconcile_and_refund() -> None:
    limiter = create_limiter({"algorithm": "fixed_window"}, clock=Clock(1_700_000_000.0))
    scope = Scope("team", "t", tpm=1000)
    first = limiter.acquire_sync(scope, tokens=600)
    assert first.allowed and first.remaining == 400
    assert not limiter.acquire_sync(scope, tokens=500).allowed
    limiter.release_sync(first, used_tokens=100)  # reconcile: 500 tokens come back
    second = limiter.acquire_sync(scope, tokens=500)
    assert second.allowed and second.remaining == 400
    limiter.release_sync(second, used_tokens=None)  # failure: the whole reservation comes back
    limiter.release_sync(second, used_tokens=None)  # idempotent
    assert limiter.acquire_sync(scope, tokens=900).allowed
    # A request reserving nothing is still denied once the tokens are used up.
    limiter.record_usage_sync(scope, 100)
    assert not limiter.acquire_sync(scope).allowed


def test_tokens_above_the_limit_are_never_admitted() -> None:
    limiter = create_limiter({}, clock=Clock())
    decision = limiter.acquire_sync(Scope("user", "u", tpm=100), tokens=101)
    assert not decision.allowed and decision.metric == "tokens" and decision.retry_after == 60


def test_configured_scope_keys_and_kind_defaults() -> None:
    limiter = create_limiter(
        {"algorithm": "fixed_window", "scopes": {"team:acme": {"rpm": 2}}, "defaults": {"user": {"rpm": 1}}},
        clock=Clock(1_700_000_000.0),
    )
    assert admitted(limiter, ["team:acme"], 3) == [True, True, False]
    assert admitted(limiter, ["user:a", "user:b"], 2) == [True, False]
    assert admitted(limiter, ["team:unconfigured"], 5) == [True] * 5


def test_exact_under_threads() -> None:
    limiter = create_limiter({"algorithm": "gcra", "window_seconds": 3600})  # no refill during the test
    scope = [Scope("api_key", "k", rpm=137), Scope("team", "t", rpm=10_000, max_parallel=1000)]
    results: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        local = [limiter.acquire_sync(scope).allowed for _ in range(50)]
        with lock:
            results.extend(local)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 400 and sum(results) == 137


async def test_exact_under_tasks() -> None:
    limiter = create_limiter({"algorithm": "sliding_window", "window_seconds": 3600})
    scope = Scope("model_group", "gpt-4o", rpm=3600 * 24, tpm=5000)

    async def one() -> bool:
        await asyncio.sleep(0)
        return (await limiter.acquire(scope, tokens=10)).allowed

    results = await asyncio.gather(*(one() for _ in range(700)))
    assert sum(results) == 500


async def test_slot_releases_on_success_exception_and_cancellation() -> None:
    limiter = create_limiter({})
    scope = Scope("api_key", "k", max_parallel=2)
    async with limiter.slot(scope), limiter.slot(scope):
        with pytest.raises(RateLimitExceeded) as denied:
            async with limiter.slot(scope):
                pass
        assert denied.value.decision.metric == "concurrency"
    with pytest.raises(ValueError):
        async with limiter.slot(scope):
            raise ValueError("boom")
    started = asyncio.Event()

    async def hold() -> None:
        async with limiter.slot(scope):
            started.set()
            await asyncio.sleep(60)

    tasks = [asyncio.create_task(hold()) for _ in range(2)]
    await started.wait()
    await asyncio.sleep(0)
    assert not (await limiter.acquire(scope)).allowed
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    first, second = await limiter.acquire(scope), await limiter.acquire(scope)
    assert first.allowed and second.allowed


def test_slot_sync_refunds_tokens_on_exception_and_reconciles_on_success() -> None:
    limiter = create_limiter({"algorithm": "fixed_window"}, clock=Clock(1_700_000_000.0))
    scope = Scope("user", "u", tpm=100, max_parallel=1)
    with pytest.raises(RuntimeError), limiter.slot_sync(scope, tokens=80):
        raise RuntimeError
    with limiter.slot_sync(scope, tokens=80) as lease:
        lease.used_tokens = 30
    assert limiter.acquire_sync(scope, tokens=70).allowed
    assert not limiter.acquire_sync(Scope("user", "u", tpm=100), tokens=1).allowed


def test_unreleased_slots_expire_after_their_ttl() -> None:
    clock = Clock()
    limiter = create_limiter({"slot_ttl_seconds": 30}, clock=clock)
    scope = Scope("deployment", "d1", max_parallel=1)
    assert limiter.acquire_sync(scope).allowed  # never released: the holder crashed
    assert not limiter.acquire_sync(scope).allowed
    clock.now += 30.001
    assert limiter.acquire_sync(scope).allowed


def test_negative_token_reservations_are_refused() -> None:
    limiter = create_limiter({})
    with pytest.raises(ValueError, match="tokens must be >= 0"):
        limiter.acquire_sync(Scope("user", "u", tpm=10), tokens=-1)


def test_peek_charges_nothing_and_peek_each_reports_per_scope() -> None:
    limiter = create_limiter({"algorithm": "fixed_window"}, clock=Clock(1_700_000_000.0))
    full, free = Scope("deployment", "a", rpm=1), Scope("deployment", "b", rpm=1)
    assert limiter.acquire_sync(full).allowed
    assert not limiter.peek_sync(full).allowed
    assert limiter.peek_sync(free).allowed and limiter.peek_sync(free).allowed  # peeking twice is free
    verdicts = asyncio.run(limiter.peek_each([full, free]))
    assert [v[0] for v in verdicts] == [False, True] and verdicts[0][2] == "requests"
    assert limiter.acquire_sync(free).allowed
