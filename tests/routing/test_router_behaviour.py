"""Whole-router behaviour with ``mock_response``: completion/acompletion, retries, fallbacks and
cooldowns after failures are the same with and without the routing acceleration."""

from __future__ import annotations

import asyncio
from typing import Any

import litellm
import pytest
from litellm import Router

from tests.routing.helpers import accelerated_routing, deployment, make_router

MESSAGES = [{"role": "user", "content": "hello"}]


def _router(**kwargs: Any) -> Router:
    model_list = [
        deployment("primary", "openai/gpt-4o", "p1", rpm=10),
        deployment("primary", "openai/gpt-4o", "p2", rpm=20),
        deployment("backup", "openai/gpt-4o-mini", "b1"),
    ]
    return make_router(model_list=model_list, **kwargs)


def _summary(result: Any) -> Any:
    if isinstance(result, BaseException):
        return ("error", type(result).__name__)
    hidden = getattr(result, "_hidden_params", {}) or {}
    return ("ok", result.choices[0].message.content, result.model, hidden.get("model_id") is not None)


def _cooling(router: Router) -> frozenset[str]:
    store = router._core._cooldowns.cooldown_store
    return frozenset(model_id for model_id, _ in store.active_sync(("p1", "p2", "b1")))


def _scenario(name: str, sync: bool) -> tuple[Any, frozenset[str]]:
    """Run one scenario on a fresh router; its outcome and the deployments left cooling."""
    if name == "success":
        router, kwargs = _router(), {"mock_response": "hi there"}
    elif name == "fallback":
        router = _router(fallbacks=[{"primary": ["backup"]}], num_retries=0)
        kwargs = {"mock_response": "hi", "mock_testing_fallbacks": True}
    elif name == "retries-exhausted":
        router = _router(num_retries=2, retry_after=0)
        kwargs = {"mock_response": litellm.RateLimitError("limited", llm_provider="openai", model="gpt-4o")}
    elif name == "cooldown":
        router = _router(num_retries=0, allowed_fails=0, cooldown_time=60)
        kwargs = {"mock_response": litellm.InternalServerError("boom", llm_provider="openai", model="gpt-4o")}
    else:  # context window fallback
        router = _router(context_window_fallbacks=[{"primary": ["backup"]}], num_retries=0)
        kwargs = {
            "mock_response": litellm.ContextWindowExceededError("too long", model="gpt-4o", llm_provider="openai")
        }
    results = []
    for _ in range(3):
        try:
            if sync:
                results.append(_summary(router.completion(model="primary", messages=MESSAGES, **kwargs)))
            else:
                results.append(_summary(asyncio.run(router.acompletion(model="primary", messages=MESSAGES, **kwargs))))
        except Exception as exc:
            results.append(_summary(exc))
    return results, _cooling(router)


@pytest.mark.parametrize("sync", [True, False], ids=["completion", "acompletion"])
@pytest.mark.parametrize("name", ["success", "fallback", "retries-exhausted", "cooldown", "context-window"])
def test_router_behaves_like_stock(name: str, sync: bool) -> None:
    stock = _scenario(name, sync)
    with accelerated_routing():
        accel = _scenario(name, sync)
    assert accel == stock


def test_cooldown_recorded_by_a_failed_call_is_respected_by_accelerated_picks() -> None:
    router = _router(num_retries=0, allowed_fails=0, cooldown_time=60)
    failure = litellm.InternalServerError("boom", llm_provider="openai", model="gpt-4o")
    with accelerated_routing() as impl:
        for _ in range(4):
            try:
                asyncio.run(router.acompletion(model="primary", messages=MESSAGES, mock_response=failure))
            except Exception:
                pass
        cooling = _cooling(router)
        assert cooling, "stock cooldown accounting put the failing deployments into cooldown"
        picks = set()
        for _ in range(100):
            try:
                picks.add(router.get_available_deployment("primary")["model_info"]["id"])
            except Exception as exc:
                picks.add(type(exc).__name__)
        assert impl.metrics.errors == 0
    assert not (picks & cooling)
