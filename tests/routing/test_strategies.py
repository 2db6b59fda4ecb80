"""Stateful strategies (least-busy, latency-based, usage-based-v2, cost-based): the accelerated pick
answers like stock litellm on the same router state."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any

import pytest
from litellm import Router

from tests.routing.helpers import accelerated_routing, deployment, make_router, outcome, picked_id, put_cooldown


def _selector_cache(router: Router) -> Any:
    return router._core._selectors.default.router_cache


def _set_in_flight(router: Router, group: str, counts: dict[str, int]) -> None:
    cache = _selector_cache(router)
    for model_id, count in counts.items():
        cache.set_cache(f"{group}_request_count:{model_id}", count, local_only=True)


def _both(router: Router, pick: Any) -> tuple[Any, Any]:
    stock = outcome(pick)
    with accelerated_routing() as impl:
        accel = outcome(pick)
        assert impl.metrics.errors == 0
    return stock, accel


def _ids(value: Any) -> Any:
    return picked_id(value) if isinstance(value, dict) else value


def test_least_busy_picks_the_least_busy_eligible_deployment() -> None:
    model_list = [deployment("g", "openai/gpt-4o", f"d{i}") for i in range(5)]
    router = make_router(model_list=model_list, routing_strategy="least-busy")
    _set_in_flight(router, "g", {"d0": 5, "d1": 2, "d2": 7, "d3": 0, "d4": 3})
    put_cooldown(router, "d3")  # the idle one is cooling: the least busy eligible one is d1
    stock, accel = _both(router, lambda: router.get_available_deployment("g"))
    assert _ids(stock) == _ids(accel) == "d1"
    with accelerated_routing() as impl:
        picks = {picked_id(asyncio.run(router.select("g", {}))) for _ in range(20)}
        assert impl.metrics.accelerated >= 20
    assert picks == {"d1"}


@pytest.mark.parametrize("buffer", [0.0, 0.5])
def test_latency_based_picks_within_buffer_of_lowest(buffer: float) -> None:
    model_list = [deployment("g", "openai/gpt-4o", f"d{i}", api_base=f"http://127.0.0.1:9/{i}") for i in range(4)]
    router = make_router(
        model_list=model_list,
        routing_strategy="latency-based-routing",
        routing_strategy_args={"lowest_latency_buffer": buffer},
    )
    latencies = {"d0": 0.30, "d1": 0.10, "d2": 0.14, "d3": 0.50}
    cache = _selector_cache(router)
    cache.set_cache("g_map", {k: {"latency": [v], "latency_normalized": [v]} for k, v in latencies.items()})
    lowest = min(latencies.values())
    allowed = {k for k, v in latencies.items() if v <= lowest + buffer * lowest}
    stock = {picked_id(router.get_available_deployment("g")) for _ in range(150)}
    with accelerated_routing() as impl:
        accel = {picked_id(router.get_available_deployment("g")) for _ in range(150)}
        accel_async = {picked_id(asyncio.run(router.select("g", {}))) for _ in range(60)}
        assert impl.metrics.accelerated >= 210
    assert accel == stock == allowed
    assert accel_async <= allowed


def test_usage_based_v2_never_picks_a_deployment_over_its_limit() -> None:
    model_list = [deployment("g", "openai/gpt-4o", f"d{i}", rpm=3, tpm=10_000) for i in range(3)]
    router = make_router(model_list=model_list, routing_strategy="usage-based-routing-v2")
    minute = datetime.now(timezone.utc).strftime("%H-%M")
    cache = _selector_cache(router)
    cache.set_cache(f"d0:openai/gpt-4o:rpm:{minute}", 3)  # at its rpm limit
    cache.set_cache(f"d2:openai/gpt-4o:tpm:{minute}", 10_001)  # over its tpm limit
    stock = {_ids(outcome(lambda: router.get_available_deployment("g"))) for _ in range(50)}
    with accelerated_routing() as impl:
        accel = {_ids(outcome(lambda: router.get_available_deployment("g"))) for _ in range(50)}
        accel_async = {picked_id(asyncio.run(router.select("g", {}))) for _ in range(20)}
        assert impl.metrics.errors == 0
    assert stock == accel == {"d1"}
    assert accel_async <= {"d1"}
    # every deployment over its limit: the same error as stock
    cache.set_cache(f"d1:openai/gpt-4o:rpm:{minute}", 3)
    stock_error, accel_error = _both(router, lambda: router.get_available_deployment("g"))
    assert isinstance(stock_error, type) and accel_error is stock_error


def test_cost_based_async_pick_matches_stock() -> None:
    model_list = [
        deployment("g", "gpt-4o", "expensive"),
        deployment("g", "gpt-4o-mini", "cheap"),
        deployment("g", "gpt-4", "most-expensive"),
    ]
    router = make_router(model_list=model_list, routing_strategy="cost-based-routing")

    async def picks() -> set[str]:
        return {picked_id(await router.select("g", {})) for _ in range(30)}

    stock = asyncio.run(picks())
    with accelerated_routing() as impl:
        accel = asyncio.run(picks())
        assert impl.metrics.accelerated >= 30
    assert accel == stock == {"cheap"}
