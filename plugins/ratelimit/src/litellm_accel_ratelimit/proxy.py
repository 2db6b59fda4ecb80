"""LiteLLM proxy integration: a ``CustomLogger`` limiting by API key, user, team and model.

Use it through the proxy config::

    litellm_settings:
      callbacks: ["litellm_accel_ratelimit.proxy.proxy_handler_instance"]

Limits come from the authenticated key (``rpm_limit``, ``tpm_limit``, ``max_parallel_requests``,
``user_rpm_limit``/``user_tpm_limit``, ``team_rpm_limit``/``team_tpm_limit``), else from the options'
``scopes``/``defaults`` (``"api_key:<hashed key>"``, ``"user:<id>"``, ``"team:<id>"``), and per requested
model from ``model_limits``. A denied request raises litellm's own ``ProxyRateLimitError`` (HTTP 429
with ``retry-after``, ``rate_limit_type`` and ``reset_at`` headers, as litellm's limiter does). Token
reservations are reconciled with the real usage on success and refunded on failure; concurrency
slots are released on success and failure and otherwise expire after ``slot_ttl_seconds``.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Any

from litellm.integrations.custom_logger import CustomLogger

from litellm_accel_ratelimit.limiter import BuiltinRateLimiter, Lease
from litellm_accel_ratelimit.scopes import Scope

logger = logging.getLogger("litellm_accel.ratelimit.proxy")

_RATE_LIMIT_TYPE = {"requests": "requests", "tokens": "tokens", "concurrency": "max_parallel_requests"}


def _own_limiter() -> BuiltinRateLimiter:
    """The installed implementation if litellm-accel is installed with this one, else a limiter
    built from the litellm-accel settings (env vars / ``litellm-accel.toml``)."""
    from litellm_accel import get_implementation
    from litellm_accel.settings import load_settings

    installed = get_implementation("ratelimit")
    if isinstance(installed, BuiltinRateLimiter):
        return installed
    settings = load_settings()
    return BuiltinRateLimiter(options=settings.ratelimit.options, redis_url=settings.redis_url)


class RateLimitProxyHook(CustomLogger):
    """Proxy pre-call rate limiting on :class:`BuiltinRateLimiter`."""

    def __init__(self, limiter: BuiltinRateLimiter | None = None) -> None:
        super().__init__()
        self._limiter = limiter
        self._leases: OrderedDict[str, tuple[float, Lease]] = OrderedDict()
        self._plans: dict[tuple[Any, ...], tuple[tuple[Any, ...], bool]] = {}

    @property
    def limiter(self) -> BuiltinRateLimiter:
        if self._limiter is None:
            self._limiter = _own_limiter()
        return self._limiter

    # -- scopes -----------------------------------------------------------------------------------
    def scopes_for(self, auth: Any, data: dict) -> list[Scope | str]:
        """The scopes of one request, with limits from the key (or the configured ones)."""
        scopes: list[Scope | str] = []
        api_key = getattr(auth, "api_key", None)
        if api_key:
            rpm, tpm, par = auth.rpm_limit, auth.tpm_limit, auth.max_parallel_requests
            if rpm is not None or tpm is not None or par is not None:
                scopes.append(Scope("api_key", str(api_key), rpm=rpm, tpm=tpm, max_parallel=par))
            else:
                scopes.append(f"api_key:{api_key}")
        user_id = getattr(auth, "user_id", None)
        if user_id:
            rpm, tpm = auth.user_rpm_limit, auth.user_tpm_limit
            scopes.append(
                Scope("user", str(user_id), rpm=rpm, tpm=tpm)
                if rpm is not None or tpm is not None
                else f"user:{user_id}"
            )
        team_id = getattr(auth, "team_id", None)
        if team_id:
            rpm, tpm = auth.team_rpm_limit, auth.team_tpm_limit
            scopes.append(
                Scope("team", str(team_id), rpm=rpm, tpm=tpm)
                if rpm is not None or tpm is not None
                else f"team:{team_id}"
            )
        model = data.get("model")
        if isinstance(model, str) and model:
            limits = self.limiter.options.model_limits.get(model)
            if limits is not None:
                scopes.append(
                    Scope("model_group", model, rpm=limits.rpm, tpm=limits.tpm, max_parallel=limits.max_parallel)
                )
        return scopes

    def _plan(self, auth: Any, data: dict) -> tuple[tuple[Any, ...], bool]:
        """The request's limit entries and whether any limits tokens, cached per distinct limits."""
        model = data.get("model")
        g = getattr
        cache_key = (
            g(auth, "api_key", None),
            g(auth, "rpm_limit", None),
            g(auth, "tpm_limit", None),
            g(auth, "max_parallel_requests", None),
            g(auth, "user_id", None),
            g(auth, "user_rpm_limit", None),
            g(auth, "user_tpm_limit", None),
            g(auth, "team_id", None),
            g(auth, "team_rpm_limit", None),
            g(auth, "team_tpm_limit", None),
            model if isinstance(model, str) else None,
        )
        found = self._plans.get(cache_key)
        if found is None:
            entries = self.limiter.entries_for(self.scopes_for(auth, data))
            found = (entries, any(e.metric == "tokens" for e in entries))
            if len(self._plans) > 50_000:
                self._plans.clear()
            self._plans[cache_key] = found
        return found

    @staticmethod
    def estimate_tokens(data: dict) -> int:
        """Input tokens (``litellm.token_counter``, the tokens plugin's when installed) plus the
        requested ``max_tokens``."""
        import litellm

        messages = data.get("messages")
        model = data.get("model") or ""
        try:
            prompt = litellm.token_counter(model=model, messages=messages) if messages else 0
        except Exception:
            prompt = 0
        out = data.get("max_tokens") or data.get("max_completion_tokens") or 0
        return max(int(prompt) + int(out if isinstance(out, int) else 0), 1)

    # -- the hook ---------------------------------------------------------------------------------
    async def async_pre_call_hook(self, user_api_key_dict: Any, cache: Any, data: dict, call_type: Any) -> Any:
        try:
            limiter = self.limiter
            entries, needs_tokens = self._plan(user_api_key_dict, data)
            if not entries:
                return None
            tokens = self.estimate_tokens(data) if needs_tokens else 0
            if limiter.redis is None and tokens >= 0:
                decision = limiter._memory_acquire(entries, tokens)  # no coroutine needed in memory
            else:
                decision = await limiter.acquire_entries(entries, tokens)
        except Exception as exc:  # the limiter never breaks a request
            logger.warning("litellm-accel ratelimit proxy hook failed, request admitted: %s", exc)
            self._metric("hook_errors")
            return None
        if not decision.allowed:
            self._metric("denied")
            raise self.rate_limit_error(decision, data.get("model"))
        lease = decision.lease
        if lease is not None and lease.backend != "none" and (lease.slot_id is not None or lease.tokens):
            call_id = data.get("litellm_call_id")
            if not call_id:
                call_id = data["litellm_call_id"] = str(uuid.uuid4())
            self._keep(str(call_id), lease)
        return None

    def rate_limit_error(self, decision: Any, model: Any) -> Exception:
        """litellm's ``ProxyRateLimitError`` (429), worded and with headers as litellm's limiter."""
        retry = max(1, math.ceil(decision.retry_after))
        reset = datetime.fromtimestamp(time.time() + retry, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        kind, _, value = decision.scope.partition(":")
        limit_type = _RATE_LIMIT_TYPE.get(decision.metric, decision.metric or "requests")
        detail = (
            f"Rate limit exceeded for {kind}: {value}. Limit type: {limit_type}. "
            f"Remaining: {max(0, int(decision.remaining))}. Limit resets at: {reset}"
        )
        headers = {"retry-after": str(retry), "rate_limit_type": limit_type, "reset_at": reset}
        try:
            from litellm.proxy.common_utils.proxy_rate_limit_error import ProxyRateLimitError, map_v3_rate_limit_type
        except ImportError:  # litellm without its proxy extras
            from fastapi import HTTPException

            return HTTPException(status_code=429, detail=detail, headers=headers)
        return ProxyRateLimitError(
            detail=detail,
            headers=headers,
            rate_limit_type=map_v3_rate_limit_type(limit_type),
            model=model if isinstance(model, str) else None,
            descriptor_key=kind,
        )

    # -- leases -----------------------------------------------------------------------------------
    def _keep(self, call_id: str, lease: Lease) -> None:
        """Remember a lease until the call ends; leases older than the slot TTL are dropped (their
        slots have expired anyway)."""
        now = time.monotonic()
        self._leases[call_id] = (now, lease)
        ttl = self.limiter.options.slot_ttl_seconds
        while self._leases:
            _, (t0, _) = next(iter(self._leases.items()))
            if now - t0 <= ttl and len(self._leases) <= 100_000:
                break
            self._leases.popitem(last=False)

    def _pop(self, call_id: Any) -> Lease | None:
        if not call_id:
            return None
        found = self._leases.pop(str(call_id), None)
        return found[1] if found is not None else None

    def _metric(self, name: str) -> None:
        try:
            self.limiter.metrics.incr(name)
        except Exception:
            pass

    @staticmethod
    def _used_tokens(response_obj: Any, kwargs: dict) -> int | None:
        usage = getattr(response_obj, "usage", None)
        total = getattr(usage, "total_tokens", None) if usage is not None else None
        if total is None:
            slo = kwargs.get("standard_logging_object") or {}
            total = slo.get("total_tokens")
        return int(total) if isinstance(total, (int, float)) else None

    async def async_log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        lease = self._pop(kwargs.get("litellm_call_id"))
        if lease is not None:
            used = self._used_tokens(response_obj, kwargs)
            await self.limiter.release(lease, used_tokens=used if used is not None else lease.tokens)

    async def async_log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        lease = self._pop(kwargs.get("litellm_call_id"))
        if lease is not None:
            await self.limiter.release(lease, used_tokens=None)

    async def async_post_call_failure_hook(
        self,
        request_data: dict,
        original_exception: Exception,
        user_api_key_dict: Any,
        traceback_str: str | None = None,
    ) -> Any:
        lease = self._pop(request_data.get("litellm_call_id"))
        if lease is not None:
            await self.limiter.release(lease, used_tokens=None)
        return None


#: The instance to name in the proxy's ``callbacks:`` setting.
proxy_handler_instance = RateLimitProxyHook()
