"""Plugin discovery and selection.

Plugins are found through entry points of the group ``litellm_accel``, loaded lazily (on the first
question that needs them) and once. Blocked plugins (and, with an allow-list, every plugin not on it)
are never imported. A plugin that fails to import, declares an incompatible plugin API version, or
registers malformed implementations is logged, marked ``failed`` with the reason and skipped; it never
crashes the host. Registration hooks are called once here; the selected class is then bound directly
into litellm by the installer, so pluggy is never on the request path.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Any

import pluggy

from litellm_accel import hookspecs
from litellm_accel._version import PLUGIN_API_VERSION
from litellm_accel.contracts import CONTRACTS, HealthReport
from litellm_accel.errors import PluginConflictError, UnknownImplementationError
from litellm_accel.settings import AccelSettings

logger = logging.getLogger("litellm_accel.plugins")

ENTRY_POINT_GROUP = "litellm_accel"
#: Distribution whose implementation is the default for each feature when it is installed.
BUILTIN_DISTRIBUTIONS = {f: f"litellm-accel-{f}" for f in CONTRACTS}

ACTIVE, BLOCKED, FAILED, NOT_ALLOWED = "active", "blocked", "failed", "not allowed"


@dataclass
class PluginInfo:
    """What ``litellm-accel plugins`` shows for one plugin."""

    name: str
    distribution: str | None
    version: str | None
    status: str
    reason: str = ""
    features: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "status": self.status,
            "reason": self.reason,
            "features": self.features,
        }


@dataclass(frozen=True)
class Implementation:
    """One implementation class registered for a feature, and where it came from."""

    feature: str
    name: str
    cls: type
    plugin: str
    distribution: str | None


def parse_api_version(text: str) -> tuple[int, int]:
    major, _, minor = str(text).strip().partition(".")
    return int(major), int(minor or 0)


def api_compatible(required: str, offered: str = PLUGIN_API_VERSION) -> bool:
    """A plugin written against ``required`` works with a host offering ``offered`` when the majors
    match and the host's minor is at least the plugin's."""
    req, off = parse_api_version(required), parse_api_version(offered)
    return req[0] == off[0] and req[1] <= off[1]


class PluginManager:
    """Discovers plugins and selects one implementation per feature.

    ``load_entry_points=False`` gives a manager that only knows plugins registered with
    :meth:`register` (what unit tests use, so installed plugins never leak into them).
    """

    def __init__(self, settings: AccelSettings | None = None, *, load_entry_points: bool = True) -> None:
        self.settings = settings if settings is not None else AccelSettings()
        self._load_entry_points = load_entry_points
        self._pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self._pm.add_hookspecs(hookspecs)
        self._infos: dict[str, PluginInfo] = {}
        self._discovered = False
        self._implementations: dict[str, dict[str, Implementation]] | None = None
        self._lock = threading.RLock()

    # -- registration ------------------------------------------------------------------------------
    @property
    def hook(self) -> Any:
        """Pluggy's hook relay (lifecycle hooks are called through it)."""
        self.discover()
        return self._pm.hook

    def register(
        self, plugin: ModuleType | object, name: str, *, distribution: str | None = None, version: str | None = None
    ) -> PluginInfo:
        """Register a plugin object or module under ``name`` (checks its API version first)."""
        with self._lock:
            info = PluginInfo(name=name, distribution=distribution, version=version, status=ACTIVE)
            self._admit(plugin, info)
            self._infos[name] = info
            self._implementations = None
            return info

    def unregister(self, name: str) -> None:
        """Remove a plugin registered under ``name`` (no error if it is not there)."""
        with self._lock:
            if self._pm.has_plugin(name):
                self._pm.unregister(name=name)
            self._infos.pop(name, None)
            self._implementations = None

    def _admit(self, plugin: object, info: PluginInfo) -> None:
        declared = getattr(plugin, "LITELLM_ACCEL_API_VERSION", None)
        if declared is None:
            info.status, info.reason = FAILED, "declares no LITELLM_ACCEL_API_VERSION"
        else:
            try:
                compatible = api_compatible(str(declared))
            except ValueError:
                compatible = False
            if not compatible:
                info.status = FAILED
                info.reason = (
                    f"needs plugin API {declared} (compatible: {parse_api_version(str(declared))[0]}.x "
                    f"with minor >= {declared}); this litellm-accel provides {PLUGIN_API_VERSION}"
                    if str(declared).replace(".", "").isdigit()
                    else f"declares an unreadable plugin API version {declared!r}"
                )
        if info.status == FAILED:
            logger.warning("litellm-accel plugin %s skipped: %s", info.name, info.reason)
            return
        try:
            self._pm.register(plugin, name=info.name)
        except Exception as exc:  # pluggy validation errors (unknown hook, bad signature)
            info.status, info.reason = FAILED, f"invalid hooks: {exc}"
            logger.warning("litellm-accel plugin %s skipped: %s", info.name, info.reason)

    def _allowed(self, name: str, distribution: str | None) -> str | None:
        """``None`` when the plugin may load, else the status that keeps it out."""
        names = {name} | ({distribution} if distribution else set())
        selection = self.settings.plugins
        if names & set(selection.block):
            return BLOCKED
        if selection.allow is not None and not names & set(selection.allow):
            return NOT_ALLOWED
        return None

    def discover(self) -> None:
        """Load the installed plugins' entry points (once; later calls do nothing)."""
        with self._lock:
            if self._discovered:
                return
            self._discovered = True
            if not self._load_entry_points:
                return
            for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
                dist = getattr(ep, "dist", None)
                dist_name = dist.metadata["Name"] if dist is not None else None
                version = dist.version if dist is not None else None
                if ep.name in self._infos:
                    continue
                info = PluginInfo(name=ep.name, distribution=dist_name, version=version, status=ACTIVE)
                self._infos[ep.name] = info
                refused = self._allowed(ep.name, dist_name)
                if refused is not None:
                    info.status = refused
                    info.reason = f"{refused} by settings (plugins.{'block' if refused == BLOCKED else 'allow'})"
                    logger.info("litellm-accel plugin %s not loaded: %s", ep.name, info.reason)
                    continue
                try:
                    plugin = ep.load()
                except Exception as exc:
                    info.status, info.reason = FAILED, f"import failed: {type(exc).__name__}: {exc}"
                    logger.warning("litellm-accel plugin %s skipped: %s", ep.name, info.reason)
                    continue
                self._admit(plugin, info)
            self._implementations = None

    # -- implementations ---------------------------------------------------------------------------
    def plugins(self) -> list[PluginInfo]:
        """Every plugin seen (active, blocked, not allowed or failed), with its implementations."""
        self.implementations()
        return sorted(self._infos.values(), key=lambda i: i.name)

    def implementations(self, feature: str | None = None) -> dict[str, Any]:
        """``{name: Implementation}`` for one feature, or ``{feature: {...}}`` for all.

        Raises :class:`PluginConflictError` when two plugins register the same name for a feature.
        """
        self.discover()
        with self._lock:
            if self._implementations is None:
                self._implementations = self._collect()
            if feature is None:
                return dict(self._implementations)
            if feature not in self._implementations:
                raise UnknownImplementationError(f"unknown feature {feature!r}; valid features: {', '.join(CONTRACTS)}")
            return dict(self._implementations[feature])

    def _collect(self) -> dict[str, dict[str, Implementation]]:
        found: dict[str, dict[str, Implementation]] = {f: {} for f in CONTRACTS}
        for info in self._infos.values():
            info.features = {}
        for feature, (hook_name, _contract) in CONTRACTS.items():
            caller = getattr(self._pm.hook, hook_name)
            for impl in caller.get_hookimpls():
                plugin_name = impl.plugin_name
                info = self._infos.get(plugin_name)
                if info is None or info.status != ACTIVE:
                    continue
                try:
                    classes = impl.function() or []
                    entries = [self._validate(feature, cls, info) for cls in classes]
                except Exception as exc:
                    info.status, info.reason = FAILED, f"{hook_name} failed: {type(exc).__name__}: {exc}"
                    logger.warning("litellm-accel plugin %s skipped: %s", plugin_name, info.reason)
                    continue
                for entry in entries:
                    existing = found[feature].get(entry.name)
                    if existing is not None:
                        raise PluginConflictError(
                            f"two plugins register the {feature} implementation {entry.name!r}: "
                            f"{existing.distribution or existing.plugin} and {entry.distribution or entry.plugin}; "
                            f"block one with plugins.block"
                        )
                    found[feature][entry.name] = entry
                    info.features.setdefault(feature, []).append(entry.name)
        # A plugin that failed during collection contributes nothing.
        for feature in found:
            found[feature] = {n: e for n, e in found[feature].items() if self._infos[e.plugin].status == ACTIVE}
        return found

    @staticmethod
    def _validate(feature: str, cls: Any, info: PluginInfo) -> Implementation:
        if not isinstance(cls, type):
            raise TypeError(f"{feature} registration returned {cls!r}, not a class")
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not name.strip():
            raise TypeError(f"{cls.__qualname__} has no non-empty string 'name' class attribute")
        return Implementation(feature, name, cls, info.name, info.distribution)

    def select(self, feature: str, name: str | None = None) -> Implementation | None:
        """The implementation to use for ``feature``.

        With ``name`` (from settings) it must exist, else :class:`UnknownImplementationError` lists the
        available names. Without it, the built-in plugin's implementation when installed, else the
        only available one if exactly one plugin offers the feature, else ``None``.
        """
        available = self.implementations(feature)
        if name is not None:
            if name not in available:
                choices = ", ".join(sorted(available)) or "none installed"
                raise UnknownImplementationError(
                    f"unknown {feature} implementation {name!r} (setting {feature}.implementation); "
                    f"available: {choices}"
                )
            return available[name]
        builtin = [e for e in available.values() if e.distribution == BUILTIN_DISTRIBUTIONS[feature]]
        if builtin:
            return builtin[0]
        if len(available) == 1:
            return next(iter(available.values()))
        return None

    def health(self) -> list[HealthReport]:
        """Collect every active plugin's health reports (a failing hook becomes a failed report)."""
        self.discover()
        reports: list[HealthReport] = []
        for impl in self._pm.hook.litellm_accel_health.get_hookimpls():
            try:
                result = impl.function() or []
            except Exception as exc:
                reports.append(HealthReport(impl.plugin_name, False, f"health hook failed: {exc}"))
                continue
            reports.extend(result)
        return reports

    def call_lifecycle(self, hook_name: str, **kwargs: Any) -> None:
        """Call a lifecycle hook on every plugin, logging (never raising) each plugin's failure."""
        self.discover()
        for impl in getattr(self._pm.hook, hook_name).get_hookimpls():
            try:
                impl.function(**{k: v for k, v in kwargs.items() if k in impl.argnames})
            except Exception as exc:
                logger.warning("litellm-accel plugin %s: %s failed: %s", impl.plugin_name, hook_name, exc)
