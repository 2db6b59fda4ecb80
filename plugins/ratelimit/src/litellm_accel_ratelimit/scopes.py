"""Scopes (what a limit applies to) and the limit entries they compile to.

A scope is a kind (``deployment``, ``model_group``, ``api_key``, ``user``, ``team``, ``custom``) and
an id; its key is ``"<kind>:<id>"``. Each set limit of a scope compiles to one :class:`Entry`, the unit
both backends decide on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from litellm_accel_ratelimit.algorithms import EPSILON

SCOPE_KINDS: tuple[str, ...] = ("deployment", "model_group", "api_key", "user", "team", "custom")
ALGORITHMS: tuple[str, ...] = ("gcra", "sliding_window", "fixed_window")
MAX_ID_LENGTH = 512

Metric = Literal["requests", "tokens", "concurrency"]
_FORBIDDEN = re.compile(r"[{}\x00-\x1f\x7f]")

#: Entry kinds, one letter each because they travel to the Redis script on every call.
GCRA, SLIDING, FIXED_CLOCK, FIXED_FIRST, CONCURRENCY = "g", "s", "f", "F", "c"


def check_scope_id(kind: str, scope_id: object) -> str:
    """Return ``scope_id`` if it is a usable id for ``kind``, else raise ``ValueError`` naming it."""
    if kind not in SCOPE_KINDS:
        raise ValueError(f"unknown scope kind {kind!r}; valid kinds: {', '.join(SCOPE_KINDS)}")
    if not isinstance(scope_id, str) or not scope_id:
        raise ValueError(f"scope {kind}:{scope_id!r}: the id must be a non-empty string")
    if len(scope_id) > MAX_ID_LENGTH:
        raise ValueError(f"scope {kind}:{scope_id[:40]!r}...: the id is longer than {MAX_ID_LENGTH} characters")
    if _FORBIDDEN.search(scope_id):
        raise ValueError(f"scope {kind}:{scope_id!r}: the id may not contain braces or control characters")
    return scope_id


def parse_scope_key(key: str) -> tuple[str, str]:
    """Split ``"<kind>:<id>"`` and check both parts; raise ``ValueError`` naming the key."""
    kind, sep, scope_id = str(key).partition(":")
    if not sep:
        raise ValueError(
            f"malformed scope key {key!r}; expected '<kind>:<id>' with kind one of {', '.join(SCOPE_KINDS)}"
        )
    try:
        check_scope_id(kind, scope_id)
    except ValueError as exc:
        raise ValueError(f"malformed scope key {key!r}: {exc}") from None
    return kind, scope_id


def _positive(name: str, value: int | None, key: str) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
        raise ValueError(f"scope {key}: {name} must be a positive integer or None, got {value!r}")


@dataclass(frozen=True)
class Scope:
    """One scope with its limits (``None``: unlimited). Validated on creation.

    ``algorithm`` overrides the limiter's configured algorithm for this scope's rpm/tpm limits.
    """

    kind: str
    id: str
    rpm: int | None = None
    tpm: int | None = None
    max_parallel: int | None = None
    algorithm: str | None = None
    key: str = field(init=False, compare=False, repr=False)
    _hash: int = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        check_scope_id(self.kind, self.id)
        key = f"{self.kind}:{self.id}"
        _positive("rpm", self.rpm, key)
        _positive("tpm", self.tpm, key)
        _positive("max_parallel", self.max_parallel, key)
        if self.algorithm is not None and self.algorithm not in ALGORITHMS:
            raise ValueError(f"scope {key}: unknown algorithm {self.algorithm!r}; valid: {', '.join(ALGORITHMS)}")
        object.__setattr__(self, "key", key)
        # Scopes are dictionary keys on the hot path: hash once.
        object.__setattr__(self, "_hash", hash((key, self.rpm, self.tpm, self.max_parallel, self.algorithm)))

    def __hash__(self) -> int:
        return self._hash


@dataclass(frozen=True, slots=True)
class Entry:
    """One limit to decide: ``limit`` units per ``period`` seconds (slots for concurrency).

    ``key`` is the storage key (without the backend's prefix); ``metric`` what is counted.
    """

    kind: str
    key: str
    scope: str
    metric: Metric
    limit: int
    period: float
    #: Derived once at compile time for the in-memory decision (one attribute read and one unpack
    #: per entry instead of several attribute reads and divisions per call):
    #: ``(kind, key, limit, period, period + EPSILON, period / limit, metric == "tokens")``.
    row: tuple[str, str, int, float, float, float, bool] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        interval = self.period / self.limit if self.limit else 0.0
        object.__setattr__(
            self,
            "row",
            (self.kind, self.key, self.limit, self.period, self.period + EPSILON, interval, self.metric == "tokens"),
        )


def compile_scope(scope: Scope, algorithm: str, alignment: str, period: float) -> tuple[Entry, ...]:
    """The entries of ``scope``: tokens, requests, then concurrency, each only if its limit is set."""
    alg = scope.algorithm or algorithm
    if alg == "gcra":
        rate_kind = GCRA
    elif alg == "sliding_window":
        rate_kind = SLIDING
    else:
        rate_kind = FIXED_FIRST if alignment == "first_request" else FIXED_CLOCK
    entries = []
    # Tokens first: when both deny with the same wait, the reported metric is tokens, as in stock's
    # router check (which checks TPM before RPM).
    if scope.tpm is not None:
        key = f"{scope.key}:tpm:{rate_kind}:{period:g}"
        entries.append(Entry(rate_kind, key, scope.key, "tokens", scope.tpm, period))
    if scope.rpm is not None:
        key = f"{scope.key}:rpm:{rate_kind}:{period:g}"
        entries.append(Entry(rate_kind, key, scope.key, "requests", scope.rpm, period))
    if scope.max_parallel is not None:
        entries.append(Entry(CONCURRENCY, f"{scope.key}:slots", scope.key, "concurrency", scope.max_parallel, 0.0))
    return tuple(entries)
