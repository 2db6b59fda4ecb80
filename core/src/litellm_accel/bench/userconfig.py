"""What the benchmark routes over: the embedded configuration or the user's ``--config FILE``.

A config file is YAML or JSON holding either a list of deployments (a Router ``model_list``) or a
mapping with ``model_list`` and optionally ``router_settings`` (the LiteLLM proxy's layout). With
``--fake-provider`` every deployment is pointed at the local fake server: ``api_base`` and ``api_key``
are replaced and the model becomes ``openai/<model name without its provider prefix>`` so that the
fake server (which speaks the OpenAI API) can answer it.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from litellm_accel.bench.defaults import FAKE_API_KEY, default_model_list, default_router_settings
from litellm_accel.errors import ConfigError


@dataclass
class BenchConfig:
    """The Router configuration the scenarios build their routers from."""

    model_list: list[dict[str, Any]]
    router_settings: dict[str, Any] = field(default_factory=dict)
    source: str = "embedded"
    #: Whether the deployments answer from the local fake server (the end-to-end scenario needs it).
    uses_fake_server: bool = True

    @property
    def model_groups(self) -> list[str]:
        """Model group names in the order they first appear."""
        seen: dict[str, None] = {}
        for entry in self.model_list:
            seen.setdefault(str(entry["model_name"]), None)
        return list(seen)

    def deployments_of(self, group: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(d) for d in self.model_list if d["model_name"] == group]

    def first_model_of(self, group: str) -> str:
        """The litellm model of ``group``'s first deployment without a provider prefix (for token counting)."""
        model = str(self.deployments_of(group)[0]["litellm_params"]["model"])
        return model.split("/", 1)[1] if "/" in model else model

    def as_dict(self) -> dict[str, Any]:
        groups = self.model_groups
        return {
            "source": self.source,
            "model_groups": {g: len(self.deployments_of(g)) for g in groups},
            "router_settings": self.router_settings,
            "fake_server": self.uses_fake_server,
        }


def embedded_config(api_base: str) -> BenchConfig:
    """The built-in configuration (see :mod:`litellm_accel.bench.defaults`)."""
    return BenchConfig(default_model_list(api_base), default_router_settings(), "embedded", True)


def load_config_file(path: str | Path, *, fake_api_base: str | None) -> BenchConfig:
    """Read a user's Router configuration; ``fake_api_base`` set means ``--fake-provider``.

    Raises :class:`~litellm_accel.errors.ConfigError` with a one-line message for an unreadable file,
    invalid YAML/JSON or a malformed model list.
    """
    file = Path(path).expanduser()
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"--config {path}: cannot read the file ({exc.strerror or exc})") from None
    data = _parse(text, file)
    if isinstance(data, list):
        model_list, router_settings = data, {}
    elif isinstance(data, dict) and "model_list" in data:
        model_list = data["model_list"]
        router_settings = data.get("router_settings") or {}
        if not isinstance(router_settings, dict):
            raise ConfigError(f"--config {path}: router_settings must be a mapping")
    else:
        raise ConfigError(f"--config {path}: expected a list of deployments or a mapping with 'model_list'")
    checked = _check_model_list(model_list, str(path))
    if fake_api_base is not None:
        checked = [point_at_fake_server(d, fake_api_base) for d in checked]
    return BenchConfig(checked, dict(router_settings), str(path), fake_api_base is not None)


def _parse(text: str, file: Path) -> Any:
    if file.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--config {file}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
    import yaml  # a YAML parser also reads JSON

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ConfigError(f"--config {file}: invalid YAML{where}: {problem}") from None


def _check_model_list(model_list: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(model_list, list) or not model_list:
        raise ConfigError(f"--config {where}: model_list must be a non-empty list of deployments")
    checked = []
    for index, entry in enumerate(model_list):
        if not isinstance(entry, dict):
            raise ConfigError(f"--config {where}: model_list[{index}] is not a mapping")
        name = entry.get("model_name")
        params = entry.get("litellm_params")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"--config {where}: model_list[{index}] has no model_name")
        if not isinstance(params, dict) or not isinstance(params.get("model"), str):
            raise ConfigError(f"--config {where}: model_list[{index}] ({name}) has no litellm_params.model")
        checked.append(copy.deepcopy(entry))
    return checked


def point_at_fake_server(entry: dict[str, Any], api_base: str) -> dict[str, Any]:
    """A copy of deployment ``entry`` that calls the fake OpenAI server instead of its provider."""
    result = copy.deepcopy(entry)
    params = result["litellm_params"]
    model = str(params["model"])
    bare = model.split("/", 1)[1] if "/" in model else model
    params["model"] = f"openai/{bare}"
    params["api_base"] = api_base
    params["api_key"] = FAKE_API_KEY
    for key in ("api_version", "aws_region_name", "vertex_project", "vertex_location", "custom_llm_provider"):
        params.pop(key, None)
    return result
