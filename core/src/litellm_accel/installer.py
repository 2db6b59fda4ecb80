"""``install()`` / ``uninstall()``: attach the selected implementations to litellm and restore it.

Install order per feature: check the settings (enabled?), check litellm's attachment points, select the
implementation by configured name, instantiate it, wrap it in a :class:`~litellm_accel.guard.Guard`,
bind it through reversible patches. A feature whose attachment points are missing, or whose
implementation fails to start, is skipped with a warning and leaves litellm untouched. A bad setting
(an unknown implementation name, or an option that the implementation rejects with
:class:`~litellm_accel.errors.ConfigError`) raises that error and leaves nothing attached.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from litellm_accel.contracts import FEATURES, ImplementationContext
from litellm_accel.errors import ConfigError
from litellm_accel.flags import FLAGS
from litellm_accel.guard import Guard
from litellm_accel.metrics import REGISTRY
from litellm_accel.patching import Patcher
from litellm_accel.plugins import Implementation, PluginManager
from litellm_accel.settings import AccelSettings, load_settings

logger = logging.getLogger("litellm_accel.installer")

#: Oldest litellm whose attachment points this release knows; newer releases are checked point by
#: point. TESTED_LITELLM is the release the parity suites ran against.
MIN_LITELLM = (1, 80)
TESTED_LITELLM = "1.110.2"

ACTIVE, DISABLED, SKIPPED, NOT_INSTALLED = "active", "disabled", "skipped", "not installed"


@dataclass
class FeatureStatus:
    """What ``install()`` did for one feature."""

    feature: str
    status: str
    implementation: str | None = None
    distribution: str | None = None
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "status": self.status,
            "implementation": self.implementation,
            "distribution": self.distribution,
            "reason": self.reason,
        }


@dataclass
class InstallReport:
    """Per-feature outcome of :func:`install`."""

    litellm_version: str | None
    features: dict[str, FeatureStatus] = field(default_factory=dict)

    @property
    def active(self) -> list[str]:
        return [f for f, s in self.features.items() if s.status == ACTIVE]

    def as_dict(self) -> dict[str, Any]:
        return {
            "litellm_version": self.litellm_version,
            "features": {f: s.as_dict() for f, s in self.features.items()},
        }


@dataclass
class _Bound:
    implementation: Any
    guard: Guard
    patcher: Patcher
    attachment: Any


@dataclass
class _Installation:
    settings: AccelSettings
    plugin_manager: PluginManager
    report: InstallReport
    bound: dict[str, _Bound]


_lock = threading.RLock()
_current: _Installation | None = None


def litellm_version() -> str | None:
    try:
        return metadata.version("litellm")
    except metadata.PackageNotFoundError:
        return None


def version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def install(settings: AccelSettings | None = None, *, plugin_manager: PluginManager | None = None) -> InstallReport:
    """Attach every enabled feature's selected implementation to litellm.

    Idempotent: when already installed, returns the current report without changing anything (call
    :func:`uninstall` first to apply new settings). Thread-safe. Raises
    :class:`~litellm_accel.errors.ConfigError` for invalid settings or an unknown implementation name,
    before anything is attached.
    """
    global _current
    with _lock:
        if _current is not None:
            return _current.report
        settings = settings if settings is not None else load_settings()
        manager = plugin_manager if plugin_manager is not None else PluginManager(settings)
        version = litellm_version()
        report = InstallReport(litellm_version=version)
        # Select everything first so a configuration error attaches nothing.
        selected: dict[str, Implementation | None] = {}
        for feature in FEATURES:
            fs = settings.feature(feature)
            if fs.enabled:
                selected[feature] = manager.select(feature, fs.implementation)
        if version is None or version_tuple(version) < MIN_LITELLM:
            reason = f"litellm {version or 'not installed'} is older than {'.'.join(map(str, MIN_LITELLM))}"
            logger.warning("litellm-accel: %s; nothing attached", reason)
            for feature in FEATURES:
                report.features[feature] = FeatureStatus(feature, SKIPPED, reason=reason)
            _current = _Installation(settings, manager, report, {})
            return report
        bound: dict[str, _Bound] = {}
        for feature in FEATURES:
            fs = settings.feature(feature)
            if not fs.enabled:
                report.features[feature] = FeatureStatus(feature, DISABLED, reason=f"{feature}.enabled is false")
                continue
            choice = selected[feature]
            if choice is None:
                report.features[feature] = FeatureStatus(
                    feature, NOT_INSTALLED, reason=f"no {feature} implementation installed"
                )
                continue
            try:
                status, entry = _attach_feature(feature, choice, settings)
            except ConfigError:
                # A bad implementation option is a user mistake: undo what is attached, say which key.
                _detach_all(bound)
                raise
            report.features[feature] = status
            if entry is not None:
                bound[feature] = entry
        _current = _Installation(settings, manager, report, bound)
        manager.call_lifecycle("litellm_accel_startup", settings=settings)
        logger.info("litellm-accel installed: %s", ", ".join(report.active) or "no feature active")
        return report


def _attach_feature(
    feature: str, choice: Implementation, settings: AccelSettings
) -> tuple[FeatureStatus, _Bound | None]:
    from litellm_accel.attachments import attachment_for

    status = FeatureStatus(feature, ACTIVE, choice.name, choice.distribution)
    try:
        attachment = attachment_for(feature)
        problems = attachment.problems()
    except Exception as exc:
        problems = [f"attachment check failed: {type(exc).__name__}: {exc}"]
    if problems:
        status.status, status.reason = SKIPPED, "; ".join(problems)
        logger.warning("litellm-accel %s skipped: %s", feature, status.reason)
        return status, None
    fs = settings.feature(feature)
    flag = FLAGS.get(feature)
    flag.set(fs.flag, fs.rollout_percent)
    metrics = REGISTRY.for_feature(feature, choice.name)
    context = ImplementationContext(feature, fs, settings, metrics, logging.getLogger(f"litellm_accel.{feature}"))
    patcher = Patcher()
    guard: Guard | None = None
    implementation: Any = None
    try:
        implementation = choice.cls(context)
        guard = Guard(feature, choice.name, flag, metrics, fs.error_budget)
        attachment.attach(implementation, guard, patcher)
    except Exception as exc:
        patcher.restore()
        if guard is not None:
            guard.close()
        _close_quietly(feature, implementation)
        if isinstance(exc, ConfigError):  # a user mistake: install() reports it, nothing stays attached
            raise
        status.status, status.reason = SKIPPED, f"{type(exc).__name__}: {exc}"
        logger.warning("litellm-accel %s skipped: implementation failed to start: %s", feature, status.reason)
        return status, None
    return status, _Bound(implementation, guard, patcher, attachment)


def _close_quietly(feature: str, implementation: Any) -> None:
    close = getattr(implementation, "close", None)
    if close is None:
        return
    try:
        close()
    except Exception as exc:
        logger.warning("litellm-accel %s: close() failed: %s", feature, exc)


def uninstall() -> None:
    """Restore litellm exactly (the identical original objects) and close the implementations.

    Idempotent and thread-safe; does nothing when not installed.
    """
    global _current
    with _lock:
        current, _current = _current, None
        if current is None:
            return
        current.plugin_manager.call_lifecycle("litellm_accel_shutdown")
        _detach_all(current.bound)
        logger.info("litellm-accel uninstalled")


def _detach_all(bound: dict[str, _Bound]) -> None:
    """Detach features newest first, restore their patches and close their implementations."""
    for feature in reversed(list(bound)):
        entry = bound[feature]
        try:
            entry.attachment.detach(entry.implementation)
        except Exception as exc:
            logger.warning("litellm-accel %s: detach failed: %s", feature, exc)
        entry.patcher.restore()
        entry.guard.close()
        _close_quietly(feature, entry.implementation)


def is_installed() -> bool:
    """Whether :func:`install` is in effect."""
    return _current is not None


def current_report() -> InstallReport | None:
    """The report of the install in effect, or ``None``."""
    current = _current
    return current.report if current is not None else None


def get_implementation(feature: str) -> Any:
    """The bound implementation instance of ``feature`` (``None`` when not active)."""
    current = _current
    if current is None or feature not in current.bound:
        return None
    return current.bound[feature].implementation


def get_guard(feature: str) -> Guard | None:
    """The guard of an active feature (``None`` when not active)."""
    current = _current
    if current is None or feature not in current.bound:
        return None
    return current.bound[feature].guard


@contextmanager
def accelerated(
    settings: AccelSettings | None = None, *, plugin_manager: PluginManager | None = None
) -> Iterator[InstallReport]:
    """``with accelerated(): ...`` installs on entry and uninstalls on exit (if it installed)."""
    was_installed = is_installed()
    report = install(settings, plugin_manager=plugin_manager)
    try:
        yield report
    finally:
        if not was_installed:
            uninstall()
