"""The guard around every accelerated call: flag, timing, fallback to stock, error budget, metrics.

The fast path (flag ``on``, error budget closed) costs one attribute check, two clock reads, the
implementation call and a histogram increment; everything else (canary routing, shadow runs,
fallbacks, a tripped budget) takes the slow path. An implementation's exception never reaches the
caller: stock litellm answers instead, and the error is counted.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from litellm_accel.breaker import CLOSED, OPEN, ErrorBudgetBreaker
from litellm_accel.contracts.common import UseStock
from litellm_accel.flags import SHADOW, STOCK, FeatureFlag
from litellm_accel.metrics import FeatureMetrics
from litellm_accel.settings import ErrorBudget, FlagState

logger = logging.getLogger("litellm_accel.guard")

T = TypeVar("T")
KeyFn = Callable[[tuple[Any, ...], dict[str, Any]], "str | None"]
CompareFn = Callable[[Any, Any], bool]

_MISSING = object()


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


def _same_outcome(
    compare: CompareFn, accel: tuple[Any, BaseException | None], stock: tuple[Any, BaseException | None]
) -> bool:
    accel_value, accel_exc = accel
    stock_value, stock_exc = stock
    if accel_exc is not None or stock_exc is not None:
        return type(accel_exc) is type(stock_exc)
    try:
        return bool(compare(accel_value, stock_value))
    except Exception:  # a comparison that cannot run counts as a mismatch
        return False


def _equal(a: Any, b: Any) -> bool:
    return bool(a == b)


class Guard:
    """Wraps one feature's implementation calls. Create one per installed feature."""

    def __init__(
        self,
        feature: str,
        implementation: str,
        flag: FeatureFlag,
        metrics: FeatureMetrics,
        budget: ErrorBudget,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.feature = feature
        self.implementation = implementation
        self.flag = flag
        self.metrics = metrics
        self.breaker = ErrorBudgetBreaker(
            budget.max_errors,
            budget.window_seconds,
            budget.cooldown_seconds,
            clock=clock,
            on_change=self._on_breaker_change,
        )
        self.fast = False
        self._warned_error = False
        flag.subscribe(self._on_flag_change)
        self._refresh()

    # -- state -----------------------------------------------------------------------------------
    def _refresh(self) -> None:
        self.fast = self.flag.state is FlagState.ON and self.breaker.state == CLOSED

    def _on_flag_change(self, _flag: FeatureFlag) -> None:
        self._refresh()

    def _on_breaker_change(self, state: str) -> None:
        self._refresh()
        if state == OPEN:
            logger.warning(
                "litellm-accel %s (%s): error budget exhausted, serving stock litellm for %.0fs",
                self.feature,
                self.implementation,
                self.breaker.cooldown_seconds,
            )
        elif state == CLOSED:
            logger.info("litellm-accel %s (%s): error budget recovered", self.feature, self.implementation)

    def close(self) -> None:
        """Stop listening to the flag (called on uninstall)."""
        self.flag.unsubscribe(self._on_flag_change)

    def _error(self, exc: BaseException) -> None:
        m = self.metrics
        m.errors += 1
        m.last_error = _describe(exc)
        if not self._warned_error:
            self._warned_error = True
            logger.warning(
                "litellm-accel %s (%s) raised %s; answered by stock litellm (further errors logged at DEBUG)",
                self.feature,
                self.implementation,
                m.last_error,
                exc_info=exc,
            )
        else:
            logger.debug("litellm-accel %s error: %s", self.feature, m.last_error)
        if self.breaker.record_error():
            m.breaker_trips += 1

    def _mismatch(self, accel: tuple[Any, BaseException | None], stock: tuple[Any, BaseException | None]) -> None:
        m = self.metrics
        m.shadow_mismatches += 1
        a = _describe(accel[1]) if accel[1] is not None else repr(accel[0])
        s = _describe(stock[1]) if stock[1] is not None else repr(stock[0])
        m.last_mismatch = f"accelerated={a[:200]} stock={s[:200]}"
        logger.info("litellm-accel %s shadow mismatch: %s", self.feature, m.last_mismatch)

    @staticmethod
    def _key(key_fn: KeyFn | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
        if key_fn is None:
            return None
        try:
            return key_fn(args, kwargs)
        except Exception:
            return None

    # -- sync --------------------------------------------------------------------------------------
    def wrap(
        self,
        accel: Callable[..., T],
        stock: Callable[..., T],
        *,
        key: KeyFn | None = None,
        compare: CompareFn | None = None,
        answers: tuple[type[BaseException], ...] = (),
    ) -> Callable[..., T]:
        """Return a function with ``stock``'s signature that serves calls through the guard.

        ``answers``: exception types that are the implementation's *answer*, not a failure (a rate
        limiter's ``RateLimitError``): they reach the caller as the accelerated result, count as
        accelerated and, in shadow mode, match a stock exception of the same type.
        """
        guard = self
        metrics = self.metrics
        record = metrics.latency.record
        clock = time.perf_counter_ns
        cmp = compare or _equal

        @functools.wraps(stock)
        def guarded(*args: Any, **kwargs: Any) -> T:
            if guard.fast:
                metrics.calls += 1
                t0 = clock()
                try:
                    result = accel(*args, **kwargs)
                except UseStock:
                    metrics.delegated += 1
                    return stock(*args, **kwargs)
                except answers:
                    record(clock() - t0)
                    metrics.accelerated += 1
                    raise
                except Exception as exc:
                    guard._error(exc)
                    metrics.fallbacks += 1
                    return stock(*args, **kwargs)
                record(clock() - t0)
                metrics.accelerated += 1
                return result
            return guard._slow(accel, stock, key, cmp, answers, args, kwargs)

        guarded.__litellm_accel_guard__ = self  # type: ignore[attr-defined]
        return guarded

    def _slow(
        self,
        accel: Callable[..., T],
        stock: Callable[..., T],
        key_fn: KeyFn | None,
        compare: CompareFn,
        answers: tuple[type[BaseException], ...],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> T:
        m = self.metrics
        m.calls += 1
        route = self.flag.route(self._key(key_fn, args, kwargs))
        if route == STOCK or not self.breaker.allow():
            m.stock += 1
            return stock(*args, **kwargs)
        if route == SHADOW:
            return self._shadow(accel, stock, compare, answers, args, kwargs)
        t0 = time.perf_counter_ns()
        try:
            result = accel(*args, **kwargs)
        except UseStock:
            m.delegated += 1
            self.breaker.record_success()
            return stock(*args, **kwargs)
        except answers:
            m.latency.record(time.perf_counter_ns() - t0)
            m.accelerated += 1
            self.breaker.record_success()
            raise
        except Exception as exc:
            self._error(exc)
            m.fallbacks += 1
            return stock(*args, **kwargs)
        m.latency.record(time.perf_counter_ns() - t0)
        m.accelerated += 1
        self.breaker.record_success()
        return result

    def _shadow(
        self,
        accel: Callable[..., T],
        stock: Callable[..., T],
        compare: CompareFn,
        answers: tuple[type[BaseException], ...],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> T:
        m = self.metrics
        m.shadow_runs += 1
        t0 = time.perf_counter_ns()
        stock_value: Any = _MISSING
        stock_exc: BaseException | None = None
        try:
            stock_value = stock(*args, **kwargs)
        except Exception as exc:
            stock_exc = exc
        m.stock_latency.record(time.perf_counter_ns() - t0)
        t1 = time.perf_counter_ns()
        accel_value: Any = _MISSING
        accel_exc: BaseException | None = None
        delegated = False
        try:
            accel_value = accel(*args, **kwargs)
        except UseStock:
            delegated = True
        except Exception as exc:
            accel_exc = exc
        self._judge_shadow(compare, answers, delegated, t1, (accel_value, accel_exc), (stock_value, stock_exc))
        if stock_exc is not None:
            raise stock_exc
        return stock_value  # type: ignore[no-any-return]

    def _judge_shadow(
        self,
        compare: CompareFn,
        answers: tuple[type[BaseException], ...],
        delegated: bool,
        accel_started_ns: int,
        accel: tuple[Any, BaseException | None],
        stock: tuple[Any, BaseException | None],
    ) -> None:
        """Record a shadow run's accelerated timing and any difference from stock's outcome."""
        m = self.metrics
        if delegated:
            m.delegated += 1
            return
        m.latency.record(time.perf_counter_ns() - accel_started_ns)
        if not _same_outcome(compare, accel, stock):
            if accel[1] is not None and stock[1] is None and not isinstance(accel[1], answers):
                self._error(accel[1])
            self._mismatch(accel, stock)

    # -- async -------------------------------------------------------------------------------------
    def wrap_async(
        self,
        accel: Callable[..., Awaitable[T]],
        stock: Callable[..., Awaitable[T]],
        *,
        key: KeyFn | None = None,
        compare: CompareFn | None = None,
        answers: tuple[type[BaseException], ...] = (),
    ) -> Callable[..., Awaitable[T]]:
        """Like :meth:`wrap` for coroutine functions. Cancellation is never swallowed."""
        guard = self
        metrics = self.metrics
        record = metrics.latency.record
        clock = time.perf_counter_ns
        cmp = compare or _equal

        @functools.wraps(stock)
        async def guarded(*args: Any, **kwargs: Any) -> T:
            if guard.fast:
                metrics.calls += 1
                t0 = clock()
                try:
                    result = await accel(*args, **kwargs)
                except UseStock:
                    metrics.delegated += 1
                    return await stock(*args, **kwargs)
                except answers:
                    record(clock() - t0)
                    metrics.accelerated += 1
                    raise
                except Exception as exc:
                    guard._error(exc)
                    metrics.fallbacks += 1
                    return await stock(*args, **kwargs)
                record(clock() - t0)
                metrics.accelerated += 1
                return result
            return await guard._aslow(accel, stock, key, cmp, answers, args, kwargs)

        guarded.__litellm_accel_guard__ = self  # type: ignore[attr-defined]
        return guarded

    async def _aslow(
        self,
        accel: Callable[..., Awaitable[T]],
        stock: Callable[..., Awaitable[T]],
        key_fn: KeyFn | None,
        compare: CompareFn,
        answers: tuple[type[BaseException], ...],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> T:
        m = self.metrics
        m.calls += 1
        route = self.flag.route(self._key(key_fn, args, kwargs))
        if route == STOCK or not self.breaker.allow():
            m.stock += 1
            return await stock(*args, **kwargs)
        if route == SHADOW:
            m.shadow_runs += 1
            t0 = time.perf_counter_ns()
            stock_value: Any = _MISSING
            stock_exc: BaseException | None = None
            try:
                stock_value = await stock(*args, **kwargs)
            except Exception as exc:
                stock_exc = exc
            m.stock_latency.record(time.perf_counter_ns() - t0)
            t1 = time.perf_counter_ns()
            accel_value: Any = _MISSING
            accel_exc: BaseException | None = None
            delegated = False
            try:
                accel_value = await accel(*args, **kwargs)
            except UseStock:
                delegated = True
            except Exception as exc:
                accel_exc = exc
            self._judge_shadow(compare, answers, delegated, t1, (accel_value, accel_exc), (stock_value, stock_exc))
            if stock_exc is not None:
                raise stock_exc
            return stock_value  # type: ignore[no-any-return]
        t0 = time.perf_counter_ns()
        try:
            result = await accel(*args, **kwargs)
        except UseStock:
            m.delegated += 1
            self.breaker.record_success()
            return await stock(*args, **kwargs)
        except answers:
            m.latency.record(time.perf_counter_ns() - t0)
            m.accelerated += 1
            self.breaker.record_success()
            raise
        except Exception as exc:
            self._error(exc)
            m.fallbacks += 1
            return await stock(*args, **kwargs)
        m.latency.record(time.perf_counter_ns() - t0)
        m.accelerated += 1
        self.breaker.record_success()
        return result
