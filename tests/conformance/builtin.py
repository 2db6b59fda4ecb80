"""Find a built-in implementation class the way the host does: through its installed entry point."""

from __future__ import annotations

from litellm_accel.plugins import PluginManager
from litellm_accel.settings import AccelSettings


def builtin_class(feature: str) -> type:
    """The class registered as ``builtin`` for ``feature`` by the installed ``litellm-accel-<feature>``."""
    manager = PluginManager(AccelSettings(), load_entry_points=True)
    implementations = manager.implementations(feature)
    info = {p.name: (p.status, p.reason) for p in manager.plugins()}
    assert "builtin" in implementations, (
        f"litellm-accel-{feature} registers no 'builtin' {feature} implementation; plugins: {info}"
    )
    entry = implementations["builtin"]
    assert entry.distribution == f"litellm-accel-{feature}", entry
    return entry.cls
