"""Implementation-specific options of the built-in routing implementation (``routing.options``)."""

from __future__ import annotations

from typing import Literal

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
    shared_state: Literal["auto", "off"] = Field(
        "auto",
        description=(
            "auto: with redis_url set, routers without their own Redis share least-busy, latency and usage "
            "state through Redis; off: state stays in process, as stock."
        ),
    )
    shared_state_flush_seconds: float = Field(
        0.5,
        gt=0,
        le=60,
        description="With shared state: how often each router publishes its state and reads the others'.",
    )
    shared_state_ttl_seconds: float = Field(
        10,
        gt=0,
        le=3600,
        description=(
            "With shared state: an instance that has not published for this long is no longer counted, and a "
            "snapshot not refreshed for this long is dropped (local state only)."
        ),
    )
    shared_state_timeout_ms: int = Field(
        500, ge=1, le=60_000, description="With shared state: Redis connect and read timeout of the exchange."
    )
    shared_state_prefix: str = Field(
        "litellm_accel:{routing}:",
        min_length=1,
        description="With shared state: prefix of every Redis key (keep the hash tag for Redis Cluster).",
    )

    def model_post_init(self, _context: object) -> None:
        unknown = sorted(set(self.strategies) - set(SUPPORTED_STRATEGIES))
        if unknown:
            raise ValueError(
                f"routing.options.strategies: unknown {unknown}; valid choices: {list(SUPPORTED_STRATEGIES)}"
            )
        if self.shared_state_ttl_seconds < 2 * self.shared_state_flush_seconds:
            raise ValueError(
                "routing.options.shared_state_ttl_seconds must be at least twice shared_state_flush_seconds "
                f"(got {self.shared_state_ttl_seconds} and {self.shared_state_flush_seconds})"
            )
