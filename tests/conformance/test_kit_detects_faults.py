"""The conformance kit fails implementations that break their contract (a kit that cannot fail would
prove nothing). Each faulty implementation below breaks one rule; the matching contract test must
raise ``AssertionError``."""

from __future__ import annotations

from collections import Counter
from typing import Any, ClassVar

import httpx
import pytest

from litellm_accel.contracts import UseStock
from litellm_accel.testing import (
    ConnectionPoolContract,
    RateLimiterContract,
    RoutingStrategyContract,
    TokenCounterContract,
    make_context,
)
from litellm_accel.testing.token_contract import stock_token_counter
from tests.conformance.builtin import builtin_class


def build(feature: str, cls: type, options: dict[str, Any] | None = None) -> Any:
    return cls(make_context(feature, cls, options))


# -- tokens ---------------------------------------------------------------------------------------
class OffByOneCounter:
    name: ClassVar[str] = "off-by-one"

    def __init__(self, context: Any) -> None:
        self._stock = stock_token_counter()

    def count(self, *args: Any, **kwargs: Any) -> int:
        return self._stock(*args, **kwargs) + (1 if kwargs.get("model") == "gpt-4" else 0)

    def close(self) -> None:
        pass


class ModelOnlyMemo(OffByOneCounter):
    """Remembers counts by model alone: right the first time, wrong once the messages change."""

    name: ClassVar[str] = "model-only-memo"

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.memo: dict[str, int] = {}

    def count(self, *args: Any, **kwargs: Any) -> int:
        model = kwargs.get("model", "")
        if model not in self.memo:
            self.memo[model] = self._stock(*args, **kwargs)
        return self.memo[model]


class AlwaysDelegates(OffByOneCounter):
    name: ClassVar[str] = "always-delegates"

    def count(self, *args: Any, **kwargs: Any) -> int:
        raise UseStock()


def test_kit_fails_a_wrong_count() -> None:
    with pytest.raises(AssertionError, match=r"mismatches with stock:\n.*\[gpt-4\]"):
        TokenCounterContract().test_counts_equal_stock_on_the_corpus(build("tokens", OffByOneCounter))


def test_kit_fails_a_memo_that_ignores_the_messages() -> None:
    with pytest.raises(AssertionError, match="after mutation"):
        TokenCounterContract().test_caller_mutations_are_counted_afresh(build("tokens", ModelOnlyMemo))


def test_kit_fails_an_implementation_that_only_delegates() -> None:
    with pytest.raises(AssertionError, match="answered only 0"):
        TokenCounterContract().test_counts_equal_stock_on_the_corpus(build("tokens", AlwaysDelegates))


def test_kit_fails_a_wrong_count_seen_only_through_the_host() -> None:
    with pytest.raises(AssertionError, match=r"gpt-4\]"):
        TokenCounterContract().test_installed_through_the_host_answers_like_stock(OffByOneCounter, {}, {})


# -- ratelimit --------------------------------------------------------------------------------------
class LeakyLimiter:
    """Charges scopes one by one (a later denial leaves earlier scopes charged) and never frees slots."""

    name: ClassVar[str] = "leaky"

    def __init__(self, context: Any) -> None:
        self.limits: dict[str, dict[str, int]] = context.options["scopes"]
        self.used: Counter[tuple[str, str]] = Counter()

    def acquire_sync(self, scopes: Any, *, tokens: int = 0) -> Any:
        from litellm_accel.contracts import LimitDecision

        for scope in reversed(list(scopes)):
            for metric, amount in (("rpm", 1), ("max_parallel", 1), ("tpm", tokens)):
                limit = self.limits[scope].get(metric)
                if limit is None:
                    continue
                if self.used[scope, metric] + amount > limit:
                    return LimitDecision(False, 0, 1.0, scope, metric)
                self.used[scope, metric] += amount
        return LimitDecision(True, 0, 0.0, lease=object())

    async def acquire(self, scopes: Any, *, tokens: int = 0) -> Any:
        return self.acquire_sync(scopes, tokens=tokens)

    def release_sync(self, lease: Any, *, used_tokens: int | None = None) -> None:
        pass

    async def release(self, lease: Any, *, used_tokens: int | None = None) -> None:
        pass

    def close(self) -> None:
        pass


class LeakyLimiterContract(RateLimiterContract):
    def limit_setup(self, limits: dict[str, dict[str, int]]) -> tuple[dict[str, Any], dict[str, Any]]:
        return {"scopes": limits}, {name: name for name in limits}


def leaky_factory(limits: dict[str, dict[str, int]]) -> tuple[Any, dict[str, Any]]:
    options, scopes = LeakyLimiterContract().limit_setup(limits)
    return build("ratelimit", LeakyLimiter, options), scopes


def test_kit_fails_a_limiter_that_charges_on_denial() -> None:
    with pytest.raises(AssertionError, match="were charged to 'wide'"):
        LeakyLimiterContract().test_denied_request_charges_no_scope(leaky_factory)


def test_kit_fails_a_limiter_that_never_frees_slots() -> None:
    with pytest.raises(AssertionError, match="slots granted"):
        LeakyLimiterContract().test_concurrency_slots_exact_and_released(leaky_factory)


def test_kit_passes_the_leaky_limiter_where_it_is_right() -> None:
    # Sequential rpm counting is all this limiter gets right; the kit must not flag it there.
    LeakyLimiterContract().test_requests_exact_under_asyncio_concurrency(leaky_factory)


# -- pool -------------------------------------------------------------------------------------------
class UnsharedPool:
    """Hands out independent clients: each opens its own connections."""

    name: ClassVar[str] = "unshared"

    def __init__(self, context: Any) -> None:
        pass

    def sync_client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(trust_env=False, **kwargs)

    def async_client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(trust_env=False, **kwargs)

    def close(self) -> None:
        pass


def test_kit_fails_a_pool_that_shares_nothing() -> None:
    from litellm_accel.fakeserver import FakeOpenAIServer

    server = FakeOpenAIServer()
    server.start_in_thread()
    try:
        with pytest.raises(AssertionError, match="clients do not share a pool"):
            ConnectionPoolContract().test_sync_clients_work_and_share_connections(build("pool", UnsharedPool), server)
    finally:
        server.stop()


# -- routing ----------------------------------------------------------------------------------------
def test_kit_fails_routing_that_ignores_cooldowns() -> None:
    builtin = builtin_class("routing")

    class CooldownBlind(builtin):  # type: ignore[misc, valid-type]
        """The built-in strategy, except that every pick returns the group's first deployment."""

        name: ClassVar[str] = "cooldown-blind"

        def get_available_deployment(self, core: Any, model: str, *args: Any, **kwargs: Any) -> Any:
            return core.registry().deployments(model)[0]

        async def select(self, core: Any, model: str, *args: Any, **kwargs: Any) -> Any:
            return core.registry().deployments(model)[0]

    with pytest.raises(AssertionError, match="include blocked"):
        RoutingStrategyContract().test_never_picks_cooled_down_or_over_limit_deployments(
            "simple-shuffle", CooldownBlind, {}, {}
        )
