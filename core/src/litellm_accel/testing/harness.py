"""Building blocks of the conformance kit: an implementation's context without installing it, and an
install of one implementation class through the real host (plugin manager, guard, attachment)."""

from __future__ import annotations

import logging
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from litellm_accel.contracts import CONTRACTS, ImplementationContext
from litellm_accel.metrics import FeatureMetrics
from litellm_accel.settings import AccelSettings, FlagState

#: Registration hook name per feature.
REGISTRATION_HOOKS = {feature: hook for feature, (hook, _contract) in CONTRACTS.items()}


def feature_settings(
    feature: str,
    implementation: type,
    options: dict[str, Any] | None = None,
    *,
    flag: FlagState | str = FlagState.ON,
    **accel: Any,
) -> AccelSettings:
    """Settings that select ``implementation`` (by its ``name``) for ``feature``, with ``options``.

    ``accel`` holds further top-level settings (``redis_url=...``); other features are disabled so a
    contract run attaches exactly one feature.
    """
    values: dict[str, Any] = {f: {"enabled": False} for f in CONTRACTS}
    values[feature] = {"implementation": implementation.name, "options": dict(options or {}), "flag": FlagState(flag)}
    values.update(accel)
    return AccelSettings(**values)


def make_context(
    feature: str, implementation: type, options: dict[str, Any] | None = None, **accel: Any
) -> ImplementationContext:
    """The :class:`ImplementationContext` the host would hand ``implementation``'s constructor."""
    settings = feature_settings(feature, implementation, options, **accel)
    return ImplementationContext(
        feature=feature,
        settings=settings.feature(feature),
        accel_settings=settings,
        metrics=FeatureMetrics(feature, implementation.name),
        logger=logging.getLogger(f"litellm_accel.{feature}"),
    )


def registration_plugin(feature: str, implementation: type) -> types.ModuleType:
    """A plugin module (as an entry point would load it) registering ``implementation`` for ``feature``."""
    from litellm_accel import hookimpl
    from litellm_accel._version import PLUGIN_API_VERSION

    module = types.ModuleType(f"litellm_accel_conformance_{feature}")
    module.LITELLM_ACCEL_API_VERSION = PLUGIN_API_VERSION  # type: ignore[attr-defined]

    def register() -> list[type]:
        return [implementation]

    register.__name__ = REGISTRATION_HOOKS[feature]
    setattr(module, REGISTRATION_HOOKS[feature], hookimpl(register))
    return module


@contextmanager
def installed(
    feature: str,
    implementation: type,
    options: dict[str, Any] | None = None,
    *,
    flag: FlagState | str = FlagState.ON,
    **accel: Any,
) -> Iterator[Any]:
    """Install ``implementation`` for ``feature`` through the host, yield the install report, uninstall.

    Uses a plugin manager that knows only this implementation (installed plugins are not loaded), so
    the run tests the class under test and nothing else. Raises ``AssertionError`` with the host's
    reason when the feature could not be attached.
    """
    from litellm_accel.installer import install, uninstall
    from litellm_accel.plugins import PluginManager

    settings = feature_settings(feature, implementation, options, flag=flag, **accel)
    manager = PluginManager(settings, load_entry_points=False)
    manager.register(registration_plugin(feature, implementation), f"conformance-{feature}")
    uninstall()
    report = install(settings, plugin_manager=manager)
    try:
        status = report.features[feature]
        if status.status != "active":
            raise AssertionError(
                f"the host did not attach {feature} implementation {implementation.name!r}: "
                f"{status.status} ({status.reason})"
            )
        yield report
    finally:
        uninstall()
