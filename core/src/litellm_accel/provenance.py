"""Where each effective setting came from (for ``litellm-accel config``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from litellm_accel.settings import CONFIG_ENV_VAR, ENV_PREFIX, AccelSettings, config_file_path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``; empty dicts stay as leaves."""
    if isinstance(data, dict) and data:
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: data}


def _env_keys() -> dict[str, str]:
    keys = {}
    for name in os.environ:
        if name.startswith(ENV_PREFIX) and name != CONFIG_ENV_VAR:
            keys[name[len(ENV_PREFIX) :].lower().replace("__", ".")] = name
    return keys


def _file_keys(path: Path | None) -> set[str]:
    if path is None:
        return set()
    with path.open("rb") as fh:
        return set(flatten(tomllib.load(fh)))


def _covered(key: str, provided: set[str] | dict[str, str]) -> str | None:
    """The provided key that sets ``key`` (itself or a parent table), if any."""
    parts = key.split(".")
    for i in range(len(parts), 0, -1):
        candidate = ".".join(parts[:i])
        if candidate in provided:
            return candidate
    return None


def explain(settings: AccelSettings) -> list[dict[str, Any]]:
    """One row per effective setting: key, value, source (``env VAR``, ``file PATH`` or ``default``)."""
    path = config_file_path()
    env = _env_keys()
    file_keys = _file_keys(path)
    rows = []
    for key, value in sorted(flatten(settings.model_dump(mode="json")).items()):
        env_hit = _covered(key, env)
        if env_hit is not None:
            source = f"env {env[env_hit]}"
        elif _covered(key, file_keys) is not None:
            source = f"file {path}"
        else:
            source = "default"
        rows.append({"key": key, "value": value, "source": source})
    return rows
