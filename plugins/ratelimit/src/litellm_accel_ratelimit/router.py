"""Router integration: deployments' ``rpm``/``tpm`` under ``optional_pre_call_checks:
["enforce_model_rate_limits"]`` decided by the built-in limiter.

litellm registers a ``ModelRateLimitingCheck`` (a ``CustomLogger``) for that setting. The attachment
replaces three of its methods through the host's ``Patcher`` and ``Guard``:

- ``pre_call_check`` / ``async_pre_call_check``: the picked deployment's limits, decided by
  :class:`RouterLimits` (same limits, same key, same ``litellm.RateLimitError`` with a ``retry-after``
  header, which here is the real wait instead of a flat 60 s). With ``router_algorithm =
  "fixed_window"`` (the default) the decisions are stock's: a counter per clock minute, requests
  charged before the call, tokens charged after it from the real usage.
- ``async_filter_deployments`` (with ``router_skip_saturated``, the default): deployments already at
  their limit are dropped before the pick, in one round trip for all of them; when every candidate
  is saturated, ``litellm.RateLimitError`` is raised with the shortest retry-after.

Deployments with daily limits (``tpd``/``rpd``) or separate input/output limits (``itpm``/``otpm``) are
handed to stock litellm (``UseStock``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

from litellm_accel.contracts import UseStock
from litellm_accel_ratelimit.limiter import BuiltinRateLimiter
from litellm_accel_ratelimit.scopes import Scope

logger = logging.getLogger("litellm_accel.ratelimit.router")

_STOCK_ONLY_KEYS = ("itpm", "otpm", "tpd", "rpd")
_STOCK_ONLY_SET = frozenset(_STOCK_ONLY_KEYS)


def _limit(deployment: Mapping[str, Any], name: str) -> Any:
    """Stock's lookup order: top level, then ``litellm_params``, then ``model_info``."""
    value = deployment.get(name)
    if value is None:
        value = (deployment.get("litellm_params") or {}).get(name)
    if value is None:
        value = (deployment.get("model_info") or {}).get(name)
    return value


def _needs_stock(deployment: Mapping[str, Any]) -> bool:
    return any(_limit(deployment, name) is not None for name in _STOCK_ONLY_KEYS)


class RouterLimits:
    """Deployment limits on a :class:`BuiltinRateLimiter`."""

    def __init__(self, limiter: BuiltinRateLimiter) -> None:
        self.limiter = limiter
        self.algorithm = limiter.options.router_algorithm
        self.skip_saturated = limiter.options.router_skip_saturated
        self._by_usage_key: dict[tuple[str, str], Scope] = {}
        self._scope_cache: dict[tuple[Any, ...], Scope | None] = {}
        self._entries_cache: dict[Scope, tuple[Any, ...]] = {}

    def scope_for(self, deployment: Mapping[str, Any]) -> Scope | None:
        """The deployment's scope (``None`` when it has no rpm/tpm). Raises ``UseStock`` for limits
        only stock handles and for limit values stock accepts but a scope cannot hold."""
        params = deployment.get("litellm_params") or {}
        info = deployment.get("model_info") or {}
        # _limit() inlined for the two limits every call reads (same lookup order).
        tpm = deployment.get("tpm")
        if tpm is None:
            tpm = params.get("tpm")
            if tpm is None:
                tpm = info.get("tpm")
        rpm = deployment.get("rpm")
        if rpm is None:
            rpm = params.get("rpm")
            if rpm is None:
                rpm = info.get("rpm")
        model_id, model = info.get("id"), params.get("model")
        # One C-level check per mapping instead of twelve ``in`` tests: any stock-only key present?
        if not (
            _STOCK_ONLY_SET.isdisjoint(params)
            and _STOCK_ONLY_SET.isdisjoint(info)
            and _STOCK_ONLY_SET.isdisjoint(deployment)
        ) and _needs_stock(deployment):
            raise UseStock("daily or input/output token limits")
        cache_key = (model_id, model, tpm, rpm)
        try:
            return self._scope_cache[cache_key]
        except (KeyError, TypeError):
            pass
        if tpm is None and rpm is None:
            scope = None
        else:
            try:
                scope = Scope("deployment", f"{model_id}:{model}", rpm=rpm, tpm=tpm, algorithm=self.algorithm)
            except ValueError as exc:
                raise UseStock(str(exc)) from None
            self._by_usage_key[(str(model_id), str(model))] = scope
        if len(self._scope_cache) > 10_000:
            self._scope_cache.clear()
        try:
            self._scope_cache[cache_key] = scope
        except TypeError:  # an unhashable limit value: not cached
            pass
        return scope

    @staticmethod
    def error(
        deployment: Mapping[str, Any], scope: Scope, metric: str, retry_after: float, remaining: float
    ) -> Exception:
        """litellm's own ``RateLimitError``, worded as stock's check words it."""
        import httpx
        import litellm
        from litellm.types.router import RouterErrors

        params = deployment.get("litellm_params") or {}
        model_id = (deployment.get("model_info") or {}).get("id")
        group = deployment.get("model_name", "")
        kind, limit = ("TPM", scope.tpm) if metric == "tokens" else ("RPM", scope.rpm)
        usage = (limit or 0) + 1 if kind == "RPM" else (limit or 0) - int(remaining)
        retry = str(max(1, math.ceil(retry_after)))
        return litellm.RateLimitError(
            message=f"Model rate limit exceeded. {kind} limit={limit}, current usage={usage}",
            llm_provider="",
            model=params.get("model"),
            response=httpx.Response(
                status_code=429,
                content=f"{RouterErrors.user_defined_ratelimit_error.value} {kind.lower()} limit={limit}. "
                f"current usage={usage}. id={model_id}, model_group={group}",
                headers={"retry-after": retry},
                request=httpx.Request(method="model_rate_limit_check", url="https://github.com/BerriAI/litellm"),
            ),
            num_retries=0,
        )

    # -- the replaced ModelRateLimitingCheck methods --------------------------------------------------
    def _entries(self, scope: Scope) -> tuple[Any, ...]:
        found = self._entries_cache.get(scope)
        if found is None:
            found = self.limiter.entries_for(scope, self.algorithm)
            self._entries_cache[scope] = found
        return found

    async def async_pre_call_check(self, _check: Any, deployment: dict, parent_otel_span: Any = None) -> dict | None:
        """``ModelRateLimitingCheck.async_pre_call_check``: the deployment when admitted, else raises
        ``litellm.RateLimitError`` (the host's guard passes it through as this check's answer)."""
        scope = self.scope_for(deployment)
        if scope is None:
            return deployment
        limiter = self.limiter
        entries = self._entries(scope)
        if limiter.redis is None:  # no await needed in memory
            outcome = limiter.memory.decide(entries, 0, None, 0)
        else:
            outcome = await limiter.decide_entries(entries)
        if not outcome.allowed:
            raise self.error(deployment, scope, outcome.metric, outcome.retry_after, outcome.remaining)
        return deployment

    def pre_call_check(self, _check: Any, deployment: dict) -> dict | None:
        """Sync :meth:`async_pre_call_check`."""
        scope = self.scope_for(deployment)
        if scope is None:
            return deployment
        outcome = self.limiter.decide_entries_sync(self._entries(scope))
        if not outcome.allowed:
            raise self.error(deployment, scope, outcome.metric, outcome.retry_after, outcome.remaining)
        return deployment

    async def async_filter_deployments(
        self,
        _check: Any,
        model: str,
        healthy_deployments: list,
        messages: Any = None,
        request_kwargs: dict | None = None,
        parent_otel_span: Any = None,
    ) -> list:
        if not self.skip_saturated or not healthy_deployments:
            return healthy_deployments
        scopes: list[Scope] = []
        positions: list[int] = []
        for i, deployment in enumerate(healthy_deployments):
            try:
                scope = self.scope_for(deployment) if isinstance(deployment, Mapping) else None
            except UseStock:
                scope = None  # stock's own check decides this one at pick time
            if scope is not None:
                scopes.append(scope)
                positions.append(i)
        if not scopes:
            return healthy_deployments
        verdicts = await self.limiter.peek_each(scopes)
        if verdicts is None:
            return healthy_deployments
        saturated = {positions[j]: v[1] for j, v in enumerate(verdicts) if not v[0]}
        metrics = {positions[j]: v[2] for j, v in enumerate(verdicts) if not v[0]}
        if not saturated:
            return healthy_deployments
        kept = [d for i, d in enumerate(healthy_deployments) if i not in saturated]
        if kept:
            return kept
        first = min(saturated, key=saturated.__getitem__)
        scope = scopes[positions.index(first)]
        raise self.error(healthy_deployments[first], scope, metrics[first], saturated[first], 0)

    # -- usage after the call --------------------------------------------------------------------------
    def _usage(self, kwargs: Mapping[str, Any]) -> tuple[Scope, int] | None:
        slo = kwargs.get("standard_logging_object")
        if not slo:
            return None
        model_id = slo.get("model_id")
        tokens = slo.get("total_tokens", 0)
        model = (slo.get("hidden_params") or {}).get("litellm_model_name")
        if model_id is None or not model or not tokens:
            return None
        scope = self._by_usage_key.get((str(model_id), str(model)))
        if scope is None or scope.tpm is None:
            return None
        return scope, int(tokens)

    async def record_success(self, kwargs: Mapping[str, Any]) -> None:
        found = self._usage(kwargs)
        if found is not None:
            await self.limiter.record_usage(found[0], found[1], algorithm=self.algorithm)

    def record_success_sync(self, kwargs: Mapping[str, Any]) -> None:
        found = self._usage(kwargs)
        if found is not None:
            self.limiter.record_usage_sync(found[0], found[1], algorithm=self.algorithm)
