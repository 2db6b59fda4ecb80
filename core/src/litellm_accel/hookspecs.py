"""Hook specifications of the litellm-accel plugin API (version :data:`PLUGIN_API_VERSION`).

A plugin is a module (usually ``<package>.hooks``) named by an entry point in the group
``litellm_accel``. It declares ``LITELLM_ACCEL_API_VERSION = "1.0"`` and implements any of the hooks
below with :data:`litellm_accel.hookimpl`.

Registration hooks return *implementation classes*. They are called once, when the host discovers
plugins; the host then instantiates the one implementation selected per feature and binds it
directly into litellm. Pluggy is therefore never on the per-request path.

Rules for the API's evolution: hooks and hook arguments are only ever added (bumping the minor
version), never removed or renamed without a major version bump.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

from litellm_accel._version import PLUGIN_API_VERSION

if TYPE_CHECKING:
    from litellm_accel.contracts import (
        ConnectionPool,
        HealthReport,
        RateLimiter,
        RoutingStrategy,
        TokenCounter,
    )
    from litellm_accel.settings import AccelSettings

PROJECT_NAME = "litellm_accel"
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

__all__ = ["PLUGIN_API_VERSION", "PROJECT_NAME", "hookimpl", "hookspec"]


@hookspec
def litellm_accel_token_counters() -> list[type[TokenCounter]]:
    """Return token-counting implementation classes offered by this plugin.

    Each class meets :class:`litellm_accel.contracts.TokenCounter`: a unique ``name`` class
    attribute, a constructor taking an :class:`~litellm_accel.contracts.ImplementationContext`,
    and ``count(...)`` returning exactly what stock
    ``litellm.litellm_core_utils.token_counter.token_counter`` returns for the same arguments.
    """


@hookspec
def litellm_accel_routing_strategies() -> list[type[RoutingStrategy]]:
    """Return routing implementation classes offered by this plugin.

    Each class meets :class:`litellm_accel.contracts.RoutingStrategy`: it picks a deployment with
    the same eligibility rules as stock ``litellm.Router`` (model groups, cooldowns, tags,
    pre-call checks) and keeps stock's pick distribution.
    """


@hookspec
def litellm_accel_connection_pools() -> list[type[ConnectionPool]]:
    """Return HTTP connection-pool implementation classes offered by this plugin.

    Each class meets :class:`litellm_accel.contracts.ConnectionPool`: it hands litellm httpx-compatible
    clients shared per provider endpoint and event loop, bounded, and closed on ``close()``.
    """


@hookspec
def litellm_accel_rate_limiters() -> list[type[RateLimiter]]:
    """Return rate-limiter implementation classes offered by this plugin.

    Each class meets :class:`litellm_accel.contracts.RateLimiter`: RPM/TPM/concurrency decisions per
    scope that are exact under concurrency, returning allowed/denied, remaining and retry-after.
    """


@hookspec
def litellm_accel_startup(settings: AccelSettings) -> None:
    """Called once by :func:`litellm_accel.install` after the selected implementations are attached.

    ``settings`` is the effective, validated configuration. Must not raise; an exception is logged
    and ignored.
    """


@hookspec
def litellm_accel_shutdown() -> None:
    """Called once by :func:`litellm_accel.uninstall` before litellm is restored. Must not raise."""


@hookspec
def litellm_accel_health() -> list[HealthReport] | None:
    """Return health reports for ``litellm-accel doctor`` (for example "Redis reachable").

    Called on demand, never on the request path. Return ``None`` or an empty list when there is
    nothing to report.
    """


def _all_hook_names() -> list[str]:
    """Names of every hookspec in this module, in definition order (used by docs coverage tests)."""
    return [name for name, value in globals().items() if name.startswith("litellm_accel_") and callable(value)]


def describe_hooks() -> dict[str, Any]:
    """Map each hook name to its function object (for documentation and the ``plugins`` command)."""
    return {name: globals()[name] for name in _all_hook_names()}
