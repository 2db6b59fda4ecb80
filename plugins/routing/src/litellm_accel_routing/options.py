"""Implementation-specific options of the built-in routing implementation (``routing.options``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

#: Strategies the built-in implementation can serve; any other strategy is answered by stock litellm.
SUPPORTED_STRATEGIES: tuple[str, ...] = (
    "simple-shuffle",
    "least-busy",
    "latency-based-routing",
    "usage-based-routing-v2",
    "cost-based-routing",
)


class RoutingOptions(BaseModel):
    """``[routing.options]`` of the built-in implementation. Every key is documented in docs/routing.md."""

    model_config = ConfigDict(extra="forbid")

    strategies: list[str] = Field(
        default_factory=lambda: list(SUPPORTED_STRATEGIES),
        description="Routing strategies served by the accelerated pick; the others are answered by stock.",
    )
    inline_count_max_chars: int = Field(
        32_768,
        ge=0,
        description=(
            "Async picks with pre-call checks count prompts up to this many characters inline; longer "
            "prompts are counted off the event loop, as stock litellm counts every prompt."
        ),
    )
    shared_state_flush_seconds: float = Field(
        0.5,
        gt=0,
        le=60,
        description="With redis_url: how often local usage/in-flight/latency deltas are flushed to Redis.",
    )
    shared_state_ttl_seconds: int = Field(
        120, ge=10, description="With redis_url: TTL of the shared per-minute usage keys in Redis."
    )

    def model_post_init(self, _context: object) -> None:
        unknown = sorted(set(self.strategies) - set(SUPPORTED_STRATEGIES))
        if unknown:
            raise ValueError(
                f"routing.options.strategies: unknown {unknown}; valid choices: {list(SUPPORTED_STRATEGIES)}"
            )
