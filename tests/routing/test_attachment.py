"""Attachment: routers created before and after install are served, uninstall restores litellm exactly,
a router's own custom strategy keeps working, shadow mode compares eligibility, unsupported setups are
handed to stock."""

from __future__ import annotations

import asyncio
from typing import Any

import litellm
import pytest
from litellm import Router
from litellm.router_rust.core import RustCore
from litellm.types.router import CustomRoutingStrategyBase

import litellm_accel
from tests.routing.helpers import (
    accelerated_routing,
    deployment,
    make_router,
    outcome,
    picked_id,
    put_cooldown,
    routing_settings,
    shuffle_list,
    stock_healthy,
)


def _originals() -> dict[tuple[Any, str], Any]:
    from litellm.redis.stores.router_cooldowns import RouterCooldownStore
    from litellm.router_rust.steps import precall

    targets = {
        RustCore: ("get_available_deployment", "select"),
        RouterCooldownStore: ("put", "async_put", "evict_local"),
        precall: ("_max_input_tokens",),
        precall.PreCallFacts: ("_count_async",),
    }
    return {(cls, name): cls.__dict__[name] for cls, names in targets.items() for name in names}


def test_uninstall_restores_the_identical_functions() -> None:
    before = _originals()
    with accelerated_routing():
        during = _originals()
        assert all(during[key] is not before[key] for key in before)
    after = _originals()
    assert all(after[key] is before[key] for key in before)


def test_routers_created_before_and_after_install_are_accelerated() -> None:
    early = make_router(model_list=shuffle_list(3))
    with accelerated_routing() as impl:
        late = make_router(model_list=shuffle_list(3))
        start = impl.metrics.accelerated
        early.get_available_deployment("g")
        late.get_available_deployment("g")
        asyncio.run(early.select("g", {}))
        asyncio.run(late.async_get_available_deployment("g", request_kwargs={}))
        assert impl.metrics.accelerated - start == 4


class FixedStrategy(CustomRoutingStrategyBase):
    def __init__(self, router: Router) -> None:
        self.router = router

    def get_available_deployment(
        self,
        model: str,
        messages: Any = None,
        input: Any = None,
        specific_deployment: Any = False,
        request_kwargs: Any = None,
    ) -> Any:
        return self.router.get_model_list(model_name=model)[0]

    async def async_get_available_deployment(
        self,
        model: str,
        messages: Any = None,
        input: Any = None,
        specific_deployment: Any = False,
        request_kwargs: Any = None,
    ) -> Any:
        return self.router.get_model_list(model_name=model)[0]


def test_router_with_its_own_custom_strategy_keeps_it() -> None:
    router = make_router(model_list=shuffle_list(4))
    router.register_plugin(FixedStrategy(router))
    with accelerated_routing() as impl:
        start = impl.metrics.calls
        picks = {picked_id(router.get_available_deployment("g")) for _ in range(30)}
        assert impl.metrics.calls == start  # the instance's own pick answered
    assert picks == {"d0"}


@pytest.mark.parametrize("pre_call", [False, True])
def test_shadow_mode_records_no_mismatch_and_answers_with_stock(pre_call: bool) -> None:
    router = make_router(model_list=shuffle_list(5), enable_pre_call_checks=pre_call)
    put_cooldown(router, "d2")
    messages = [{"role": "user", "content": "hi"}]
    with accelerated_routing(flag="shadow") as impl:
        for _ in range(50):
            router.get_available_deployment("g", messages=messages)

        async def picks() -> None:
            for _ in range(50):
                await router.select("g", {"messages": messages}, messages=messages)

        asyncio.run(picks())
        metrics = impl.metrics
        assert metrics.shadow_runs >= 100  # picks, plus context-window lookups with pre-call checks
        assert metrics.shadow_mismatches == 0
        assert metrics.errors == 0


def test_shadow_comparison_flags_a_pick_outside_the_eligible_set() -> None:
    from litellm_accel_routing.shadow import same_eligibility
    from litellm_accel_routing.strategy import LAST_ELIGIBLE

    a, b = deployment("g", "openai/gpt-4o", "a"), deployment("g", "openai/gpt-4o", "b")
    LAST_ELIGIBLE.set(frozenset({"a", "b"}))
    assert same_eligibility(a, b)
    LAST_ELIGIBLE.set(frozenset({"a"}))  # stock picked b, which the accelerated path excluded
    assert not same_eligibility(a, b)
    assert not same_eligibility(a, deployment("other", "openai/gpt-4o", "a"))


@pytest.mark.parametrize(
    "router_kwargs",
    [
        {"enable_tag_filtering": True},
        {"routing_strategy": "usage-based-routing"},
    ],
    ids=["tag-filtering", "usage-based-v1"],
)
def test_unsupported_router_setups_are_served_by_stock(router_kwargs: dict[str, Any]) -> None:
    router = make_router(model_list=shuffle_list(3), **router_kwargs)
    with accelerated_routing() as impl:
        start = impl.metrics.delegated
        got = {picked_id(router.get_available_deployment("g")) for _ in range(40)}
        assert impl.metrics.delegated - start == 40
        assert impl.metrics.accelerated == 0
    assert got <= stock_healthy(router, "g")


def test_unsupported_deployment_fields_are_served_by_stock() -> None:
    model_list = [deployment("g", "openai/gpt-4o", "o1", order=1), deployment("g", "openai/gpt-4o", "o2", order=2)]
    router = make_router(model_list=model_list)
    stock = {picked_id(router.get_available_deployment("g")) for _ in range(20)}
    with accelerated_routing() as impl:
        got = {picked_id(router.get_available_deployment("g")) for _ in range(20)}
        assert impl.metrics.accelerated == 0
    assert got == stock == {"o1"}


def test_request_routing_controls_are_served_by_stock() -> None:
    router = make_router(model_list=shuffle_list(3))
    request = {"metadata": {"tags": ["x"]}, "_router_weights": {"g": {"d0": 1.0}}}
    with accelerated_routing() as impl:
        outcome(lambda: router.get_available_deployment("g", request_kwargs=dict(request)))
        assert impl.metrics.accelerated == 0 and impl.metrics.delegated == 1


@pytest.mark.parametrize(
    "metadata",
    [
        {"user_api_key_auth": object()},
        {"user_api_key_team_id": "team-a"},
        {"model_group": "g"},
        {"deployment": "d0"},
    ],
    ids=["caller-auth", "team", "model-group", "deployment"],
)
def test_routing_metadata_is_served_by_stock(metadata: dict[str, Any]) -> None:
    router = make_router(model_list=shuffle_list(3))
    with accelerated_routing() as impl:
        for bucket in ("metadata", "litellm_metadata"):
            outcome(lambda bucket=bucket: router.get_available_deployment("g", request_kwargs={bucket: dict(metadata)}))
        assert impl.metrics.accelerated == 0 and impl.metrics.delegated == 2


def test_strategies_option_limits_what_is_accelerated() -> None:
    router = make_router(model_list=shuffle_list(3))
    with accelerated_routing(options={"strategies": ["least-busy"]}) as impl:
        router.get_available_deployment("g")
        assert impl.metrics.accelerated == 0 and impl.metrics.delegated == 1


def test_invalid_option_skips_the_feature_with_a_clear_reason() -> None:
    report = litellm_accel.install(routing_settings(options={"strategies": ["nope"]}))
    try:
        status = report.features["routing"]
        assert status.status == "skipped"
        assert "nope" in status.reason and "simple-shuffle" in status.reason
    finally:
        litellm_accel.uninstall()


def test_flag_off_serves_stock() -> None:
    router = make_router(model_list=shuffle_list(3))
    with accelerated_routing(flag="off") as impl:
        router.get_available_deployment("g")
        assert impl.metrics.stock == 1 and impl.metrics.accelerated == 0


def test_returned_deployment_is_a_fresh_copy() -> None:
    router = make_router(model_list=shuffle_list(1))
    with accelerated_routing():
        first = router.get_available_deployment("g")
        first["litellm_params"]["model"] = "mutated"
        first["model_info"]["id"] = "mutated"
        second = router.get_available_deployment("g")
    assert second["litellm_params"]["model"] == "openai/gpt-4o" and second["model_info"]["id"] == "d0"
    assert litellm.__name__ == "litellm"
