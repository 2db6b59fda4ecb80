"""Run-time controls: flags and metrics, for code and for the CLI."""

from __future__ import annotations

from typing import Any

from litellm_accel.contracts import FEATURES
from litellm_accel.errors import ConfigError
from litellm_accel.flags import FLAGS, FeatureFlag
from litellm_accel.metrics import REGISTRY
from litellm_accel.settings import FlagState


def _check_feature(feature: str) -> None:
    if feature not in FEATURES:
        raise ConfigError(f"unknown feature {feature!r}; valid features: {', '.join(FEATURES)}")


def set_flag(feature: str, state: FlagState | str, rollout_percent: float | None = None) -> None:
    """Change a feature's flag while running (``off``, ``shadow``, ``canary``, ``on``)."""
    _check_feature(feature)
    FLAGS.get(feature).set(state, rollout_percent)


def get_flag(feature: str) -> FeatureFlag:
    """The live flag object of a feature."""
    _check_feature(feature)
    return FLAGS.get(feature)


def metrics() -> dict[str, dict[str, Any]]:
    """Every feature's metrics as a JSON-serialisable dict."""
    return REGISTRY.snapshot()


def prometheus_text() -> str:
    """Every feature's metrics in Prometheus exposition format."""
    return REGISTRY.prometheus_text()


def reset_metrics() -> None:
    """Forget all metrics (the next install starts from zero)."""
    REGISTRY.reset()
