"""Validated options of the built-in connection pool (the ``pool.options`` table of the settings)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from litellm_accel.errors import ConfigError

Transport = Literal["httpx", "aiohttp"]
StaleRetry = Literal["never", "unsent", "unanswered"]


class PoolOptions(BaseModel):
    """Limits and transport of every endpoint pool (one pool per scheme, host, port and TLS settings).

    ``max_connections`` bounds the sockets one endpoint pool opens (requests beyond it queue for up to
    ``pool_timeout`` seconds, then fail with :class:`~litellm_accel_pool.errors.PoolTimeoutError`);
    ``max_keepalive`` how many idle sockets it keeps; ``keepalive_expiry`` how long an idle socket is
    kept. ``transport`` picks httpx's own HTTP stack (HTTP/1.1, or HTTP/2 with ``http2``) or an
    aiohttp-backed transport (HTTP/1.1 only, higher throughput). ``prewarm`` connections are opened per
    endpoint listed in ``prewarm_urls`` the first time a pool for that endpoint is created in an event
    loop. ``retry_stale`` re-sends a request once on another connection when a reused keep-alive
    connection turns out to be closed by the server: ``"unanswered"`` when no response byte arrived,
    ``"unsent"`` only when the request headers were not written either, ``"never"`` not at all.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_connections: int = Field(default=100, ge=1, le=100_000)
    max_keepalive: int | None = Field(default=None, ge=0, le=100_000)
    keepalive_expiry: float = Field(default=30.0, gt=0, le=3600)
    pool_timeout: float | None = Field(default=30.0, gt=0)
    transport: Transport = "aiohttp"
    http2: bool = False
    prewarm: int = Field(default=0, ge=0, le=1000)
    prewarm_urls: tuple[str, ...] = ()
    retry_stale: StaleRetry = "unanswered"

    @model_validator(mode="after")
    def _consistent(self) -> PoolOptions:
        if self.http2 and self.transport != "httpx":
            raise ValueError("http2 needs transport='httpx' (aiohttp has no HTTP/2 client)")
        if self.max_keepalive is not None and self.max_keepalive > self.max_connections:
            raise ValueError("max_keepalive must not exceed max_connections")
        if self.prewarm > self.max_connections:
            raise ValueError("prewarm must not exceed max_connections")
        return self

    @property
    def keepalive_limit(self) -> int:
        """Idle sockets kept per endpoint (defaults to ``max_connections``)."""
        return self.max_connections if self.max_keepalive is None else self.max_keepalive


def parse_options(raw: dict[str, object]) -> PoolOptions:
    """Validate ``pool.options``; a bad key or value raises :class:`ConfigError` naming it."""
    from pydantic import ValidationError

    try:
        return PoolOptions(**raw)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"pool.options.{'.'.join(str(p) for p in err['loc']) or '(options)'}: {err['msg']}" for err in exc.errors()
        )
        valid = ", ".join(PoolOptions.model_fields)
        raise ConfigError(f"invalid pool options: {problems} (valid options: {valid})") from None
