"""litellm-accel: accelerated hot paths for LiteLLM with stock-identical results.

``import litellm_accel`` is cheap and does not import litellm; litellm is imported by
:func:`install` (and the CLI) when a feature is attached.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# Loaded eagerly (it is tiny) so that the package attribute ``metrics`` below stays the function: a
# submodule imported later would otherwise replace it with the module object.
import litellm_accel.metrics as _metrics_module
from litellm_accel._version import PLUGIN_API_VERSION, __version__

if TYPE_CHECKING:
    from litellm_accel.contracts import (
        ConnectionPool,
        HealthReport,
        ImplementationContext,
        RateLimiter,
        RoutingStrategy,
        TokenCounter,
        UseStock,
    )
    from litellm_accel.errors import AccelError, ConfigError, PluginError
    from litellm_accel.hookspecs import hookimpl
    from litellm_accel.installer import (
        InstallReport,
        accelerated,
        get_implementation,
        install,
        is_installed,
        uninstall,
    )
    from litellm_accel.runtime import get_flag, prometheus_text, reset_metrics, set_flag
    from litellm_accel.settings import AccelSettings, load_settings

_LAZY = {
    "hookimpl": "litellm_accel.hookspecs",
    "install": "litellm_accel.installer",
    "uninstall": "litellm_accel.installer",
    "accelerated": "litellm_accel.installer",
    "is_installed": "litellm_accel.installer",
    "get_implementation": "litellm_accel.installer",
    "InstallReport": "litellm_accel.installer",
    "set_flag": "litellm_accel.runtime",
    "get_flag": "litellm_accel.runtime",
    "prometheus_text": "litellm_accel.runtime",
    "reset_metrics": "litellm_accel.runtime",
    "AccelSettings": "litellm_accel.settings",
    "load_settings": "litellm_accel.settings",
    "AccelError": "litellm_accel.errors",
    "ConfigError": "litellm_accel.errors",
    "PluginError": "litellm_accel.errors",
    "ConnectionPool": "litellm_accel.contracts",
    "HealthReport": "litellm_accel.contracts",
    "ImplementationContext": "litellm_accel.contracts",
    "RateLimiter": "litellm_accel.contracts",
    "RoutingStrategy": "litellm_accel.contracts",
    "TokenCounter": "litellm_accel.contracts",
    "UseStock": "litellm_accel.contracts",
}

__all__ = ["PLUGIN_API_VERSION", "__version__", "metrics", *sorted(_LAZY)]


def metrics() -> dict[str, dict[str, Any]]:
    """Every feature's metrics as a JSON-serialisable dict (see docs/monitoring.md)."""
    from litellm_accel.runtime import metrics as snapshot

    return snapshot()


def __getattr__(name: str) -> Any:
    # Lazy so that `import litellm_accel` stays fast: pydantic, pluggy and litellm load on first use.
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'litellm_accel' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value
