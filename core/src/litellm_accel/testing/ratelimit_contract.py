"""Conformance tests for :class:`litellm_accel.contracts.RateLimiter` implementations."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest

from litellm_accel.contracts import LimitDecision, RateLimiter
from litellm_accel.testing.base import ContractBase
from litellm_accel.testing.harness import make_context

#: ``{logical scope name: {"rpm"|"tpm"|"max_parallel": limit}}``
Limits = dict[str, dict[str, int]]
LimiterFactory = Callable[[Limits], tuple[Any, dict[str, Any]]]


class RateLimiterContract(ContractBase):
    """Subclass as ``class TestMyLimiter(RateLimiterContract)`` with an ``implementation_class`` fixture
    and a :meth:`limit_setup` override that tells the kit how to configure limits for your limiter.

    Checks that decisions are exact under concurrency: N concurrent requests against a limit L admit
    exactly L (threads and asyncio), concurrency slots are exact and come back on release, a request
    denied by one scope charges no other scope, and released token reservations are reconciled.
    Windows must be long enough (the kit asks for limits per window and runs in well under a second).
    """

    feature: ClassVar[str] = "ratelimit"
    threads: ClassVar[int] = 4

    def limit_setup(self, limits: Limits) -> tuple[dict[str, Any], dict[str, Any]]:
        """Return ``(options, scopes)``: the feature options configuring ``limits`` (use a window of an
        hour or more), and for each logical scope name the value to pass in ``acquire(scopes=[...])``."""
        raise NotImplementedError(
            f"{type(self).__name__} must override limit_setup(limits) -> (options, scopes) "
            "(see docs/writing-a-plugin.md)"
        )

    @pytest.fixture
    def limiter_factory(self, implementation_class: type, accel_settings: dict[str, Any]) -> Iterator[LimiterFactory]:
        """``limiter_factory(limits) -> (limiter, scopes)``; every limiter is closed afterwards."""
        made: list[Any] = []

        def build(limits: Limits) -> tuple[Any, dict[str, Any]]:
            options, scopes = self.limit_setup(limits)
            limiter = implementation_class(make_context(self.feature, implementation_class, options, **accel_settings))
            made.append(limiter)
            return limiter, scopes

        yield build
        for limiter in made:
            limiter.close()

    @pytest.fixture
    def implementation(self, limiter_factory: LimiterFactory) -> Any:
        return limiter_factory({"probe": {"rpm": 1000}})[0]

    def test_meets_the_protocol(self, implementation: Any) -> None:
        assert isinstance(implementation, RateLimiter)

    def test_requests_exact_under_thread_concurrency(self, limiter_factory: LimiterFactory) -> None:
        limiter, scopes = limiter_factory({"a": {"rpm": 25}})
        decisions: list[LimitDecision] = []
        lock = threading.Lock()

        def worker() -> None:
            for _ in range(20):
                decision = limiter.acquire_sync([scopes["a"]])
                with lock:
                    decisions.append(decision)

        threads = [threading.Thread(target=worker) for _ in range(self.threads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        allowed = [d for d in decisions if d.allowed]
        assert len(decisions) == 20 * self.threads
        assert len(allowed) == 25, f"{len(allowed)} of {len(decisions)} admitted against rpm=25"
        denied = [d for d in decisions if not d.allowed]
        assert all(d.retry_after > 0 for d in denied), "a denied decision must say when to retry"
        assert all(d.retry_after == 0 for d in allowed), "an admitted decision has retry_after 0"

    def test_requests_exact_under_asyncio_concurrency(self, limiter_factory: LimiterFactory) -> None:
        limiter, scopes = limiter_factory({"a": {"rpm": 30}})

        async def burst() -> list[LimitDecision]:
            return list(await asyncio.gather(*(limiter.acquire([scopes["a"]]) for _ in range(90))))

        decisions = asyncio.run(burst())
        allowed = sum(d.allowed for d in decisions)
        assert allowed == 30, f"{allowed} of {len(decisions)} admitted against rpm=30"

    def test_concurrency_slots_exact_and_released(self, limiter_factory: LimiterFactory) -> None:
        limiter, scopes = limiter_factory({"a": {"max_parallel": 4}})

        async def scenario() -> tuple[int, int, int]:
            first = await asyncio.gather(*(limiter.acquire([scopes["a"]]) for _ in range(30)))
            held = [d for d in first if d.allowed]
            blocked = await limiter.acquire([scopes["a"]])
            for decision in held:
                await limiter.release(decision.lease)
            second = await asyncio.gather(*(limiter.acquire([scopes["a"]]) for _ in range(30)))
            again = [d for d in second if d.allowed]
            for decision in again:
                await limiter.release(decision.lease)
            return len(held), int(blocked.allowed), len(again)

        held, blocked_allowed, again = asyncio.run(scenario())
        assert held == 4, f"{held} slots granted for max_parallel=4"
        assert blocked_allowed == 0, "a fifth concurrent request was admitted"
        assert again == 4, f"after release, {again} slots granted (expected all 4 back)"

    def test_sync_slots_are_released(self, limiter_factory: LimiterFactory) -> None:
        limiter, scopes = limiter_factory({"a": {"max_parallel": 2}})
        for _ in range(5):  # five rounds of take-two-release-two: a leaked slot would deny a round
            taken = [limiter.acquire_sync([scopes["a"]]) for _ in range(3)]
            assert [d.allowed for d in taken] == [True, True, False]
            for decision in taken[:2]:
                limiter.release_sync(decision.lease)

    def test_denied_request_charges_no_scope(self, limiter_factory: LimiterFactory) -> None:
        limiter, scopes = limiter_factory({"tight": {"rpm": 5}, "wide": {"rpm": 12}})
        both = [limiter.acquire_sync([scopes["tight"], scopes["wide"]]) for _ in range(20)]
        assert sum(d.allowed for d in both) == 5, [d.allowed for d in both]
        wide_only = [limiter.acquire_sync([scopes["wide"]]) for _ in range(20)]
        assert sum(d.allowed for d in wide_only) == 7, "requests denied by 'tight' were charged to 'wide'"

    def test_token_reservations_are_reconciled(self, limiter_factory: LimiterFactory) -> None:
        limiter, scopes = limiter_factory({"a": {"tpm": 100}})
        first = limiter.acquire_sync([scopes["a"]], tokens=60)
        assert first.allowed
        assert not limiter.acquire_sync([scopes["a"]], tokens=60).allowed, "120 tokens admitted against tpm=100"
        limiter.release_sync(first.lease, used_tokens=10)  # the request really used 10 tokens
        assert limiter.acquire_sync([scopes["a"]], tokens=60).allowed, "the unused reservation was not refunded"
        assert not limiter.acquire_sync([scopes["a"]], tokens=40).allowed, "110 tokens admitted against tpm=100"
