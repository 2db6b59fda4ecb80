"""litellm-accel-ratelimit: exact RPM/TPM/concurrency limits for LiteLLM, in memory or on Redis.

Direct use::

    from litellm_accel_ratelimit import Scope, create_limiter

    limiter = create_limiter({"algorithm": "gcra"}, redis_url="redis://localhost:6379/0")
    async with limiter.slot([Scope("api_key", "sk-1", rpm=60), Scope("team", "t1", tpm=10_000)], tokens=500) as lease:
        ...  # call the model; optionally set lease.used_tokens = real usage

See docs/ratelimit.md.
"""

from litellm_accel.contracts import LimitDecision
from litellm_accel_ratelimit.limiter import BuiltinRateLimiter, Lease, RateLimitExceeded, create_limiter
from litellm_accel_ratelimit.options import RateLimitOptions, ScopeLimits, parse_options
from litellm_accel_ratelimit.scopes import SCOPE_KINDS, Scope

__all__ = [
    "SCOPE_KINDS",
    "BuiltinRateLimiter",
    "Lease",
    "LimitDecision",
    "RateLimitExceeded",
    "RateLimitOptions",
    "Scope",
    "ScopeLimits",
    "create_limiter",
    "parse_options",
]
