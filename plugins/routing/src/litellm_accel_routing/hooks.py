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
        _shared_state_report(),
    ]


def _shared_state_report() -> Any:
    """Is shared routing state configured, and does its Redis answer?"""
    from litellm_accel.contracts import HealthReport

    component = "routing: shared state"
    try:
        from litellm_accel.settings import load_settings
        from litellm_accel_routing.options import RoutingOptions

        settings = load_settings()
        options = RoutingOptions.model_validate(dict(settings.routing.options))
    except Exception as exc:
        return HealthReport(component, False, f"configuration: {exc}")
    if not settings.redis_url or options.shared_state == "off":
        return HealthReport(component, True, "off: each process routes on its own state (set redis_url to share)")
    try:
        import redis

        client = redis.Redis.from_url(settings.redis_url, socket_timeout=options.shared_state_timeout_ms / 1000)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:
        return HealthReport(component, False, f"redis_url does not answer: {type(exc).__name__}: {exc}")
    return HealthReport(
        component, True, f"through Redis, published every {options.shared_state_flush_seconds:g} s"
    )
