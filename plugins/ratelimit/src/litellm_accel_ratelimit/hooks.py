"""Entry point of litellm-accel-ratelimit (group ``litellm_accel``): registers its implementation classes.

Kept thin on purpose: the implementation lives in its own module and is imported only when the host
asks for the registration.
"""

from __future__ import annotations

from typing import Any

from litellm_accel import hookimpl

LITELLM_ACCEL_API_VERSION = "1.0"


@hookimpl
def litellm_accel_rate_limiters() -> list[type[Any]]:
    from litellm_accel_ratelimit.limiter import BuiltinRateLimiter

    return [BuiltinRateLimiter]


@hookimpl
def litellm_accel_health() -> list[Any]:
    """One line per live limiter: backend, Redis reachability, breaker state and failure events.
    Without a live limiter (``doctor`` in its own process), one line for a limiter built from the
    current settings: are the options valid, is Redis reachable."""
    from litellm_accel.contracts import HealthReport
    from litellm_accel_ratelimit.limiter import LIVE_LIMITERS, BuiltinRateLimiter

    live = list(LIVE_LIMITERS)
    if live:
        return [limiter.health() for limiter in live]
    try:
        from litellm_accel.settings import load_settings

        settings = load_settings()
        probe = BuiltinRateLimiter(options=settings.ratelimit.options, redis_url=settings.redis_url)
    except Exception as exc:
        return [HealthReport("ratelimit", False, f"configuration: {exc}")]
    try:
        return [probe.health()]
    finally:
        probe.close()
