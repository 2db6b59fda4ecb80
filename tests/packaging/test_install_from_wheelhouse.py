"""A fresh virtual environment gets exactly what an extra asks for from the wheelhouse, and the
installed host discovers exactly those plugins (``litellm-accel plugins`` shows the rest as not
installed). ``[routing]`` first (with uv pip), then ``[all]`` into the same environment (with pip)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.packaging.conftest import PLUGIN_FEATURES, Venv, project_table

INSTALL_REPORT = (
    "import json, litellm_accel; report = litellm_accel.install(); "
    "print(json.dumps({f: s.status for f, s in report.features.items()}))"
)


def expected_versions(*distributions: str) -> dict[str, str]:
    return {d: project_table(d)["version"] for d in distributions}


@pytest.fixture(scope="module")
def routing_venv(fresh_venv: Venv, wheelhouse: Path, third_party_constraints: Path) -> Venv:
    fresh_venv.uv_install(wheelhouse, "litellm-accel[routing]", third_party_constraints)
    return fresh_venv


@pytest.fixture(scope="module")
def all_venv(routing_venv: Venv, wheelhouse: Path) -> Venv:
    # Real pip this time; the dependencies the new plugins need are already there from the first step.
    routing_venv.pip_install(wheelhouse, "litellm-accel[all]")
    return routing_venv


def plugins_by_name(venv: Venv, cwd: Path) -> dict[str, dict]:
    data = venv.cli_json("plugins", cwd=cwd)
    return {p["name"]: p for p in data["plugins"]}


def test_routing_extra_installs_exactly_host_and_routing(routing_venv: Venv) -> None:
    assert routing_venv.accel_distributions() == expected_versions("litellm-accel", "litellm-accel-routing")


def test_routing_extra_discovers_only_routing(routing_venv: Venv, tmp_path: Path) -> None:
    plugins = plugins_by_name(routing_venv, tmp_path)
    assert set(plugins) == set(PLUGIN_FEATURES)
    routing = plugins["routing"]
    assert (routing["distribution"], routing["status"], routing["reason"]) == ("litellm-accel-routing", "active", "")
    assert routing["features"] == {"routing": ["builtin"]}
    for feature in ("tokens", "pool", "ratelimit"):
        assert plugins[feature]["status"] == "not installed", plugins[feature]
        assert plugins[feature]["distribution"] == f"litellm-accel-{feature}"


def test_routing_extra_installs_routing_into_litellm(routing_venv: Venv, tmp_path: Path) -> None:
    statuses = routing_venv.python_json(INSTALL_REPORT, cwd=tmp_path)
    assert statuses == {
        "tokens": "not installed",
        "pool": "not installed",
        "ratelimit": "not installed",
        "routing": "active",
    }


def test_all_extra_installs_every_plugin(all_venv: Venv) -> None:
    assert all_venv.accel_distributions() == expected_versions(
        "litellm-accel", *(f"litellm-accel-{f}" for f in PLUGIN_FEATURES)
    )


def test_all_extra_discovers_every_plugin(all_venv: Venv, tmp_path: Path) -> None:
    plugins = plugins_by_name(all_venv, tmp_path)
    assert set(plugins) == set(PLUGIN_FEATURES)
    for feature in PLUGIN_FEATURES:
        plugin = plugins[feature]
        assert (plugin["distribution"], plugin["status"]) == (f"litellm-accel-{feature}", "active"), plugin
        assert plugin["features"] == {feature: ["builtin"]}
        assert plugin["version"] == project_table(f"litellm-accel-{feature}")["version"]


def test_all_extra_installs_every_feature_into_litellm(all_venv: Venv, tmp_path: Path) -> None:
    statuses = all_venv.python_json(INSTALL_REPORT, cwd=tmp_path)
    assert statuses == dict.fromkeys(PLUGIN_FEATURES, "active")
