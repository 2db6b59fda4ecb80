"""Conformance tests for :class:`litellm_accel.contracts.RoutingStrategy` implementations.

Routing implementations are bound into ``litellm.Router`` by the host's routing attachment (which may
need more of the implementation than the Protocol's methods), so these tests install the
implementation through the real host and drive a real ``litellm.Router``: real failures (litellm's
``mock_response`` errors) put deployments into stock's cooldown, and real traffic uses up a deployment's
``rpm``. The implementation must then never pick a cooled-down or over-limit deployment.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timezone
from typing import Any, ClassVar

import pytest

from litellm_accel.contracts import RoutingStrategy
from litellm_accel.testing.base import ContractBase
from litellm_accel.testing.harness import installed

GROUP = "conformance-group"
MESSAGES = [{"role": "user", "content": "route me"}]
#: Strategies whose stock picks skip deployments that used up their rpm/tpm in the current minute.
USAGE_STRATEGIES = ("usage-based-routing-v2",)


def utc_minute() -> str:
    """The minute litellm's usage-based routing counts rpm in (UTC, ``%H-%M``)."""
    return datetime.now(timezone.utc).strftime("%H-%M")


def deployment_id(deployment: Any) -> str:
    return str(deployment["model_info"]["id"])


class RouterScenario:
    """A router over six deployments of one group: two that fail (and are cooled down by stock after
    their first failure), one with ``rpm: 1`` under usage-based strategies (over its limit after one
    request), and three healthy ones."""

    failing = ("deployment-0", "deployment-1")
    limited = "deployment-2"

    def __init__(self, strategy: str) -> None:
        from litellm import Router

        self.strategy = strategy
        model_list = []
        for index in range(6):
            params: dict[str, Any] = {"model": "openai/gpt-4o", "api_key": "sk-conformance", "mock_response": "ok"}
            if f"deployment-{index}" in self.failing:
                params["mock_response"] = "litellm.InternalServerError"
            if strategy in USAGE_STRATEGIES and f"deployment-{index}" == self.limited:
                params["rpm"] = 1
            model_list.append(
                {"model_name": GROUP, "litellm_params": params, "model_info": {"id": f"deployment-{index}"}}
            )
        self.all_ids = {d["model_info"]["id"] for d in model_list}
        self.router = Router(
            model_list=model_list, routing_strategy=strategy, allowed_fails=0, num_retries=0, cooldown_time=600
        )
        self.served: Counter[str] = Counter()

    def warm_up(self, max_calls: int = 500) -> None:
        """Send requests until every failing deployment is cooled down (100 successes in a row: a
        failing deployment still in rotation would be picked among them with odds above 1 - 1e-7) and,
        under usage strategies, the limited deployment has used its rpm."""
        streak = 0
        for _ in range(max_calls):
            try:
                response = self.router.completion(model=GROUP, messages=MESSAGES)
            except Exception:
                streak = 0
                continue
            streak += 1
            self.served[str(response._hidden_params.get("model_id"))] += 1
            limited_done = self.strategy not in USAGE_STRATEGIES or self.served[self.limited] >= 1
            if streak >= 100 and limited_done:
                return
        raise AssertionError(
            f"scenario setup: traffic did not settle in {max_calls} calls (served {dict(self.served)})"
        )

    @property
    def ineligible(self) -> set[str]:
        blocked = set(self.failing)
        if self.strategy in USAGE_STRATEGIES:
            blocked.add(self.limited)
        return blocked

    def close(self) -> None:
        """Retire the router: litellm 1.110 keeps per-process state for usage-based routers, and a
        live earlier router makes a later one's warm-up fail (stock behaviour, without litellm-accel)."""
        retire = getattr(self.router, "retire", None)
        if retire is not None:
            try:
                retire()
            except Exception:
                pass

    def picks(self, count: int) -> Counter[str]:
        return Counter(
            deployment_id(self.router.get_available_deployment(GROUP, messages=MESSAGES)) for _ in range(count)
        )

    def async_picks(self, count: int) -> Counter[str]:
        async def run() -> Counter[str]:
            found: Counter[str] = Counter()
            for _ in range(count):
                found[deployment_id(await self.router.select(GROUP, {}, messages=MESSAGES))] += 1
            return found

        return asyncio.run(run())


class RoutingStrategyContract(ContractBase):
    """Subclass as ``class TestMyRouting(RoutingStrategyContract)`` with an ``implementation_class``
    fixture; set ``routing_strategies`` to the stock strategies your implementation serves.

    For each strategy: stock's own picks are checked first (so a scenario that does not match stock's
    rules fails as a setup error), then the implementation's sync and async picks through the host must
    avoid every cooled-down and over-limit deployment, the implementation must have answered picks
    itself (not only delegated), and under ``simple-shuffle`` every eligible deployment must be picked.
    """

    feature: ClassVar[str] = "routing"
    routing_strategies: ClassVar[tuple[str, ...]] = ("simple-shuffle", "usage-based-routing-v2")
    #: Strategies under which every eligible deployment must show up in a few hundred picks.
    spreading_strategies: ClassVar[tuple[str, ...]] = ("simple-shuffle",)
    picks: ClassVar[int] = 200

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "routing_strategy" in metafunc.fixturenames:
            metafunc.parametrize("routing_strategy", self.routing_strategies)

    def test_meets_the_protocol(self, implementation: Any) -> None:
        assert isinstance(implementation, RoutingStrategy)

    def test_never_picks_cooled_down_or_over_limit_deployments(
        self,
        routing_strategy: str,
        implementation_class: type,
        implementation_options: dict[str, Any],
        accel_settings: dict[str, Any],
    ) -> None:
        from litellm_accel.metrics import REGISTRY
        from litellm_accel.runtime import set_flag

        with installed(self.feature, implementation_class, implementation_options, **accel_settings):
            metrics = REGISTRY.get(self.feature)
            assert metrics is not None
            for _attempt in range(3):
                # Usage-based strategies count rpm per UTC minute: a run that crosses a minute boundary
                # starts the limited deployment afresh, so it is repeated on a new router.
                minute = utc_minute()
                scenario = RouterScenario(routing_strategy)
                try:
                    scenario.warm_up()
                    blocked = scenario.ineligible

                    set_flag(self.feature, "off")  # stock answers: the scenario must match stock's rules
                    stock_picks = scenario.picks(self.picks)

                    set_flag(self.feature, "on")
                    answered_before = metrics.accelerated
                    sync_picks = scenario.picks(self.picks)
                    async_picks = scenario.async_picks(self.picks // 4)
                    answered = metrics.accelerated - answered_before
                finally:
                    scenario.close()
                if routing_strategy not in USAGE_STRATEGIES or utc_minute() == minute:
                    break

        assert not blocked & set(stock_picks), f"scenario setup: stock picked {dict(stock_picks)} (blocked {blocked})"
        assert not blocked & set(sync_picks), f"sync picks {dict(sync_picks)} include blocked {sorted(blocked)}"
        assert not blocked & set(async_picks), f"async picks {dict(async_picks)} include blocked {sorted(blocked)}"
        assert metrics.errors == 0, f"implementation errors (answered by stock): {metrics.last_error}"
        assert answered > 0, "the implementation delegated every pick: nothing was verified"
        if routing_strategy in self.spreading_strategies:
            eligible = scenario.all_ids - blocked
            assert set(sync_picks) == eligible, f"picks {dict(sync_picks)} do not cover the eligible {sorted(eligible)}"
