"""Shared helpers of the routing tests: model lists, installing only the routing feature, and
reading stock litellm's own answers (the oracle every test compares with)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import litellm_accel
from litellm_accel.settings import AccelSettings

ONLY_ROUTING = {"tokens": {"enabled": False}, "pool": {"enabled": False}, "ratelimit": {"enabled": False}}


def routing_settings(**routing: Any) -> AccelSettings:
    return AccelSettings(routing=routing, **ONLY_ROUTING)


@contextmanager
def accelerated_routing(**routing: Any) -> Iterator[Any]:
    """Install with only the routing feature; yields the bound implementation."""
    report = litellm_accel.install(routing_settings(**routing))
    assert report.features["routing"].status == "active", report.as_dict()
    try:
        yield litellm_accel.get_implementation("routing")
    finally:
        litellm_accel.uninstall()


def deployment(group: str, model: str, model_id: str, **params: Any) -> dict[str, Any]:
    model_info = params.pop("model_info", {})
    return {
        "model_name": group,
        "litellm_params": {"model": model, "api_key": "sk-test", **params},
        "model_info": {"id": model_id, **model_info},
    }


def shuffle_list(n: int, metric: str | None = "rpm", group: str = "g") -> list[dict[str, Any]]:
    """``n`` deployments of one group, weighted by ``metric`` with distinct values (None: uniform)."""
    out = []
    for i in range(n):
        params = {metric: (i % 5) + 1} if metric else {}
        out.append(deployment(group, "openai/gpt-4o", f"d{i}", **params))
    return out


def picked_id(deployment_dict: Any) -> str:
    return str(deployment_dict["model_info"]["id"])


def count_picks(pick: Callable[[], Any], n: int) -> Counter[str]:
    return Counter(picked_id(pick()) for _ in range(n))


def stock_healthy(router: Any, model: str, request: dict[str, Any] | None = None, messages: Any = None) -> Any:
    """Stock litellm's own list of the deployments a pick chooses among (ids), or the exception type."""

    async def run() -> Any:
        try:
            found = await router.select(model, dict(request or {}), kind="healthy", messages=messages)
        except Exception as exc:
            return type(exc)
        return frozenset(picked_id(d) for d in found)

    return asyncio.run(run())


def put_cooldown(router: Any, model_id: str, seconds: float = 60.0) -> None:
    """Put a deployment into cooldown through litellm's own cooldown store (as a failure would)."""
    store = router._core._cooldowns.cooldown_store
    value = {"exception_received": "test", "status_code": "429", "timestamp": time.time(), "cooldown_time": seconds}
    store.put(model_id, value, seconds)


def outcome(call: Callable[[], Any]) -> Any:
    """The value of ``call()`` or the type of the exception it raised."""
    try:
        return call()
    except Exception as exc:
        return type(exc)


#: Routers made by the tests, retired after each test (see conftest.py): a Router registers its
#: strategy selectors in litellm's process-wide callbacks, and a usage-based-routing-v2 router left
#: registered changes how later routers in the same process count failures (stock behaviour).
CREATED_ROUTERS: list[Any] = []


def make_router(*args: Any, **kwargs: Any) -> Any:
    """``litellm.Router(...)``, retired at the end of the test."""
    from litellm import Router

    router = Router(*args, **kwargs)
    CREATED_ROUTERS.append(router)
    return router


def retire_created_routers() -> None:
    while CREATED_ROUTERS:
        router = CREATED_ROUTERS.pop()
        try:
            router.retire()
        except Exception:
            pass
