"""The two arms of every measurement and how the process switches between them.

* **stock**: litellm-accel is uninstalled, so litellm is exactly as shipped (``uninstall()`` restores
  the identical original objects).
* **accelerated**: ``install()`` with the user's settings (config file, environment, ``--redis-url``).

Switching happens between timed batches, never inside one. One plugin manager is reused so plugins are
discovered once. The guard counters of every feature are read around each batch: the stock arm must
not reach any implementation, and the accelerated arm shows how many calls each implementation served.
"""

from __future__ import annotations

from typing import Any

from litellm_accel import installer
from litellm_accel.contracts import FEATURES
from litellm_accel.metrics import REGISTRY
from litellm_accel.plugins import PluginManager
from litellm_accel.settings import AccelSettings

STOCK = "stock"
ACCELERATED = "accelerated"
ARMS = (STOCK, ACCELERATED)

#: Guard counters read around each batch.
COUNTERS = ("calls", "accelerated", "delegated", "fallbacks", "errors", "stock")


class Arms:
    """Switches litellm between stock and accelerated; owns the install state while the bench runs."""

    def __init__(self, settings: AccelSettings, plugin_manager: PluginManager | None = None) -> None:
        self.settings = settings
        self.manager = plugin_manager if plugin_manager is not None else PluginManager(settings)
        self.report: installer.InstallReport | None = None
        self.current: str | None = None

    def probe(self) -> installer.InstallReport:
        """Install once to learn which features are active, then go back to stock."""
        installer.uninstall()
        self.report = installer.install(self.settings, plugin_manager=self.manager)
        installer.uninstall()
        self.current = STOCK
        return self.report

    def status(self, feature: str) -> str:
        """``active``, ``not installed``, ``disabled`` or ``skipped`` (from the probe install)."""
        if self.report is None:
            self.probe()
        assert self.report is not None
        entry = self.report.features.get(feature)
        return entry.status if entry is not None else installer.NOT_INSTALLED

    def active(self) -> list[str]:
        return [f for f in FEATURES if self.status(f) == installer.ACTIVE]

    def implementation_class(self, feature: str) -> type | None:
        """The class the settings select for ``feature`` (even when litellm has no attachment for it),
        or ``None`` when the feature is disabled or no plugin offers it."""
        if not self.settings.feature(feature).enabled:
            return None
        choice = self.manager.select(feature, self.settings.feature(feature).implementation)
        return choice.cls if choice is not None else None

    def switch(self, arm: str) -> None:
        """Put litellm in the state of ``arm`` (no-op when already there)."""
        if arm == self.current:
            return
        if arm == STOCK:
            installer.uninstall()
        elif arm == ACCELERATED:
            installer.install(self.settings, plugin_manager=self.manager)
        else:
            raise ValueError(f"unknown arm {arm!r}")
        self.current = arm

    @staticmethod
    def counters() -> dict[str, dict[str, int]]:
        """Guard counters of every feature installed at least once in this process."""
        result: dict[str, dict[str, int]] = {}
        for feature in FEATURES:
            metrics = REGISTRY.get(feature)
            if metrics is not None:
                result[feature] = {name: metrics.counter_value(name) for name in COUNTERS}
        return result

    @staticmethod
    def delta(before: dict[str, dict[str, int]], after: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
        """``after - before`` per feature and counter, keeping only features with a non-zero change."""
        result: dict[str, dict[str, int]] = {}
        for feature, values in after.items():
            base = before.get(feature, {})
            changed = {name: value - base.get(name, 0) for name, value in values.items()}
            if any(changed.values()):
                result[feature] = changed
        return result

    def close(self) -> None:
        """Leave litellm uninstalled (stock)."""
        installer.uninstall()
        self.current = STOCK

    def describe(self) -> dict[str, Any]:
        report = self.report
        return report.as_dict() if report is not None else {}
