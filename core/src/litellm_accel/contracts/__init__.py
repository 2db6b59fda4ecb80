"""The contracts (``typing.Protocol`` classes) that plugin implementations meet, one per feature."""

from litellm_accel.contracts.common import (
    FEATURES,
    Feature,
    HealthReport,
    ImplementationContext,
    UseStock,
)
from litellm_accel.contracts.pool import ConnectionPool
from litellm_accel.contracts.ratelimit import LimitDecision, RateLimiter
from litellm_accel.contracts.routing import RoutingStrategy
from litellm_accel.contracts.tokens import TokenCounter

__all__ = [
    "FEATURES",
    "ConnectionPool",
    "Feature",
    "HealthReport",
    "ImplementationContext",
    "LimitDecision",
    "RateLimiter",
    "RoutingStrategy",
    "TokenCounter",
    "UseStock",
]

#: Feature name -> (hook name, contract) used by the plugin manager.
CONTRACTS = {
    "tokens": ("litellm_accel_token_counters", TokenCounter),
    "routing": ("litellm_accel_routing_strategies", RoutingStrategy),
    "pool": ("litellm_accel_connection_pools", ConnectionPool),
    "ratelimit": ("litellm_accel_rate_limiters", RateLimiter),
}
