"""Contract for rate-limiter implementations (owned by the ratelimit feature).

A rate limiter decides requests-per-window, tokens-per-window and concurrency limits for a set of
*scopes* (a deployment, a model group, an API key, a user, a team or a custom key) in one atomic step:
either every scope admits the request and all of them are charged, or none is charged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

from litellm_accel.contracts.common import ImplementationContext


@dataclass(frozen=True)
class LimitDecision:
    """Outcome of one limit check.

    ``allowed``: whether every scope admitted the request. ``remaining``: what is left of the binding
    limit after this request (requests, tokens or slots; the smallest headroom over all scopes when
    allowed). ``retry_after``: seconds until the denied request would be admitted (0 when allowed).
    ``scope``/``metric``: the scope key and metric (``requests``, ``tokens``, ``concurrency``) that
    denied the request, or the tightest one when allowed. ``lease``: what :meth:`RateLimiter.release`
    needs to give back concurrency slots and reconcile reserved tokens (``None`` when denied).
    """

    allowed: bool
    remaining: float
    retry_after: float
    scope: str = ""
    metric: str = ""
    lease: Any = None


@runtime_checkable
class RateLimiter(Protocol):
    """Decides RPM/TPM/concurrency limits per scope, exactly under concurrency.

    ``scopes`` is a sequence of scope objects or configured scope keys (implementation-defined, for
    the built-in one :class:`litellm_accel_ratelimit.Scope` or ``"team:acme"``). ``tokens`` is the
    token estimate reserved against TPM limits; :meth:`release` reconciles it with ``used_tokens``
    (the real usage) or refunds it (``used_tokens=None`` after a failure) and frees concurrency slots.
    A limiter never raises because its shared store is unreachable: it applies its failure policy.

    Optional member used by the host's Router attachment: ``router_integration()`` returning an object
    with ``async_pre_call_check(check, deployment, parent_otel_span)``, ``pre_call_check(check,
    deployment)``, ``async_filter_deployments(check, model, healthy_deployments, messages,
    request_kwargs, parent_otel_span)``, ``record_success(kwargs)`` and ``record_success_sync(kwargs)``
    (the ``ModelRateLimitingCheck`` methods it replaces), and optionally ``async_pre_call_verdict`` /
    ``pre_call_verdict`` (same arguments, returning the exception instead of raising it); without
    ``router_integration`` the feature is skipped.
    """

    name: ClassVar[str]

    def __init__(self, context: ImplementationContext) -> None: ...

    async def acquire(self, scopes: Any, *, tokens: int = 0) -> LimitDecision: ...

    def acquire_sync(self, scopes: Any, *, tokens: int = 0) -> LimitDecision: ...

    async def release(self, lease: Any, *, used_tokens: int | None = None) -> None: ...

    def release_sync(self, lease: Any, *, used_tokens: int | None = None) -> None: ...

    def close(self) -> None: ...
