"""``uv build --all-packages`` produces a wheel and an sdist per distribution with correct metadata:
license, readme, classifiers, ``py.typed``, entry points and the version bounds between host and
plugins."""

from __future__ import annotations

import tarfile
import zipfile
from email.message import Message
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from tests.packaging.conftest import DISTRIBUTIONS, PLUGIN_FEATURES, ROOT, project_table

REQUIRED_CLASSIFIERS = (
    "License :: OSI Approved :: MIT License",
    "Programming Language :: Python :: 3",
    "Typing :: Typed",
)


def package_of(distribution: str) -> str:
    return distribution.replace("-", "_")


def wheel_path(wheelhouse: Path, distribution: str) -> Path:
    version = project_table(distribution)["version"]
    return wheelhouse / f"{package_of(distribution)}-{version}-py3-none-any.whl"


def read_metadata(wheel: zipfile.ZipFile, distribution: str) -> Message:
    version = project_table(distribution)["version"]
    return Parser().parsestr(wheel.read(f"{package_of(distribution)}-{version}.dist-info/METADATA").decode())


def requirements(meta: Message) -> list[Requirement]:
    return [Requirement(text) for text in meta.get_all("Requires-Dist") or []]


def test_every_distribution_has_a_wheel_and_an_sdist(wheelhouse: Path) -> None:
    built = sorted(p.name for p in wheelhouse.iterdir() if p.suffix in (".whl", ".gz"))
    expected = sorted(
        name
        for dist in DISTRIBUTIONS
        for name in (
            wheel_path(wheelhouse, dist).name,
            f"{package_of(dist)}-{project_table(dist)['version']}.tar.gz",
        )
    )
    assert built == expected


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_wheel_metadata(wheelhouse: Path, distribution: str) -> None:
    project = project_table(distribution)
    with zipfile.ZipFile(wheel_path(wheelhouse, distribution)) as wheel:
        meta = read_metadata(wheel, distribution)
        names = set(wheel.namelist())
        dist_info = f"{package_of(distribution)}-{project['version']}.dist-info"
        license_text = wheel.read(f"{dist_info}/licenses/LICENSE").decode()
    assert (meta["Name"], meta["Version"]) == (distribution, project["version"])
    assert meta["License-Expression"] == "MIT"
    assert meta.get_all("License-File") == ["LICENSE"]
    assert license_text.startswith("MIT License") and "litellm-accel developers" in license_text
    assert license_text == (ROOT / "LICENSE").read_text(), "the distribution's LICENSE copy differs from the root one"
    assert meta["Requires-Python"] == ">=3.10"
    assert meta["Description-Content-Type"] == "text/markdown"
    readme = (DISTRIBUTIONS[distribution] / "README.md").read_text()
    assert meta.get_payload().strip() == readme.strip() and readme.strip()
    classifiers = meta.get_all("Classifier") or []
    assert set(REQUIRED_CLASSIFIERS) <= set(classifiers)
    assert any(c.startswith("Development Status ::") for c in classifiers)
    assert f"{package_of(distribution)}/py.typed" in names
    assert f"{package_of(distribution)}/__init__.py" in names


@pytest.mark.parametrize("feature", PLUGIN_FEATURES)
def test_plugin_entry_point_and_host_bounds(wheelhouse: Path, feature: str) -> None:
    distribution = f"litellm-accel-{feature}"
    host_version = Version(project_table("litellm-accel")["version"])
    with zipfile.ZipFile(wheel_path(wheelhouse, distribution)) as wheel:
        meta = read_metadata(wheel, distribution)
        entry_points = wheel.read(
            f"{package_of(distribution)}-{project_table(distribution)['version']}.dist-info/entry_points.txt"
        ).decode()
    assert f"[litellm_accel]\n{feature} = litellm_accel_{feature}.hooks" in entry_points
    (host,) = [r for r in requirements(meta) if r.name == "litellm-accel"]
    assert host.marker is None and not host.extras
    assert all(spec.operator != "==" for spec in host.specifier), "plugins must not pin the host exactly"
    assert host.specifier.contains(host_version), f"{host} excludes the host being built ({host_version})"
    next_major = Version(f"{host_version.major + 1}") if host_version.major else Version("1")
    assert not host.specifier.contains(next_major), f"{host} must exclude the next major host release"
    assert str(host.specifier) == "<1,>=0.1"


def test_host_extras_name_plugin_minimum_versions(wheelhouse: Path) -> None:
    with zipfile.ZipFile(wheel_path(wheelhouse, "litellm-accel")) as wheel:
        meta = read_metadata(wheel, "litellm-accel")
        entry_points = wheel.read(
            f"litellm_accel-{project_table('litellm-accel')['version']}.dist-info/entry_points.txt"
        ).decode()
    assert "[console_scripts]\nlitellm-accel = litellm_accel.cli:main" in entry_points
    extras = set(meta.get_all("Provides-Extra") or [])
    assert {*PLUGIN_FEATURES, "all"} <= extras
    by_extra: dict[str, dict[str, Requirement]] = {}
    for req in requirements(meta):
        if req.marker is None:
            continue
        for extra in extras:
            if req.marker.evaluate({"extra": extra}):
                by_extra.setdefault(extra, {})[req.name] = req
    for feature in PLUGIN_FEATURES:
        plugin = f"litellm-accel-{feature}"
        assert set(by_extra[feature]) == {plugin}, f"extra [{feature}] should bring exactly {plugin}"
        spec = by_extra[feature][plugin].specifier
        built = Version(project_table(plugin)["version"])
        assert [s.operator for s in spec] == [">="], f"extra [{feature}] must set a minimum version only: {spec}"
        assert spec.contains(built), f"extra [{feature}] ({spec}) excludes the plugin being built ({built})"
    assert set(by_extra["all"]) == {f"litellm-accel-{f}" for f in PLUGIN_FEATURES}
    assert {name: str(r.specifier) for name, r in by_extra["all"].items()} == {
        name: str(r.specifier) for feature in PLUGIN_FEATURES for name, r in by_extra[feature].items()
    }, "[all] must ask for the same minimum versions as the single-feature extras"


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_sdist_contents(wheelhouse: Path, distribution: str) -> None:
    version = project_table(distribution)["version"]
    prefix = f"{package_of(distribution)}-{version}"
    with tarfile.open(wheelhouse / f"{prefix}.tar.gz") as sdist:
        names = set(sdist.getnames())
    for required in ("LICENSE", "README.md", "pyproject.toml", "PKG-INFO", f"src/{package_of(distribution)}/py.typed"):
        assert f"{prefix}/{required}" in names, f"{required} missing from the {distribution} sdist"


def test_host_wheel_ships_the_conformance_kit(wheelhouse: Path) -> None:
    with zipfile.ZipFile(wheel_path(wheelhouse, "litellm-accel")) as wheel:
        names = set(wheel.namelist())
    kit = {n for n in names if n.startswith("litellm_accel/testing/")}
    for module in (
        "__init__",
        "pytest_plugin",
        "token_contract",
        "routing_contract",
        "ratelimit_contract",
        "pool_contract",
        "corpus",
    ):
        assert f"litellm_accel/testing/{module}.py" in kit, module
