"""Stock litellm limiters built for side-by-side comparisons (parity tests and benchmarks)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any


def utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


async def _no_tags(_tags: Any) -> dict[str, Any]:
    return {}


def stock_v3_hook(clock: Callable[[], float], redis_url: str | None = None) -> Any:
    """litellm's proxy limiter (parallel_request_limiter_v3), in memory or on ``redis_url``, with its
    proxy-server lookups replaced by neutral answers (no router, no tags, fail-open)."""
    from litellm import DualCache
    from litellm.proxy.hooks.parallel_request_limiter_v3 import _PROXY_MaxParallelRequestsHandler_v3
    from litellm.proxy.utils import InternalUsageCache

    redis_cache = None
    if redis_url is not None:
        from litellm.caching.redis_cache import RedisCache

        redis_cache = RedisCache(url=redis_url)
    return _PROXY_MaxParallelRequestsHandler_v3(
        InternalUsageCache(dual_cache=DualCache(redis_cache=redis_cache)),
        time_provider=lambda: utc(clock()),
        tag_rate_limit_resolver=_no_tags,
        model_group_resolver=lambda _m: None,
        counted_models_resolver=lambda m, _t: (m,),
        media_model_resolver=lambda m, _t: (m,),
        ptu_team_ceiling_resolver=lambda _a, _b: None,
        fail_closed_resolver=lambda: False,
        force_hash_tag_grouping_resolver=lambda: False,
    )


async def stock_v3_admits(hook: Any, auth: Any, data: dict[str, Any] | None = None) -> bool:
    """Whether stock's proxy hook admits one request (a 429 means denied)."""
    from litellm import DualCache

    try:
        await hook.async_pre_call_hook(
            user_api_key_dict=auth, cache=DualCache(), data=dict(data or {"model": "gpt-4o"}), call_type="acompletion"
        )
    except Exception as exc:
        if getattr(exc, "status_code", None) == 429:
            return False
        raise
    return True
