"""The ``ratelimit.options`` table, validated when the configuration is loaded.

Every problem (a zero or negative limit, an unknown scope kind, a malformed scope key, an unknown
option) becomes one :class:`~litellm_accel.errors.ConfigError` whose message names the bad key,
so a bad configuration fails at ``install()`` time and never at request time.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from litellm_accel.errors import ConfigError
from litellm_accel_ratelimit.scopes import SCOPE_KINDS, parse_scope_key

Algorithm = Literal["gcra", "sliding_window", "fixed_window"]


class ScopeLimits(BaseModel):
    """Limits of one scope. Unset means unlimited; a set limit must be a positive integer."""

    model_config = ConfigDict(extra="forbid")

    rpm: int | None = Field(None, gt=0, description="Requests per window.")
    tpm: int | None = Field(None, gt=0, description="Tokens per window.")
    max_parallel: int | None = Field(None, gt=0, description="Concurrent requests (slots).")


class RateLimitOptions(BaseModel):
    """Options of the built-in rate limiter (``[ratelimit.options]``). See docs/ratelimit.md."""

    model_config = ConfigDict(extra="forbid")

    algorithm: Algorithm = Field("gcra", description="Algorithm for rpm/tpm limits.")
    router_algorithm: Algorithm = Field(
        "fixed_window",
        description="Algorithm for deployments' rpm/tpm in the Router (fixed_window = stock's decisions).",
    )
    router_skip_saturated: bool = Field(
        True, description="Router: drop deployments at their limit before the pick (False: stock's behaviour)."
    )
    window_seconds: float = Field(60.0, gt=0, description="Length of the rpm/tpm window.")
    window_alignment: Literal["clock", "first_request"] = Field(
        "clock", description="fixed_window only: windows on clock multiples, or from the window's first request."
    )
    backend: Literal["auto", "memory", "redis"] = Field(
        "auto", description="auto: redis when redis_url is set, else memory."
    )
    key_prefix: str = Field(
        "{litellm-accel-rl}", description="Redis key prefix; its {hash tag} puts every key in one slot."
    )
    redis_timeout_ms: float = Field(50.0, gt=0, le=10_000, description="Bound on one Redis decision.")
    redis_max_connections: int = Field(64, ge=1, description="Async connection pool size per event loop.")
    failure_policy: Literal["open", "closed", "local"] = Field(
        "open", description="What to decide while Redis is unreachable: admit, deny, or a local limiter."
    )
    local_fallback_share: float = Field(
        1.0, gt=0, le=1, description="failure_policy=local: share of each limit the local limiter admits."
    )
    breaker_interval_seconds: float = Field(5.0, gt=0, description="How long Redis is skipped after a failure.")
    slot_ttl_seconds: float = Field(600.0, gt=0, description="A concurrency slot not released expires after this.")
    scopes: dict[str, ScopeLimits] = Field(
        default_factory=dict, description='Limits per scope key, e.g. {"team:acme": {"rpm": 100}}.'
    )
    defaults: dict[str, ScopeLimits] = Field(
        default_factory=dict, description='Limits for every scope of a kind, e.g. {"user": {"rpm": 10}}.'
    )
    model_limits: dict[str, ScopeLimits] = Field(
        default_factory=dict, description="Proxy hook: limits per requested model group."
    )

    @field_validator("key_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not value or any(ch.isspace() for ch in value):
            raise ValueError("must be a non-empty string without whitespace")
        return value

    @field_validator("scopes")
    @classmethod
    def _scope_keys(cls, value: dict[str, ScopeLimits]) -> dict[str, ScopeLimits]:
        for key in value:
            parse_scope_key(key)  # raises ValueError naming the key
        return value

    @field_validator("defaults")
    @classmethod
    def _default_kinds(cls, value: dict[str, ScopeLimits]) -> dict[str, ScopeLimits]:
        for kind in value:
            if kind not in SCOPE_KINDS:
                raise ValueError(f"unknown scope kind {kind!r}; valid kinds: {', '.join(SCOPE_KINDS)}")
        return value

    @model_validator(mode="after")
    def _fallback_share(self) -> RateLimitOptions:
        if self.local_fallback_share != 1.0 and self.failure_policy != "local":
            raise ValueError("local_fallback_share only applies with failure_policy = 'local'")
        return self


def parse_options(raw: dict[str, Any]) -> RateLimitOptions:
    """Validate ``ratelimit.options``; raise one :class:`ConfigError` naming every bad key."""
    try:
        return RateLimitOptions.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = ".".join(["ratelimit", "options", *(str(p) for p in err["loc"])])
            if err["type"] == "extra_forbidden":
                lines.append(f"unknown setting {key!r}; see docs/ratelimit.md")
            else:
                lines.append(f"invalid setting {key} = {err.get('input')!r}: {err['msg']}")
        raise ConfigError("; ".join(lines)) from None
