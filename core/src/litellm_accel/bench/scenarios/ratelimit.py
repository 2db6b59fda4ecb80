"""Rate-limit decisions for one deployment with an ``rpm`` and a ``tpm`` limit.

* stock: litellm's router check behind ``optional_pre_call_checks=["enforce_model_rate_limits"]``,
  ``ModelRateLimitingCheck.async_pre_call_check(deployment)``, on a ``DualCache`` (in memory, or in
  memory plus Redis for the Redis variant);
* accelerated: the same limits decided by the active rate-limit implementation's
  ``await acquire(["deployment:<id>"], tokens=...)``. The bench builds its own instance through the
  contract's constructor (an :class:`~litellm_accel.contracts.ImplementationContext` with the user's
  rate-limit options plus the scope's limits, and ``backend`` memory or redis), so the memory and the
  Redis variants are both measured whatever ``redis_url`` the installed one uses.

The limits are far above what a run sends: every decision must be "allowed" in both arms. The scenario
runs whenever a rate-limit implementation is installed, even if this litellm has no attachment point
for the feature (the decision itself does not need one).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from litellm_accel.bench.arms import ACCELERATED, ARMS, STOCK
from litellm_accel.bench.scenarios.base import BenchContext, Scenario
from litellm_accel.bench.timing import Sample, time_async
from litellm_accel.installer import get_implementation

RPM_LIMIT = 1_000_000_000
TPM_LIMIT = 1_000_000_000_000
TOKENS_PER_REQUEST = 30


class RateLimitDecision(Scenario):
    group = "ratelimit"
    features = ("ratelimit",)

    def __init__(self, name: str, title: str, *, backend: str) -> None:
        super().__init__(name, title)
        self.backend = backend  # "memory" or "redis"
        self.deployment_id = f"bench-{backend}-deployment"
        self.deployment: dict[str, Any] = {}
        self.checker: Any = None
        self.limiter: Any = None
        self.decisions: dict[str, int] = dict.fromkeys(ARMS, 0)
        self.denied: dict[str, int] = dict.fromkeys(ARMS, 0)
        self.redis_url: str | None = None

    def gate(self, ctx: BenchContext) -> str | None:
        """Runs whenever a rate-limit implementation is installed and enabled: the decision is measured
        on the bench's own instance, so it does not need litellm's attachment point."""
        from litellm_accel.installer import NOT_INSTALLED

        if ctx.arms.implementation_class("ratelimit") is not None:
            return None
        status = ctx.arms.status("ratelimit")
        return NOT_INSTALLED if status == NOT_INSTALLED else f"ratelimit {status}"

    def setup(self, ctx: BenchContext) -> None:
        from litellm.caching.dual_cache import DualCache
        from litellm.router_utils.pre_call_checks.model_rate_limit_check import ModelRateLimitingCheck

        self.redis_url = ctx.redis_url if self.backend == "redis" else None
        redis_cache = None
        if self.redis_url is not None:
            from litellm.caching.redis_cache import RedisCache

            redis_cache = RedisCache(url=self.redis_url)
        self.checker = ModelRateLimitingCheck(DualCache(redis_cache=redis_cache))
        self.deployment = {
            "model_name": "bench-ratelimit",
            "litellm_params": {"model": "openai/gpt-4o", "rpm": RPM_LIMIT, "tpm": TPM_LIMIT},
            "model_info": {"id": self.deployment_id},
        }

    def _build_limiter(self, ctx: BenchContext) -> Any:
        """A fresh instance of the installed rate-limit implementation for this scenario's backend."""
        from litellm_accel.contracts import ImplementationContext
        from litellm_accel.metrics import FeatureMetrics

        installed = get_implementation("ratelimit")
        cls = type(installed) if installed is not None else ctx.arms.implementation_class("ratelimit")
        if cls is None:
            raise RuntimeError("no rate-limit implementation is available")
        settings = ctx.arms.settings
        options = dict(settings.ratelimit.options)
        scopes = dict(options.get("scopes") or {})
        scopes[f"deployment:{self.deployment_id}"] = {"rpm": RPM_LIMIT, "tpm": TPM_LIMIT}
        options.update(scopes=scopes, backend=self.backend)
        feature_settings = settings.ratelimit.model_copy(update={"options": options})
        accel_settings = settings.model_copy(update={"redis_url": self.redis_url})
        context = ImplementationContext(
            "ratelimit",
            feature_settings,
            accel_settings,
            FeatureMetrics("ratelimit", f"bench-{cls.__name__}"),
            logging.getLogger("litellm_accel.ratelimit"),
        )
        return cls(context)

    def measure(self, arm: str, ctx: BenchContext) -> Sample:
        if arm == STOCK:
            checker, deployment = self.checker, self.deployment

            async def op() -> None:
                await checker.async_pre_call_check(deployment)
                self.decisions[STOCK] += 1

        else:
            if self.limiter is None:
                self.limiter = self._build_limiter(ctx)
            limiter, scopes = self.limiter, [f"deployment:{self.deployment_id}"]

            async def op() -> None:
                decision = await limiter.acquire(scopes, tokens=TOKENS_PER_REQUEST)
                self.decisions[ACCELERATED] += 1
                if not getattr(decision, "allowed", False):
                    self.denied[ACCELERATED] += 1

        return ctx.run(time_async(op, ctx.workload.budget_s, min_ops=1, max_ops=200_000))

    def verify(self) -> list[str]:
        return [
            f"{self.name}: {count} {arm} decisions were denied under limits no run can reach"
            for arm, count in self.denied.items()
            if count
        ]

    def details(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "stock": "litellm ModelRateLimitingCheck.async_pre_call_check (enforce_model_rate_limits)",
            "accelerated": "implementation.acquire(['deployment:<id>'], tokens=30)",
            "decisions": dict(self.decisions),
        }

    def teardown(self, ctx: BenchContext) -> None:
        limiter, self.limiter = self.limiter, None
        if limiter is not None:
            try:
                limiter.close()
            except Exception as exc:  # cleanup of a benchmark instance must not fail the run
                logging.getLogger("litellm_accel.bench").debug("rate limiter close failed: %s", exc)


def scenarios(redis_url: str | None) -> list[Callable[[], Scenario]]:
    factories: list[Callable[[], Scenario]] = [
        lambda: RateLimitDecision("ratelimit.memory", "rate-limit decision, rpm+tpm, in memory", backend="memory")
    ]
    if redis_url:
        factories.append(
            lambda: RateLimitDecision("ratelimit.redis", "rate-limit decision, rpm+tpm, on Redis", backend="redis")
        )
    return factories
