"""Rate limiting: the Router's ``enforce_model_rate_limits`` check decided by the selected limiter.

litellm builds a ``ModelRateLimitingCheck`` (a ``CustomLogger``) for
``optional_pre_call_checks: ["enforce_model_rate_limits"]`` and the router core calls its
``async_pre_call_check`` / ``pre_call_check`` on the picked deployment and its
``async_filter_deployments`` on the candidates. Those methods are replaced on the class (so routers
built before and after ``install()`` are both reached) with guarded versions whose accelerated side
comes from ``implementation.router_integration()`` (its ``*_pre_call_verdict`` methods when present:
they return the denial instead of raising it). The integration's usage recording runs after
stock's ``async_log_success_event`` / ``log_success_event``, which keep running unchanged.

A limit decision is an exception (``litellm.RateLimitError``), which the guard would take for an
implementation error; both sides are therefore wrapped to *return* a denial, and the patched method
raises it after the guard. The proxy hook is not attached here: it is a ``CustomLogger`` the user lists
in the proxy's ``callbacks:`` (see docs/ratelimit.md).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from litellm_accel.attachments.base import Attachment
from litellm_accel.guard import Guard
from litellm_accel.patching import Patcher

logger = logging.getLogger("litellm_accel.ratelimit")

CHECK_MODULE = "litellm.router_utils.pre_call_checks.model_rate_limit_check"
CHECK_CLASS = "ModelRateLimitingCheck"
EXPECTED = {
    "async_pre_call_check": ["self", "deployment", "parent_otel_span"],
    "pre_call_check": ["self", "deployment"],
    "async_log_success_event": ["self", "kwargs", "response_obj", "start_time", "end_time"],
    "log_success_event": ["self", "kwargs", "response_obj", "start_time", "end_time"],
}


class _Denied:
    """A rate-limit exception carried through the guard as a value."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


def _denied(value: Any) -> bool:
    return isinstance(value, (_Denied, BaseException))


def _same_verdict(a: Any, b: Any) -> bool:
    """Shadow-mode comparison: both denied, or both admitted (filters: the same deployments)."""
    if _denied(a) or _denied(b):
        return _denied(a) and _denied(b)
    if isinstance(a, list) and isinstance(b, list):
        return [id(x) for x in a] == [id(x) for x in b]
    return True


def _returning_denial_async(
    fn: Callable[..., Awaitable[Any]], error_type: type[BaseException]
) -> Callable[..., Awaitable[Any]]:
    async def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        except error_type as exc:
            return _Denied(exc)

    return call


def _returning_denial(fn: Callable[..., Any], error_type: type[BaseException]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except error_type as exc:
            return _Denied(exc)

    return call


class RateLimitAttachment(Attachment):
    feature = "ratelimit"

    def _check_class(self) -> Any:
        return getattr(importlib.import_module(CHECK_MODULE), CHECK_CLASS)

    def problems(self) -> list[str]:
        try:
            cls = self._check_class()
        except (ImportError, AttributeError) as exc:
            return [f"{CHECK_MODULE}.{CHECK_CLASS} not found ({exc})"]
        out = []
        for name, params in EXPECTED.items():
            fn = cls.__dict__.get(name)
            if not callable(fn):
                out.append(f"{CHECK_CLASS}.{name} not found")
                continue
            try:
                found = list(inspect.signature(fn).parameters)
            except (TypeError, ValueError):
                out.append(f"{CHECK_CLASS}.{name} has no readable signature")
                continue
            if found != params:
                out.append(f"{CHECK_CLASS}.{name} signature changed: {found} (expected {params})")
        return out

    def attach(self, implementation: Any, guard: Guard, patcher: Patcher) -> None:
        import litellm

        factory = getattr(implementation, "router_integration", None)
        if factory is None:
            raise TypeError(f"{type(implementation).__name__} has no router_integration(); nothing to attach")
        integration = factory()
        cls = self._check_class()
        rate_error = litellm.RateLimitError

        # A verdict (the deployment, or the exception to raise) when the integration offers one:
        # one coroutine less on the accelerated path than wrapping its raising method.
        accel_async = getattr(integration, "async_pre_call_verdict", None)
        if accel_async is None:
            accel_async = _returning_denial_async(integration.async_pre_call_check, rate_error)
        accel_sync = getattr(integration, "pre_call_verdict", None)
        if accel_sync is None:
            accel_sync = _returning_denial(integration.pre_call_check, rate_error)

        stock_async = cls.__dict__["async_pre_call_check"]
        guarded_async = guard.wrap_async(
            accel_async,
            _returning_denial_async(stock_async, rate_error),
            compare=_same_verdict,
        )

        @functools.wraps(stock_async)
        async def async_pre_call_check(self: Any, deployment: dict, parent_otel_span: Any = None) -> Any:
            result = await guarded_async(self, deployment, parent_otel_span)
            if isinstance(result, _Denied):
                raise result.error
            if isinstance(result, BaseException):
                raise result
            return result

        stock_sync = cls.__dict__["pre_call_check"]
        guarded_sync = guard.wrap(
            accel_sync,
            _returning_denial(stock_sync, rate_error),
            compare=_same_verdict,
        )

        @functools.wraps(stock_sync)
        def pre_call_check(self: Any, deployment: dict) -> Any:
            result = guarded_sync(self, deployment)
            if isinstance(result, _Denied):
                raise result.error
            if isinstance(result, BaseException):
                raise result
            return result

        stock_filter = cls.async_filter_deployments  # inherited from CustomLogger: returns its input
        guarded_filter = guard.wrap_async(
            _returning_denial_async(integration.async_filter_deployments, rate_error),
            _returning_denial_async(stock_filter, rate_error),
            compare=_same_verdict,
        )

        @functools.wraps(stock_filter)
        async def async_filter_deployments(
            self: Any,
            model: str,
            healthy_deployments: list,
            messages: Any = None,
            request_kwargs: dict | None = None,
            parent_otel_span: Any = None,
        ) -> Any:
            result = await guarded_filter(self, model, healthy_deployments, messages, request_kwargs, parent_otel_span)
            if isinstance(result, _Denied):
                raise result.error
            return result

        stock_success = cls.__dict__["async_log_success_event"]

        @functools.wraps(stock_success)
        async def async_log_success_event(
            self: Any, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
        ) -> Any:
            result = await stock_success(self, kwargs, response_obj, start_time, end_time)
            try:
                await integration.record_success(kwargs)
            except Exception as exc:  # usage accounting never fails the logging pipeline
                logger.debug("litellm-accel ratelimit: recording usage failed: %s", exc)
            return result

        stock_success_sync = cls.__dict__["log_success_event"]

        @functools.wraps(stock_success_sync)
        def log_success_event(self: Any, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> Any:
            result = stock_success_sync(self, kwargs, response_obj, start_time, end_time)
            try:
                integration.record_success_sync(kwargs)
            except Exception as exc:
                logger.debug("litellm-accel ratelimit: recording usage failed: %s", exc)
            return result

        patcher.set(cls, "async_pre_call_check", async_pre_call_check)
        patcher.set(cls, "pre_call_check", pre_call_check)
        patcher.set(cls, "async_filter_deployments", async_filter_deployments)
        patcher.set(cls, "async_log_success_event", async_log_success_event)
        patcher.set(cls, "log_success_event", log_success_event)
