"""The built-in rate limiter (litellm-accel-ratelimit) passes the conformance kit, in memory and on
the session's real redis-server."""

from typing import Any

import pytest

from litellm_accel.testing import RateLimiterContract
from tests.conformance.builtin import builtin_class


class TestBuiltinRateLimiterInMemory(RateLimiterContract):
    @pytest.fixture
    def implementation_class(self) -> type:
        return builtin_class("ratelimit")

    def limit_setup(self, limits: dict[str, dict[str, int]]) -> tuple[dict[str, Any], dict[str, Any]]:
        # An hour-long window: the kit's bursts finish long before any capacity refills.
        options = {"window_seconds": 3600, "scopes": {f"team:{name}": spec for name, spec in limits.items()}}
        return options, {name: f"team:{name}" for name in limits}


@pytest.mark.redis
class TestBuiltinRateLimiterOnRedis(TestBuiltinRateLimiterInMemory):
    @pytest.fixture
    def accel_settings(self, redis_url: str) -> dict[str, Any]:
        return {"redis_url": redis_url}

    def limit_setup(self, limits: dict[str, dict[str, int]]) -> tuple[dict[str, Any], dict[str, Any]]:
        options, scopes = super().limit_setup(limits)
        # failure_policy "closed" turns any Redis trouble into denials the counts would expose; the
        # generous timeout keeps a loaded CI machine's slow round trip from counting as trouble.
        return {**options, "backend": "redis", "failure_policy": "closed", "redis_timeout_ms": 5000}, scopes
