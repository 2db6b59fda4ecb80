"""Building and retiring the Routers the scenarios use.

A Router is always built under the litellm of the arm that uses it (a stock one under stock litellm, an
accelerated one under the installed accelerator). Routers are built inside the bench's event loop
because litellm starts background tasks for some strategies, and retired when done so that their
callbacks leave litellm's global lists.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

from litellm_accel.bench.scenarios.base import BenchContext
from litellm_accel.errors import ConfigError

logger = logging.getLogger("litellm_accel.bench")


def build_router(ctx: BenchContext, model_list: list[dict[str, Any]], settings: dict[str, Any]) -> Any:
    """A ``litellm.Router`` over ``model_list`` with ``settings``; a bad setting is a ConfigError."""
    import litellm

    async def build() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return litellm.Router(model_list=model_list, **settings)

    try:
        return ctx.run(build())
    except TypeError as exc:
        raise ConfigError(f"router settings of {ctx.config.source} are not accepted by litellm.Router: {exc}") from None


def validate_config(ctx: BenchContext) -> None:
    """Build (and retire) one Router from the configuration before any scenario runs, so that a
    configuration litellm rejects is one ``error:`` line instead of a failed row per scenario."""
    try:
        router = build_router(ctx, ctx.config.model_list, ctx.config.router_settings)
    except ConfigError:
        raise
    except Exception as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        raise ConfigError(
            f"litellm.Router rejects the configuration in {ctx.config.source}: {type(exc).__name__}: {first_line}"
        ) from None
    retire_router(router)


def retire_router(router: Any) -> None:
    """Drop the router's global registrations (callbacks) so later routers do not pay for them."""
    for name in ("retire", "discard"):
        method = getattr(router, name, None)
        if method is None:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                method()
            return
        except Exception as exc:  # a benchmark must not fail on cleanup
            logger.debug("router.%s() failed: %s", name, exc)


def deployment_ids(model_list: list[dict[str, Any]], group: str) -> set[str]:
    return {
        str(d.get("model_info", {}).get("id"))
        for d in model_list
        if d.get("model_name") == group and d.get("model_info", {}).get("id") is not None
    }


def picked_id(deployment: Any) -> str | None:
    if isinstance(deployment, dict) or hasattr(deployment, "get"):
        info = deployment.get("model_info") or {}
        value = info.get("id") if hasattr(info, "get") else None
        return str(value) if value is not None else None
    return None
