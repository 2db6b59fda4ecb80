"""Types shared by every feature contract."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from litellm_accel.metrics import FeatureMetrics
    from litellm_accel.settings import AccelSettings, FeatureSettings

#: The features the host knows how to attach to litellm, in install order.
FEATURES: tuple[str, ...] = ("tokens", "pool", "ratelimit", "routing")

Feature = Literal["tokens", "routing", "pool", "ratelimit"]


class UseStock(Exception):
    """Raised by an implementation to hand one call to stock litellm.

    Use it for inputs outside what the implementation has proven equal to stock (a tokenizer that
    litellm would download, an unusual argument). The guard answers with stock litellm's result and
    counts the call as *delegated*, not as an error, so it never trips the error budget.
    """


@dataclass(frozen=True)
class ImplementationContext:
    """What the host hands an implementation's constructor.

    ``settings`` is the feature's validated settings (``settings.options`` holds implementation-
    specific options, which the implementation validates itself); ``accel_settings`` the whole
    configuration (for shared values such as ``redis_url``); ``metrics`` the feature's metrics, where
    an implementation may keep its own counters and gauges (``metrics.counter("memo_hits")``).
    """

    feature: str
    settings: FeatureSettings
    accel_settings: AccelSettings
    metrics: FeatureMetrics
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("litellm_accel"))

    @property
    def options(self) -> dict[str, Any]:
        """Implementation-specific options from the feature's ``options`` table."""
        return dict(self.settings.options)


@dataclass(frozen=True)
class HealthReport:
    """One line of ``litellm-accel doctor`` output contributed by a plugin's health hook."""

    component: str
    ok: bool
    detail: str = ""
