"""Eligibility: cooldowns, pre-call checks (context window, region), aliases and errors, compared with
stock litellm's own answers on the same router."""

from __future__ import annotations

import asyncio
from typing import Any

import litellm
import pytest
from litellm import Router

from tests.routing.helpers import (
    accelerated_routing,
    deployment,
    make_router,
    outcome,
    picked_id,
    put_cooldown,
    shuffle_list,
    stock_healthy,
)


def _windows_list() -> list[dict[str, Any]]:
    """Deployments with different context windows: cost-map windows and explicit small ones."""
    return [
        deployment("g", "gpt-4o", "big", rpm=10),
        deployment("g", "gpt-3.5-turbo", "mid", rpm=10),
        deployment("g", "gpt-4", "small8k", rpm=10),
        deployment("g", "openai/custom-a", "tiny", rpm=10, model_info={"max_input_tokens": 40}),
        deployment("g", "openai/custom-b", "unknown", rpm=10),
        deployment("g", "openai/custom-c", "t300", rpm=10, model_info={"max_input_tokens": 300}),
    ]


def _messages(words: int) -> list[dict[str, str]]:
    return [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello " * words}]


def _accel_eligible(router: Router, model: str, messages: Any, request: dict | None = None, picks: int = 300) -> Any:
    """The ids the accelerated pick chose over many picks (or the exception type it raised)."""
    seen: set[str] = set()
    for _ in range(picks):
        try:
            seen.add(picked_id(router.get_available_deployment(model, messages=messages, request_kwargs=request)))
        except Exception as exc:
            return type(exc)
    return frozenset(seen)


@pytest.mark.parametrize("words", [1, 30, 200, 3_000, 7_000, 20_000, 140_000])
def test_pre_call_context_window_same_eligible_set_as_stock(words: int) -> None:
    router = make_router(model_list=_windows_list(), enable_pre_call_checks=True)
    messages = _messages(words)
    expected = stock_healthy(router, "g", {"messages": messages}, messages)
    with accelerated_routing() as impl:
        got = _accel_eligible(router, "g", messages, {"messages": messages})
        if isinstance(expected, frozenset):
            assert impl.metrics.accelerated > 0
    assert got == expected


def test_pre_call_error_is_stocks_error_when_nothing_fits() -> None:
    router = make_router(model_list=_windows_list()[3:4] + _windows_list()[5:], enable_pre_call_checks=True)
    messages = _messages(500)
    stock = outcome(lambda: router.get_available_deployment("g", messages=messages))
    with accelerated_routing() as impl:
        accel = outcome(lambda: router.get_available_deployment("g", messages=messages))
        assert impl.metrics.errors == 0  # delegated to stock, not an implementation error
    assert stock is litellm.ContextWindowExceededError
    assert accel is stock


@pytest.mark.parametrize("region", ["eu", "us", None])
def test_region_check_same_eligible_set_as_stock(region: str | None) -> None:
    model_list = [
        deployment("g", "azure/gpt-4o", "eu1", api_base="https://x.example", region_name="eu", rpm=5),
        deployment("g", "azure/gpt-4o", "us1", api_base="https://y.example", region_name="us", rpm=5),
        deployment("g", "openai/gpt-4o", "none", rpm=5),
    ]
    router = make_router(model_list=model_list, enable_pre_call_checks=True)
    messages = _messages(3)
    request = {"messages": messages, "allowed_model_region": region} if region else {"messages": messages}
    expected = stock_healthy(router, "g", request, messages)
    with accelerated_routing():
        got = _accel_eligible(router, "g", messages, request)
    assert got == expected


def test_cooled_down_deployment_is_never_picked() -> None:
    router = make_router(model_list=shuffle_list(5, "rpm"))
    put_cooldown(router, "d4")  # the heaviest deployment
    put_cooldown(router, "d1")
    with accelerated_routing() as impl:
        got = _accel_eligible(router, "g", None, picks=600)
        put_cooldown(router, "d0")  # cooldown recorded while installed
        later = _accel_eligible(router, "g", None, picks=600)
        assert impl.metrics.accelerated >= 1200
    assert got == stock_healthy(router, "g") | {"d0"} == frozenset({"d0", "d2", "d3"})
    assert later == stock_healthy(router, "g") == frozenset({"d2", "d3"})


def test_cooldown_expiry_makes_deployment_eligible_again() -> None:
    router = make_router(model_list=shuffle_list(2, "rpm"))
    with accelerated_routing():
        put_cooldown(router, "d1", seconds=0.3)
        assert _accel_eligible(router, "g", None, picks=200) == frozenset({"d0"})
        asyncio.run(asyncio.sleep(1.5))
        assert _accel_eligible(router, "g", None, picks=200) == frozenset({"d0", "d1"})


def test_all_cooled_down_raises_stocks_error() -> None:
    router = make_router(model_list=shuffle_list(2, "rpm"))
    put_cooldown(router, "d0")
    put_cooldown(router, "d1")
    stock = outcome(lambda: router.get_available_deployment("g"))
    with accelerated_routing() as impl:
        accel = outcome(lambda: router.get_available_deployment("g"))
        accel_async = asyncio.run(_async_outcome(router))
        assert impl.metrics.errors == 0
    assert isinstance(stock, type) and issubclass(stock, Exception)
    assert accel is stock and accel_async is stock


async def _async_outcome(router: Router) -> Any:
    try:
        return await router.select("g", {})
    except Exception as exc:
        return type(exc)


def test_unknown_model_raises_stocks_error() -> None:
    router = make_router(model_list=shuffle_list(2, "rpm"))
    stock = outcome(lambda: router.get_available_deployment("missing"))
    with accelerated_routing():
        accel = outcome(lambda: router.get_available_deployment("missing"))
    assert accel is stock and isinstance(stock, type)


def test_model_list_changes_are_seen() -> None:
    router = make_router(model_list=shuffle_list(2, "rpm"))
    with accelerated_routing() as impl:
        assert _accel_eligible(router, "g", None, picks=100) == frozenset({"d0", "d1"})
        router.add_deployment(litellm.Deployment(**deployment("g", "openai/gpt-4o", "new", rpm=3)))
        assert _accel_eligible(router, "g", None, picks=300) == frozenset({"d0", "d1", "new"})
        router.delete_deployment("d0")
        assert _accel_eligible(router, "g", None, picks=100) == frozenset({"d1", "new"})
        router.set_model_list(shuffle_list(1, "rpm", group="h"))
        assert _accel_eligible(router, "h", None, picks=20) == frozenset({"d0"})
        assert outcome(lambda: router.get_available_deployment("g")) is outcome(
            lambda: make_router(model_list=shuffle_list(1, "rpm", group="h")).get_available_deployment("g")
        )
        assert impl.metrics.counter_value("view_rebuilds") >= 4


def test_settings_change_is_seen() -> None:
    router = make_router(model_list=_windows_list())
    messages = _messages(500)
    with accelerated_routing():
        before = _accel_eligible(router, "g", messages, {"messages": messages})
        router.apply(litellm.router_api.ChangeSet(assign={"enable_pre_call_checks": True}))
        after = _accel_eligible(router, "g", messages, {"messages": messages})
    assert before == frozenset(d["model_info"]["id"] for d in _windows_list())
    assert after == stock_healthy(router, "g", {"messages": messages}, messages)
    assert after != before


SHAPES = [
    {},
    {"rpm": 5, "tpm": 100, "weight": 2},
    {"api_base": "http://127.0.0.1:9/v1", "timeout": 12.5, "max_retries": 1, "custom_field": {"a": [1, 2]}},
    {"mock_response": "canned"},
    {"input_cost_per_token": 0.001, "output_cost_per_token": 0.002, "stream_timeout": 3},
    {"model_info": {"base_model": "gpt-4o", "max_input_tokens": 99, "extra": "yes"}},
    {"tags": ["a", "b"], "region_name": "eu"},
]


@pytest.mark.parametrize("shape", range(len(SHAPES)))
def test_served_deployment_equals_stocks(shape: int) -> None:
    params = dict(SHAPES[shape])
    router = make_router(model_list=[deployment("g", "openai/gpt-4o", "only", **params)], model_group_alias={"al": "g"})

    async def async_pick(model: str) -> Any:
        return await router.select(model, {})

    stock = [router.get_available_deployment(m) for m in ("g", "al")] + [asyncio.run(async_pick("g"))]
    with accelerated_routing() as impl:
        accel = [router.get_available_deployment(m) for m in ("g", "al")] + [asyncio.run(async_pick("g"))]
        assert impl.metrics.accelerated >= 3
    for got, expected in zip(accel, stock, strict=True):
        assert repr(got) == repr(expected)
