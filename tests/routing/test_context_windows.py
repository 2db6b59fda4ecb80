"""The memoized context windows (``precall._max_input_tokens``) equal stock's, before and after the
model list changes, and completion/acompletion with pre-call checks behave as stock."""

from __future__ import annotations

import asyncio
from typing import Any

import litellm
from litellm import Router
from litellm.router_rust.steps import precall

from tests.routing.helpers import accelerated_routing, deployment, make_router

MODELS = [
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-3.5-turbo",
    "gpt-4",
    "gpt-4-turbo",
    "anthropic/claude-3-5-sonnet-20240620",
    "anthropic/claude-3-haiku-20240307",
    "azure/gpt-4o",
    "openai/unknown-model",
    "text-embedding-3-small",
    "gemini/gemini-1.5-pro",
    "mistral/mistral-large-latest",
]


def _records(router: Router) -> list[tuple[str, dict[str, Any]]]:
    core = router._core
    out = []
    for d in router.get_model_list() or []:
        model_id = d["model_info"]["id"]
        out.append((d["model_name"], core._hosted._core_get_model_info(model_id) or dict(d)))
    return out


def _model_list() -> list[dict[str, Any]]:
    out = []
    for i, model in enumerate(MODELS):
        extra: dict[str, Any] = {"api_base": "https://example.invalid"} if model.startswith("azure/") else {}
        out.append(deployment(f"g{i % 3}", model, f"m{i}", **extra))
        out.append(deployment(f"g{i % 3}", model, f"x{i}", model_info={"max_input_tokens": 100 + i}, **extra))
        out.append(deployment(f"g{i % 3}", model, f"b{i}", model_info={"base_model": "gpt-4o"}, **extra))
    return out


def test_memoized_windows_equal_stock() -> None:
    router = make_router(model_list=_model_list(), enable_pre_call_checks=True)
    hosted = router._core._hosted
    stock_fn = precall._max_input_tokens
    expected = [stock_fn(hosted, group, record) for group, record in _records(router)]
    assert len({e for e in expected}) > 3  # a varied corpus: known, unknown and explicit windows
    with accelerated_routing() as impl:
        for _ in range(2):  # the second pass is served from the memo
            got = [precall._max_input_tokens(hosted, group, record) for group, record in _records(router)]
            assert got == expected
        assert impl.metrics.errors == 0 and impl.metrics.accelerated >= 2 * len(expected)


def test_memo_sees_model_list_changes() -> None:
    router = make_router(model_list=[deployment("g", "openai/custom", "a", model_info={"max_input_tokens": 50})])
    hosted = router._core._hosted
    with accelerated_routing():
        ((group, record),) = _records(router)
        assert precall._max_input_tokens(hosted, group, record) == 50
        router.delete_deployment("a")
        router.add_deployment(
            litellm.Deployment(**deployment("g", "openai/custom", "a", model_info={"max_input_tokens": 70}))
        )
        ((group, record),) = _records(router)
        got = precall._max_input_tokens(hosted, group, record)
    assert got == precall._max_input_tokens(hosted, group, record) == 70


def _calls(router: Router, words: int) -> list[Any]:
    messages = [{"role": "user", "content": "hey " * words}]
    out: list[Any] = []
    for call in ("sync", "async"):
        try:
            if call == "sync":
                response = router.completion(model="g", messages=messages, mock_response="ok")
            else:
                response = asyncio.run(router.acompletion(model="g", messages=messages, mock_response="ok"))
            out.append(("ok", response.model))
        except Exception as exc:
            out.append(("error", type(exc).__name__))
    return out


def test_completion_with_pre_call_checks_like_stock() -> None:
    model_list = [
        deployment("g", "openai/custom-small", "s", model_info={"max_input_tokens": 30}),
        deployment("g", "gpt-4o", "big"),
    ]
    router = make_router(model_list=model_list, enable_pre_call_checks=True, num_retries=0)
    stock = [_calls(router, words) for words in (500, 200_000)]
    with accelerated_routing():
        accel = [_calls(router, words) for words in (500, 200_000)]
        short = _calls(router, 3)  # either deployment fits: a random pick
    assert accel == stock
    assert stock[0] == [("ok", "gpt-4o"), ("ok", "gpt-4o")]  # the small window was filtered out
    assert stock[1][0] == ("error", "ContextWindowExceededError")
    assert {outcome for outcome, _ in short} == {"ok"}


def test_concurrent_acompletions_with_pre_call_checks_like_stock() -> None:
    model_list = [
        deployment("g", "openai/custom-small", "s", model_info={"max_input_tokens": 30}),
        deployment("g", "gpt-4o", "big"),
        deployment("g", "gpt-4o-mini", "big2"),
    ]
    router = make_router(model_list=model_list, enable_pre_call_checks=True, num_retries=0)
    prompts = [[{"role": "user", "content": "hey " * words}] for words in (500, 800, 1_000, 200_000) * 5]

    async def run() -> list[Any]:
        async def one(messages: Any) -> Any:
            try:
                response = await router.acompletion(model="g", messages=messages, mock_response="ok")
                return ("ok", response._hidden_params.get("model_id") in ("big", "big2"))
            except Exception as exc:
                return ("error", type(exc).__name__)

        return list(await asyncio.gather(*(one(m) for m in prompts)))

    stock = asyncio.run(run())
    with accelerated_routing() as impl:
        accel = asyncio.run(run())
        assert impl.metrics.errors == 0 and impl.metrics.accelerated > 0
    assert accel == stock
    assert stock.count(("ok", True)) == 15 and stock.count(("error", "ContextWindowExceededError")) == 5
