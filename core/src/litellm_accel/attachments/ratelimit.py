"""Rate limiting: the Router's ``enforce_model_rate_limits`` check decided by the selected limiter.

litellm builds a ``ModelRateLimitingCheck`` (a ``CustomLogger``) for
``optional_pre_call_checks: ["enforce_model_rate_limits"]`` and the router core calls its
``async_pre_call_check`` / ``pre_call_check`` on the picked deployment and its
``async_filter_deployments`` on the candidates. Those methods are replaced on the class (so routers
built before and after ``install()`` are both reached) with guarded versions whose accelerated side
comes from ``implementation.router_integration()``. The integration's usage recording runs after
stock's ``async_log_success_event`` / ``log_success_event``, which keep running unchanged.

A limit decision is an exception (``litellm.RateLimitError``); the guard is told it is the
implementation's answer (``answers=``), so it reaches the caller unchanged and is never counted as an
implementation error. The proxy hook is not attached here: it is a ``CustomLogger`` the user lists
in the proxy's ``callbacks:`` (see docs/ratelimit.md).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import logging
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


def _same_verdict(a: Any, b: Any) -> bool:
    """Shadow-mode comparison of two admissions (denials are exceptions, compared by type by the
    guard): filters must keep the same deployments; a pre-call check admits either way."""
    if isinstance(a, list) and isinstance(b, list):
        return [id(x) for x in a] == [id(x) for x in b]
    return True


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

        # A denial is litellm's RateLimitError: the guard passes it through as the implementation's
        # answer (``answers=``), so it is neither an error nor a reason to ask stock again.
        answers = (rate_error,)
        async_pre_call_check = guard.wrap_async(
            integration.async_pre_call_check,
            cls.__dict__["async_pre_call_check"],
            compare=_same_verdict,
            answers=answers,
        )
        pre_call_check = guard.wrap(
            integration.pre_call_check, cls.__dict__["pre_call_check"], compare=_same_verdict, answers=answers
        )
        # Inherited from CustomLogger (returns its input): wrapped with the same signature.
        async_filter_deployments = guard.wrap_async(
            integration.async_filter_deployments,
            cls.async_filter_deployments,
            compare=_same_verdict,
            answers=answers,
        )

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
