"""Entry point of litellm-accel-routing (group ``litellm_accel``): registers its implementation classes.

Kept thin on purpose: the implementation lives in its own module and is imported only when the host
asks for the registration.
"""

from __future__ import annotations

from typing import Any

from litellm_accel import hookimpl

LITELLM_ACCEL_API_VERSION = "1.0"


@hookimpl
def litellm_accel_routing_strategies() -> list[type[Any]]:
    """The built-in routing implementation (``name = "builtin"``)."""
    from litellm_accel_routing.strategy import BuiltinRouting

    return [BuiltinRouting]


@hookimpl
def litellm_accel_health() -> list[Any]:
    """``litellm-accel doctor``: does the installed litellm have the router core this plugin attaches to?"""
    from importlib import metadata

    from litellm_accel.contracts import HealthReport

    try:
        version = metadata.version("litellm")
    except metadata.PackageNotFoundError:
        return [HealthReport("routing: litellm", False, "litellm is not installed")]
    try:
        from litellm_accel.attachments.routing import RoutingAttachment

        problems = RoutingAttachment().problems()
    except Exception as exc:  # doctor reports, never raises
        problems = [f"{type(exc).__name__}: {exc}"]
    if problems:
        return [HealthReport("routing: litellm", False, f"litellm {version}: " + "; ".join(problems))]
    return [
        HealthReport("routing: litellm", True, f"litellm {version}: router core attachment points present"),
        HealthReport(
            "routing: shared state",
            True,
            "in process; stateful strategies share state through the router's own redis_url, as stock",
        ),
    ]
