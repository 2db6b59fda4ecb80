"""The built-in rate limiter: scopes -> limit entries -> one atomic decision on a backend.

Public API (sync and async): :meth:`BuiltinRateLimiter.acquire` / :meth:`~BuiltinRateLimiter.release`,
:meth:`~BuiltinRateLimiter.slot` (async context manager) and :meth:`~BuiltinRateLimiter.slot_sync`,
:meth:`~BuiltinRateLimiter.peek` (decide without charging) and
:meth:`~BuiltinRateLimiter.record_usage` (charge tokens after the fact). A limiter never raises
because Redis is unreachable: it applies ``failure_policy`` (see docs/ratelimit.md).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import os
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from typing import Any, ClassVar

from litellm_accel.contracts import ImplementationContext, LimitDecision
from litellm_accel.contracts.common import HealthReport
from litellm_accel.metrics import FeatureMetrics
from litellm_accel_ratelimit.failover import RedisBreaker
from litellm_accel_ratelimit.memory import MemoryBackend, Outcome
from litellm_accel_ratelimit.options import RateLimitOptions, parse_options
from litellm_accel_ratelimit.scopes import CONCURRENCY, Entry, Scope, compile_scope, parse_scope_key

logger = logging.getLogger("litellm_accel.ratelimit")

ScopeLike = Scope | str

#: Every live limiter, for ``litellm-accel doctor``.
LIVE_LIMITERS: weakref.WeakSet[BuiltinRateLimiter] = weakref.WeakSet()

_INF = float("inf")


class RateLimitExceeded(Exception):
    """Raised by :meth:`BuiltinRateLimiter.slot` when the request is denied."""

    def __init__(self, decision: LimitDecision) -> None:
        super().__init__(
            f"rate limit exceeded for {decision.scope or 'unknown scope'} ({decision.metric or 'unknown'}); "
            f"retry after {decision.retry_after:.3f}s"
        )
        self.decision = decision
        self.retry_after = decision.retry_after


class Lease:
    """What an admitted request holds until :meth:`BuiltinRateLimiter.release`.

    Set ``used_tokens`` inside a ``slot()`` block to reconcile the reservation with real usage.
    ``backend`` is "memory", "redis", "local" (fallback limiter) or "none" (fail-open, nothing held).
    A plain class with ``__slots__`` (one is built per admitted request); compares by identity.
    """

    __slots__ = ("backend", "entries", "released", "slot_id", "tokens", "used_tokens", "window_starts")

    def __init__(
        self,
        entries: tuple[Entry, ...],
        tokens: int,
        slot_id: str | None,
        window_starts: tuple[float, ...],
        backend: str,
        used_tokens: int | None = None,
        released: bool = False,
    ) -> None:
        self.entries = entries
        self.tokens = tokens
        self.slot_id = slot_id
        self.window_starts = window_starts
        self.backend = backend
        self.used_tokens = used_tokens
        self.released = released

    def __repr__(self) -> str:
        return (
            f"Lease(entries={self.entries!r}, tokens={self.tokens!r}, slot_id={self.slot_id!r}, "
            f"window_starts={self.window_starts!r}, backend={self.backend!r}, "
            f"used_tokens={self.used_tokens!r}, released={self.released!r})"
        )


_new = object.__new__
_set = object.__setattr__


def _limit_decision(
    allowed: bool, remaining: float, retry_after: float, scope: str, metric: str, lease: Any
) -> LimitDecision:
    """``LimitDecision(...)`` without the frozen dataclass's six ``object.__setattr__`` calls (the
    same instance: same class, same fields, equal to one built the ordinary way)."""
    decision = _new(LimitDecision)
    _set(
        decision,
        "__dict__",
        {
            "allowed": allowed,
            "remaining": remaining,
            "retry_after": retry_after,
            "scope": scope,
            "metric": metric,
            "lease": lease,
        },
    )
    return decision


class BuiltinRateLimiter:
    """RPM/TPM/concurrency limits per scope, in memory or on Redis. See docs/ratelimit.md."""

    name: ClassVar[str] = "builtin"

    def __init__(
        self,
        context: ImplementationContext | None = None,
        *,
        options: RateLimitOptions | dict[str, Any] | None = None,
        redis_url: str | None = None,
        clock: Callable[[], float] | None = None,
        metrics: FeatureMetrics | None = None,
    ) -> None:
        if context is not None:
            raw = context.options if options is None else options
            redis_url = redis_url or context.accel_settings.redis_url
            metrics = metrics or context.metrics
        else:
            raw = options or {}
        self.options = raw if isinstance(raw, RateLimitOptions) else parse_options(dict(raw))
        opts = self.options
        self.metrics = metrics if metrics is not None else FeatureMetrics("ratelimit", self.name)
        self.clock = clock or time.time
        self.memory = MemoryBackend(self.clock)
        self.redis: Any = None
        if opts.backend == "redis" and not redis_url:
            from litellm_accel.errors import ConfigError

            raise ConfigError("ratelimit.options.backend = 'redis' needs redis_url to be set")
        if redis_url and opts.backend != "memory":
            from litellm_accel_ratelimit.redis_backend import RedisBackend

            self.redis = RedisBackend(
                redis_url,
                key_prefix=opts.key_prefix,
                timeout_seconds=opts.redis_timeout_ms / 1000,
                max_connections=opts.redis_max_connections,
            )
            try:
                self.redis.preload()
            except Exception as exc:  # Redis down at start: the failure policy applies until it is up
                logger.warning("litellm-accel ratelimit: cannot load the limiter scripts on Redis yet: %s", exc)
        self.breaker = RedisBreaker(opts.breaker_interval_seconds)
        self._slot_ttl = opts.slot_ttl_seconds
        self._slot_prefix = os.urandom(6).hex() + "-"
        self._slot_counter = itertools.count()
        self._configured: dict[str, tuple[Entry, ...]] = {}
        self._compiled: dict[tuple[Scope, str], tuple[Entry, ...]] = {}
        self._plans: dict[tuple[ScopeLike, ...], tuple[Entry, ...]] = {}
        self._scale_cache: dict[tuple[Entry, ...], tuple[Entry, ...]] = {}
        self._compile_configured()
        LIVE_LIMITERS.add(self)

    # -- scopes --------------------------------------------------------------------------------------
    def _compile_configured(self) -> None:
        opts = self.options
        for key, limits in opts.scopes.items():
            kind, scope_id = parse_scope_key(key)
            scope = Scope(kind, scope_id, limits.rpm, limits.tpm, limits.max_parallel)
            self._configured[key] = compile_scope(scope, opts.algorithm, opts.window_alignment, opts.window_seconds)

    def scope_entries(self, item: ScopeLike, algorithm: str | None = None) -> tuple[Entry, ...]:
        """The limit entries of one scope (a :class:`Scope`, or a key resolved from the options)."""
        if isinstance(item, Scope):
            cache_key = (item, algorithm or "")
            found = self._compiled.get(cache_key)
            if found is None:
                opts = self.options
                found = compile_scope(item, algorithm or opts.algorithm, opts.window_alignment, opts.window_seconds)
                if len(self._compiled) > 100_000:
                    self._compiled.clear()
                self._compiled[cache_key] = found
            return found
        found = self._configured.get(item)
        if found is not None:
            return found
        kind, scope_id = parse_scope_key(item)
        default = self.options.defaults.get(kind)
        if default is None:
            return ()
        return self.scope_entries(Scope(kind, scope_id, default.rpm, default.tpm, default.max_parallel), algorithm)

    def entries_for(self, scopes: Sequence[ScopeLike] | ScopeLike, algorithm: str | None = None) -> tuple[Entry, ...]:
        if isinstance(scopes, (Scope, str)):
            return self.scope_entries(scopes, algorithm)
        if len(scopes) == 1:
            return self.scope_entries(scopes[0], algorithm)
        if algorithm is None:
            # The per-request path: a list of scopes resolves once to its entries, then by one
            # dictionary lookup (scopes hash in O(1), see Scope.__hash__).
            try:
                key = tuple(scopes)
                found = self._plans.get(key)
            except TypeError:  # an unhashable item: resolved below, which reports it
                key = found = None
            if found is None:
                found = tuple(e for item in scopes for e in self.scope_entries(item))
                if key is not None:
                    if len(self._plans) > 100_000:
                        self._plans.clear()
                    self._plans[key] = found
            return found
        out: list[Entry] = []
        for item in scopes:
            out.extend(self.scope_entries(item, algorithm))
        return tuple(out)

    def _new_slot_id(self, entries: tuple[Entry, ...]) -> str | None:
        for e in entries:
            if e.kind == CONCURRENCY:
                return self._slot_prefix + str(next(self._slot_counter))
        return None

    # -- decisions -----------------------------------------------------------------------------------
    @staticmethod
    def _decision(
        outcome: Outcome, entries: tuple[Entry, ...], tokens: int, slot_id: str | None, backend: str
    ) -> LimitDecision:
        if not outcome.allowed:
            return _limit_decision(False, outcome.remaining, outcome.retry_after, outcome.scope, outcome.metric, None)
        lease = Lease(entries, tokens, slot_id, outcome.window_starts, backend)
        return _limit_decision(True, outcome.remaining, 0.0, outcome.scope, outcome.metric, lease)

    def _unlimited(self, entries: tuple[Entry, ...], tokens: int) -> LimitDecision:
        return LimitDecision(True, _INF, 0.0, "", "", Lease(entries, tokens, None, (), "none"))

    def _scaled(self, entries: tuple[Entry, ...]) -> tuple[Entry, ...]:
        share = self.options.local_fallback_share
        if share >= 1.0:
            return entries
        found = self._scale_cache.get(entries)
        if found is None:
            found = tuple(replace(e, limit=max(1, math.floor(e.limit * share))) for e in entries)
            self._scale_cache[entries] = found
        return found

    def _fallback(self, entries: tuple[Entry, ...], tokens: int, slot_id: str | None, charge: bool) -> LimitDecision:
        """The failure policy's decision while Redis is unusable."""
        policy = self.options.failure_policy
        m = self.metrics
        if policy == "open":
            m.incr("fail_open")
            return LimitDecision(True, _INF, 0.0, "", "", Lease(entries, tokens, None, (), "none"))
        if policy == "closed":
            m.incr("fail_closed")
            retry = max(self.breaker.seconds_until_probe(), 0.001)
            return LimitDecision(False, 0.0, retry, "redis-unavailable", "")
        m.incr("local_fallback")
        scaled = self._scaled(entries)
        outcome = self.memory.decide(scaled, tokens, slot_id, self._slot_ttl, charge=charge)
        return self._decision(outcome, scaled, tokens, slot_id, "local")

    def _redis_failed(self, exc: BaseException) -> None:
        m = self.metrics
        m.incr("redis_failures")
        if _is_timeout(exc):
            m.incr("redis_timeouts")
        text = f"{type(exc).__name__}: {exc}"[:300]
        if self.breaker.record_failure(text):
            m.incr("breaker_opened")
            m.set_gauge("redis_up", 0)
            logger.warning(
                "litellm-accel ratelimit: Redis unusable (%s); applying failure_policy=%s for %.1fs",
                text,
                self.options.failure_policy,
                self.breaker.interval,
            )
        else:
            logger.debug("litellm-accel ratelimit: Redis probe failed: %s", text)

    def _redis_ok(self) -> None:
        if self.breaker.record_success():
            self.metrics.incr("breaker_recovered")
            self.metrics.set_gauge("redis_up", 1)
            logger.warning("litellm-accel ratelimit: Redis is back; shared limits restored")

    def acquire_sync(self, scopes: Sequence[ScopeLike] | ScopeLike, *, tokens: int = 0) -> LimitDecision:
        """Decide (and charge, when admitted) every scope of one request. ``tokens`` is reserved
        against TPM limits. Release the returned ``decision.lease`` with :meth:`release_sync`."""
        entries = self.entries_for(scopes)
        if self.redis is None and entries and tokens >= 0:
            return self._memory_acquire(entries, tokens)
        return self.acquire_entries_sync(entries, tokens)

    def _memory_acquire(self, entries: tuple[Entry, ...], tokens: int) -> LimitDecision:
        """The in-memory path of :meth:`acquire_entries_sync` (``entries`` non-empty, ``tokens`` >= 0),
        with :meth:`_decision` inlined: one call per layer less on the most frequent path."""
        slot_id = self._new_slot_id(entries)
        outcome = self.memory.decide(entries, tokens, slot_id, self._slot_ttl)
        if outcome.allowed:
            lease = Lease(entries, tokens, slot_id, outcome.window_starts, "memory")
            return _limit_decision(True, outcome.remaining, 0.0, outcome.scope, outcome.metric, lease)
        return _limit_decision(False, outcome.remaining, outcome.retry_after, outcome.scope, outcome.metric, None)

    def acquire_entries_sync(self, entries: tuple[Entry, ...], tokens: int = 0) -> LimitDecision:
        """:meth:`acquire_sync` for entries already compiled with :meth:`entries_for`."""
        if tokens < 0:
            raise ValueError(f"tokens must be >= 0, got {tokens}")
        if not entries:
            return self._unlimited(entries, tokens)
        slot_id = self._new_slot_id(entries)
        redis = self.redis
        if redis is None:
            outcome = self.memory.decide(entries, tokens, slot_id, self._slot_ttl)
            return self._decision(outcome, entries, tokens, slot_id, "memory")
        if not self.breaker.allow():
            return self._fallback(entries, tokens, slot_id, True)
        try:
            outcome = redis.decide(entries, tokens, slot_id, self._slot_ttl)
        except Exception as exc:
            self._redis_failed(exc)
            return self._fallback(entries, tokens, slot_id, True)
        if self.breaker.state != "closed":
            self._redis_ok()
        return self._decision(outcome, entries, tokens, slot_id, "redis")

    async def acquire(self, scopes: Sequence[ScopeLike] | ScopeLike, *, tokens: int = 0) -> LimitDecision:
        """Async :meth:`acquire_sync` (one Redis round trip, or none in memory)."""
        entries = self.entries_for(scopes)
        if self.redis is None and entries and tokens >= 0:
            return self._memory_acquire(entries, tokens)  # no await needed in memory
        return await self.acquire_entries(entries, tokens)

    async def acquire_entries(self, entries: tuple[Entry, ...], tokens: int = 0) -> LimitDecision:
        """:meth:`acquire` for entries already compiled with :meth:`entries_for`."""
        if tokens < 0:
            raise ValueError(f"tokens must be >= 0, got {tokens}")
        if not entries:
            return self._unlimited(entries, tokens)
        slot_id = self._new_slot_id(entries)
        redis = self.redis
        if redis is None:
            outcome = self.memory.decide(entries, tokens, slot_id, self._slot_ttl)
            return self._decision(outcome, entries, tokens, slot_id, "memory")
        if not self.breaker.allow():
            return self._fallback(entries, tokens, slot_id, True)
        try:
            outcome = await redis.decide_async(entries, tokens, slot_id, self._slot_ttl)
        except Exception as exc:
            self._redis_failed(exc)
            return self._fallback(entries, tokens, slot_id, True)
        if self.breaker.state != "closed":
            self._redis_ok()
        return self._decision(outcome, entries, tokens, slot_id, "redis")

    def decide_entries_sync(self, entries: tuple[Entry, ...], tokens: int = 0) -> Outcome:
        """Decide and charge rate entries (no concurrency slots, no lease): the lean path of the
        Router check, whose charges are never given back. The failure policy applies."""
        redis = self.redis
        if redis is None:
            return self.memory.decide(entries, tokens, None, 0)
        decision = self.acquire_entries_sync(entries, tokens)
        return Outcome(decision.allowed, decision.remaining, decision.retry_after, decision.scope, decision.metric, ())

    async def decide_entries(self, entries: tuple[Entry, ...], tokens: int = 0) -> Outcome:
        """Async :meth:`decide_entries_sync`."""
        redis = self.redis
        if redis is None:
            return self.memory.decide(entries, tokens, None, 0)
        decision = await self.acquire_entries(entries, tokens)
        return Outcome(decision.allowed, decision.remaining, decision.retry_after, decision.scope, decision.metric, ())

    def peek_sync(
        self, scopes: Sequence[ScopeLike] | ScopeLike, *, tokens: int = 0, algorithm: str | None = None
    ) -> LimitDecision:
        """What :meth:`acquire_sync` would decide now, without charging anything."""
        entries = self.entries_for(scopes, algorithm)
        if not entries:
            return LimitDecision(True, _INF, 0.0)
        redis = self.redis
        if redis is None:
            return self._decision(
                self.memory.decide(entries, tokens, None, 0, charge=False), entries, tokens, None, "memory"
            )
        if not self.breaker.allow():
            return self._fallback(entries, tokens, None, False)
        try:
            outcome = redis.decide(entries, tokens, None, 0, charge=False)
        except Exception as exc:
            self._redis_failed(exc)
            return self._fallback(entries, tokens, None, False)
        self._redis_ok()
        return self._decision(outcome, entries, tokens, None, "redis")

    async def peek(
        self, scopes: Sequence[ScopeLike] | ScopeLike, *, tokens: int = 0, algorithm: str | None = None
    ) -> LimitDecision:
        """Async :meth:`peek_sync`."""
        entries = self.entries_for(scopes, algorithm)
        if not entries:
            return LimitDecision(True, _INF, 0.0)
        redis = self.redis
        if redis is None:
            return self._decision(
                self.memory.decide(entries, tokens, None, 0, charge=False), entries, tokens, None, "memory"
            )
        if not self.breaker.allow():
            return self._fallback(entries, tokens, None, False)
        try:
            outcome = await redis.decide_async(entries, tokens, None, 0, charge=False)
        except Exception as exc:
            self._redis_failed(exc)
            return self._fallback(entries, tokens, None, False)
        self._redis_ok()
        return self._decision(outcome, entries, tokens, None, "redis")

    async def peek_each(
        self, scopes: Sequence[ScopeLike], *, tokens: int = 0, algorithm: str | None = None
    ) -> list[tuple[bool, float, str]] | None:
        """For each scope on its own: ``(would admit, retry_after, denying metric)``, in one round
        trip, charging nothing. ``None`` when the shared store is unusable (keep every candidate)."""
        groups = [self.entries_for(item, algorithm) for item in scopes]
        flat = tuple(e for g in groups for e in g)
        if not flat:
            return [(True, 0.0, "")] * len(groups)
        if self.redis is None:
            outcome = self.memory.decide(flat, tokens, None, 0, charge=False)
        else:
            if not self.breaker.allow():
                return None
            try:
                outcome = await self.redis.decide_async(flat, tokens, None, 0, charge=False)
            except Exception as exc:
                self._redis_failed(exc)
                return None
            self._redis_ok()
        out: list[tuple[bool, float, str]] = []
        i = 0
        for g in groups:
            worst: tuple[float, str] | None = None
            for e, r in zip(g, outcome.results[i : i + len(g)], strict=True):
                if not r[0] and (worst is None or r[2] > worst[0]):
                    worst = (r[2], e.metric)
            i += len(g)
            out.append((True, 0.0, "") if worst is None else (False, worst[0], worst[1]))
        return out

    # -- release / reconcile -------------------------------------------------------------------------
    @staticmethod
    def _release_plan(lease: Lease, used_tokens: int | None) -> tuple[list[float], list[float | None]] | None:
        """Per-entry token deltas and windows; ``None`` when there is nothing to give back."""
        delta = (used_tokens - lease.tokens) if used_tokens is not None else -lease.tokens
        deltas: list[float] = []
        has_work = lease.slot_id is not None
        for e in lease.entries:
            d = float(delta) if e.metric == "tokens" else 0.0
            has_work = has_work or d != 0.0
            deltas.append(d)
        if not has_work:
            return None
        starts = list(lease.window_starts) or [None] * len(lease.entries)
        return deltas, starts  # type: ignore[return-value]

    def _take(self, lease: Lease | LimitDecision | None) -> Lease | None:
        if isinstance(lease, LimitDecision):
            lease = lease.lease
        if lease is None or lease.released or lease.backend == "none":
            return None
        lease.released = True
        return lease

    def release_sync(self, lease: Lease | LimitDecision | None, *, used_tokens: int | None = None) -> None:
        """Free the lease's concurrency slots and reconcile its token reservation with
        ``used_tokens`` (``None``: the call failed, refund the whole reservation). Idempotent;
        never raises (a slot that cannot be freed on Redis expires after ``slot_ttl_seconds``)."""
        taken = self._take(lease)
        if taken is None:
            return
        plan = self._release_plan(taken, used_tokens)
        if plan is None:
            return
        deltas, starts = plan
        if taken.backend != "redis":
            self.memory.adjust(taken.entries, deltas, starts, taken.slot_id)
            return
        try:
            self.redis.adjust(taken.entries, deltas, starts, taken.slot_id)
        except Exception as exc:
            self.metrics.incr("release_failures")
            self._redis_failed(exc)

    async def release(self, lease: Lease | LimitDecision | None, *, used_tokens: int | None = None) -> None:
        """Async :meth:`release_sync`."""
        taken = self._take(lease)
        if taken is None:
            return
        plan = self._release_plan(taken, used_tokens)
        if plan is None:
            return
        deltas, starts = plan
        if taken.backend != "redis":
            self.memory.adjust(taken.entries, deltas, starts, taken.slot_id)
            return
        try:
            await self.redis.adjust_async(taken.entries, deltas, starts, taken.slot_id)
        except Exception as exc:
            self.metrics.incr("release_failures")
            self._redis_failed(exc)

    def _usage_plan(
        self, scopes: Sequence[ScopeLike] | ScopeLike, tokens: int, algorithm: str | None
    ) -> tuple[tuple[Entry, ...], list[float], list[float | None]] | None:
        entries = tuple(e for e in self.entries_for(scopes, algorithm) if e.metric == "tokens")
        if not entries or tokens <= 0:
            return None
        return entries, [float(tokens)] * len(entries), [None] * len(entries)

    def record_usage_sync(
        self, scopes: Sequence[ScopeLike] | ScopeLike, tokens: int, *, algorithm: str | None = None
    ) -> None:
        """Charge ``tokens`` to the scopes' TPM limits in the current window, without a check (usage
        reported after a call that reserved nothing). Never raises."""
        plan = self._usage_plan(scopes, tokens, algorithm)
        if plan is None:
            return
        if self.redis is None:
            self.memory.adjust(*plan, None)
            return
        if not self.breaker.allow():
            if self.options.failure_policy == "local":
                self.memory.adjust(self._scaled(plan[0]), plan[1], plan[2], None)
            return
        try:
            self.redis.adjust(*plan, None)
        except Exception as exc:
            self._redis_failed(exc)

    async def record_usage(
        self, scopes: Sequence[ScopeLike] | ScopeLike, tokens: int, *, algorithm: str | None = None
    ) -> None:
        """Async :meth:`record_usage_sync`."""
        plan = self._usage_plan(scopes, tokens, algorithm)
        if plan is None:
            return
        if self.redis is None:
            self.memory.adjust(*plan, None)
            return
        if not self.breaker.allow():
            if self.options.failure_policy == "local":
                self.memory.adjust(self._scaled(plan[0]), plan[1], plan[2], None)
            return
        try:
            await self.redis.adjust_async(*plan, None)
        except Exception as exc:
            self._redis_failed(exc)

    # -- context managers ----------------------------------------------------------------------------
    @asynccontextmanager
    async def slot(self, scopes: Sequence[ScopeLike] | ScopeLike, *, tokens: int = 0) -> AsyncIterator[Lease | None]:
        """``async with limiter.slot(scopes, tokens=n) as lease:`` admits the block or raises
        :class:`RateLimitExceeded`. The lease is always released: on an exception or cancellation the
        token reservation is refunded; on success it is reconciled with ``lease.used_tokens`` if set."""
        decision = await self.acquire(scopes, tokens=tokens)
        if not decision.allowed:
            raise RateLimitExceeded(decision)
        lease: Lease | None = decision.lease
        try:
            yield lease
        except BaseException:
            await asyncio.shield(self.release(lease, used_tokens=None))
            raise
        used = lease.used_tokens if lease is not None and lease.used_tokens is not None else tokens
        await asyncio.shield(self.release(lease, used_tokens=used))

    @contextmanager
    def slot_sync(self, scopes: Sequence[ScopeLike] | ScopeLike, *, tokens: int = 0) -> Iterator[Lease | None]:
        """Sync :meth:`slot`."""
        decision = self.acquire_sync(scopes, tokens=tokens)
        if not decision.allowed:
            raise RateLimitExceeded(decision)
        lease: Lease | None = decision.lease
        try:
            yield lease
        except BaseException:
            self.release_sync(lease, used_tokens=None)
            raise
        used = lease.used_tokens if lease is not None and lease.used_tokens is not None else tokens
        self.release_sync(lease, used_tokens=used)

    # -- integrations --------------------------------------------------------------------------------
    def router_integration(self) -> Any:
        """The Router's ``enforce_model_rate_limits`` methods backed by this limiter (used by the
        host's ratelimit attachment)."""
        from litellm_accel_ratelimit.router import RouterLimits

        return RouterLimits(self)

    # -- health / lifecycle --------------------------------------------------------------------------
    def health(self) -> HealthReport:
        if self.redis is None:
            return HealthReport("ratelimit", True, "in-memory backend")
        counters = {
            k: self.metrics.counter_value(k)
            for k in (
                "redis_failures",
                "redis_timeouts",
                "breaker_opened",
                "breaker_recovered",
                "fail_open",
                "fail_closed",
                "local_fallback",
            )
        }
        summary = ", ".join(f"{k}={v}" for k, v in counters.items() if v)
        if self.breaker.state != "closed":
            return HealthReport(
                "ratelimit",
                False,
                f"Redis unusable ({self.breaker.last_error}); failure_policy={self.options.failure_policy}; "
                f"next probe in {self.breaker.seconds_until_probe():.1f}s; {summary}",
            )
        try:
            self.redis.ping()
        except Exception as exc:
            return HealthReport("ratelimit", False, f"Redis at {_redact(self.redis.url)} unreachable: {exc}")
        return HealthReport(
            "ratelimit", True, f"Redis at {_redact(self.redis.url)} reachable{'; ' + summary if summary else ''}"
        )

    def close(self) -> None:
        LIVE_LIMITERS.discard(self)
        if self.redis is not None:
            self.redis.close()
        self.memory.close()


def _is_timeout(exc: BaseException) -> bool:
    return isinstance(exc, TimeoutError) or "Timeout" in type(exc).__name__


def _redact(url: str) -> str:
    """The URL without its password."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.split("@", 1)[1]
    return scheme + sep + rest


def create_limiter(
    options: RateLimitOptions | dict[str, Any] | None = None,
    *,
    redis_url: str | None = None,
    clock: Callable[[], float] | None = None,
) -> BuiltinRateLimiter:
    """A standalone limiter for the direct Python API (no ``install()`` needed)."""
    return BuiltinRateLimiter(options=options, redis_url=redis_url, clock=clock)
