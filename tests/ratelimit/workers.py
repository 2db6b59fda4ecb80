"""Code run in child processes by the multi-process exactness tests (importable by ``spawn``)."""

from __future__ import annotations

import asyncio
from typing import Any


def admit_many(redis_url: str, options: dict[str, Any], scope_args: dict[str, Any], tasks: int, tokens: int) -> int:
    """Run ``tasks`` concurrent acquisitions against one scope; return how many were admitted."""
    from litellm_accel_ratelimit import Scope, create_limiter

    async def main() -> int:
        limiter = create_limiter(options, redis_url=redis_url)
        scope = Scope(**scope_args)

        async def one() -> bool:
            return (await limiter.acquire(scope, tokens=tokens)).allowed

        results = await asyncio.gather(*(one() for _ in range(tasks)))
        limiter.close()
        return sum(results)

    return asyncio.run(main())
