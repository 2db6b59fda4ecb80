"""Feature flags, the error budget and the guard, driven with real callables."""

from __future__ import annotations

import asyncio
import statistics

import pytest

from litellm_accel.breaker import CLOSED, HALF_OPEN, OPEN, ErrorBudgetBreaker
from litellm_accel.contracts import UseStock
from litellm_accel.errors import ConfigError
from litellm_accel.flags import ACCEL, SHADOW, STOCK, FeatureFlag, bucket_of
from litellm_accel.guard import Guard
from litellm_accel.histogram import Histogram
from litellm_accel.metrics import FeatureMetrics
from litellm_accel.settings import ErrorBudget


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def stock_len(text: str) -> int:
    return len(text)


def accel_len(text: str) -> int:
    return len(text)


def make_guard(state: str = "on", percent: float = 100.0, clock: Clock | None = None, **budget) -> Guard:
    flag = FeatureFlag("tokens", state, percent)
    return Guard(
        "tokens", "impl", flag, FeatureMetrics("tokens", "impl"), ErrorBudget(**budget), clock=clock or Clock()
    )


# -- flags -------------------------------------------------------------------------------------------
def test_flag_states_route_calls() -> None:
    assert FeatureFlag("f", "on").route("k") == ACCEL
    assert FeatureFlag("f", "off").route("k") == STOCK
    assert FeatureFlag("f", "shadow").route("k") == SHADOW


def test_canary_bucketing_is_deterministic_per_key() -> None:
    flag = FeatureFlag("f", "canary", 30)
    keys = [f"user-{i}" for i in range(2000)]
    first = [flag.route(k) for k in keys]
    assert first == [flag.route(k) for k in keys]
    share = first.count(ACCEL) / len(keys)
    assert 0.25 < share < 0.35
    for key, route in zip(keys, first, strict=True):
        assert (route == ACCEL) == (bucket_of(key) < 30)


def test_canary_without_key_is_random_with_the_right_share() -> None:
    flag = FeatureFlag("f", "canary", 20)
    routes = [flag.route(None) for _ in range(5000)]
    assert 0.16 < routes.count(ACCEL) / len(routes) < 0.24


def test_canary_edges() -> None:
    assert {FeatureFlag("f", "canary", 0).route(f"k{i}") for i in range(200)} == {STOCK}
    assert {FeatureFlag("f", "canary", 100).route(f"k{i}") for i in range(200)} == {ACCEL}


@pytest.mark.parametrize(("state", "percent"), [("maybe", None), ("on", -1), ("on", 101), ("on", "x")])
def test_invalid_flag_values_are_readable_errors(state: str, percent) -> None:
    flag = FeatureFlag("tokens")
    with pytest.raises(ConfigError) as err:
        flag.set(state, percent)
    assert "tokens" in str(err.value)


# -- error budget ------------------------------------------------------------------------------------
def test_breaker_trips_after_budget_and_recovers_half_open() -> None:
    clock = Clock()
    breaker = ErrorBudgetBreaker(3, 10.0, 5.0, clock=clock)
    assert not breaker.record_error() and not breaker.record_error()
    assert breaker.record_error()
    assert breaker.state == OPEN and not breaker.allow()
    clock.now += 5.1
    assert breaker.allow() and breaker.state == HALF_OPEN
    assert not breaker.allow()  # only one trial at a time
    breaker.record_success()
    assert breaker.state == CLOSED and breaker.allow()


def test_breaker_errors_outside_window_do_not_count() -> None:
    clock = Clock()
    breaker = ErrorBudgetBreaker(3, 10.0, 5.0, clock=clock)
    breaker.record_error()
    breaker.record_error()
    clock.now += 11
    assert not breaker.record_error()
    assert breaker.state == CLOSED


def test_breaker_failed_trial_reopens() -> None:
    clock = Clock()
    breaker = ErrorBudgetBreaker(1, 10.0, 5.0, clock=clock)
    breaker.record_error()
    clock.now += 6
    assert breaker.allow()
    assert breaker.record_error()
    assert breaker.state == OPEN and not breaker.allow()
    assert breaker.trips == 2


# -- guard -------------------------------------------------------------------------------------------
def test_guard_on_serves_accelerated_and_counts() -> None:
    guard = make_guard()
    calls = []

    def accel(text: str) -> int:
        calls.append(text)
        return len(text)

    fn = guard.wrap(accel, stock_len)
    assert fn("hello") == 5
    assert calls == ["hello"]
    assert guard.metrics.accelerated == 1 and guard.metrics.calls == 1
    assert guard.metrics.latency.count == 1
    assert fn.__wrapped__ is stock_len and fn.__name__ == "stock_len"


def test_guard_falls_back_to_stock_and_counts_error() -> None:
    guard = make_guard()

    def broken(text: str) -> int:
        raise RuntimeError("boom")

    fn = guard.wrap(broken, stock_len)
    assert fn("hello") == 5
    m = guard.metrics
    assert m.errors == 1 and m.fallbacks == 1 and "boom" in (m.last_error or "")


def test_guard_stock_exception_reaches_caller_unchanged() -> None:
    guard = make_guard()

    def broken(text):
        raise RuntimeError("accelerator bug")

    def stock(text):
        raise TypeError("bad input")

    with pytest.raises(TypeError, match="bad input"):
        guard.wrap(broken, stock)(None)


def test_guard_use_stock_is_delegation_not_error() -> None:
    guard = make_guard(max_errors=1)

    def delegating(text: str) -> int:
        raise UseStock()

    fn = guard.wrap(delegating, stock_len)
    for _ in range(5):
        assert fn("abc") == 3
    assert guard.metrics.delegated == 5 and guard.metrics.errors == 0
    assert guard.breaker.state == CLOSED


def test_guard_error_budget_trips_to_stock_then_recovers() -> None:
    clock = Clock()
    guard = make_guard(clock=clock, max_errors=2, window_seconds=60, cooldown_seconds=30)
    behaviour = {"fail": True}
    accel_calls = []

    def flaky(text: str) -> int:
        accel_calls.append(text)
        if behaviour["fail"]:
            raise RuntimeError("flaky")
        return len(text)

    fn = guard.wrap(flaky, stock_len)
    fn("a")
    fn("b")
    assert guard.breaker.state == OPEN and guard.metrics.breaker_trips == 1
    for _ in range(10):
        assert fn("cc") == 2
    assert len(accel_calls) == 2  # tripped: the implementation is not called
    assert guard.metrics.stock == 10
    clock.now += 31
    behaviour["fail"] = False
    assert fn("ddd") == 3  # half-open trial succeeds
    assert guard.breaker.state == CLOSED and guard.fast
    assert len(accel_calls) == 3


def test_guard_off_never_calls_implementation() -> None:
    guard = make_guard("off")

    def never(text: str) -> int:
        raise AssertionError("must not run")

    assert guard.wrap(never, stock_len)("abcd") == 4
    assert guard.metrics.stock == 1


def test_guard_shadow_returns_stock_and_records_mismatch() -> None:
    guard = make_guard("shadow")
    fn = guard.wrap(lambda text: len(text) + 1, stock_len)
    assert fn("abc") == 3
    m = guard.metrics
    assert m.shadow_runs == 1 and m.shadow_mismatches == 1
    assert "accelerated=4" in (m.last_mismatch or "") and "stock=3" in (m.last_mismatch or "")
    assert m.latency.count == 1 and m.stock_latency.count == 1


def test_guard_shadow_matching_results_record_no_mismatch() -> None:
    guard = make_guard("shadow")
    fn = guard.wrap(accel_len, stock_len)
    for text in ["", "a", "abc" * 10]:
        assert fn(text) == len(text)
    assert guard.metrics.shadow_runs == 3 and guard.metrics.shadow_mismatches == 0


def test_guard_shadow_same_exception_type_is_a_match() -> None:
    guard = make_guard("shadow")

    def raises(text):
        raise ValueError(text)

    with pytest.raises(ValueError):
        guard.wrap(raises, raises)("x")
    assert guard.metrics.shadow_mismatches == 0


def test_guard_canary_uses_request_key() -> None:
    guard = make_guard("canary", 50)
    served = []

    def accel(text: str) -> int:
        served.append(text)
        return len(text)

    fn = guard.wrap(accel, stock_len, key=lambda args, kwargs: args[0])
    keys = [f"req-{i}" for i in range(400)]
    for key in keys:
        fn(key)
    assert set(served) == {k for k in keys if bucket_of(k) < 50}


def test_flag_change_at_run_time_takes_effect() -> None:
    guard = make_guard("on")
    fn = guard.wrap(accel_len, stock_len)
    fn("a")
    guard.flag.set("off")
    fn("a")
    guard.flag.set("on")
    fn("a")
    assert guard.metrics.accelerated == 2 and guard.metrics.stock == 1


async def test_async_guard_fallback_and_shadow() -> None:
    guard = make_guard()

    async def broken(x: int) -> int:
        raise RuntimeError("async boom")

    async def stock(x: int) -> int:
        await asyncio.sleep(0)
        return x * 2

    fn = guard.wrap_async(broken, stock)
    assert await fn(4) == 8
    assert guard.metrics.errors == 1
    guard.flag.set("shadow")

    async def off_by_one(x: int) -> int:
        return x * 2 + 1

    assert await guard.wrap_async(off_by_one, stock)(5) == 10
    assert guard.metrics.shadow_mismatches == 1


async def test_async_guard_does_not_swallow_cancellation() -> None:
    guard = make_guard()

    async def slow(x: int) -> int:
        await asyncio.sleep(10)
        return x

    async def stock(x: int) -> int:
        raise AssertionError("stock must not run on cancellation")

    task = asyncio.ensure_future(guard.wrap_async(slow, stock)(1))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert guard.metrics.errors == 0


def test_histogram_percentiles_are_close() -> None:
    hist = Histogram()
    values = [1000 + 37 * i for i in range(1000)]
    for v in values:
        hist.record(v)
    for q in (50, 95, 99):
        true = statistics.quantiles(values, n=100)[q - 1]
        approx = hist.percentile(q)
        assert approx is not None and abs(approx - true) / true < 0.2
    assert Histogram().percentile(50) is None


class Denied(Exception):
    """An exception that is an implementation's answer (like a rate limiter's RateLimitError)."""


def test_guard_answers_pass_through_as_accelerated_results() -> None:
    guard = make_guard(max_errors=1)
    stock_calls = []

    def deny(text: str) -> int:
        raise Denied(text)

    def stock(text: str) -> int:
        stock_calls.append(text)
        return len(text)

    fn = guard.wrap(deny, stock, answers=(Denied,))
    for _ in range(3):
        with pytest.raises(Denied, match="no"):
            fn("no")
    m = guard.metrics
    assert stock_calls == [] and m.accelerated == 3 and m.errors == 0 and m.fallbacks == 0
    assert guard.breaker.state == CLOSED and m.latency.count == 3
    # without `answers` the same exception is an implementation error answered by stock
    assert guard.wrap(deny, stock)("no") == 2 and m.errors == 1 and stock_calls == ["no"]


def test_guard_answers_in_shadow_mode_compare_by_type() -> None:
    guard = make_guard("shadow")

    def deny(text: str) -> int:
        raise Denied(text)

    with pytest.raises(Denied):
        guard.wrap(deny, deny, answers=(Denied,))("x")
    assert guard.metrics.shadow_mismatches == 0
    assert guard.wrap(deny, stock_len, answers=(Denied,))("abc") == 3  # stock admits, accelerated denies
    assert guard.metrics.shadow_mismatches == 1 and guard.metrics.errors == 0


async def test_async_guard_answers_pass_through() -> None:
    guard = make_guard()

    async def deny(x: int) -> int:
        raise Denied(str(x))

    async def stock(x: int) -> int:
        raise AssertionError("stock must not answer")

    with pytest.raises(Denied):
        await guard.wrap_async(deny, stock, answers=(Denied,))(1)
    guard.flag.set("canary", 100)  # slow path
    with pytest.raises(Denied):
        await guard.wrap_async(deny, stock, answers=(Denied,))(2)
    assert guard.metrics.accelerated == 2 and guard.metrics.errors == 0
