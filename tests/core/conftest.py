"""Fixtures for host tests: fake "installed" distributions in a temporary site directory.

Each distribution gets a real ``*.dist-info`` folder with ``METADATA`` and ``entry_points.txt`` on
``sys.path``, so ``importlib.metadata`` discovers it exactly as it discovers a pip-installed package.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent.parent / "fixtures"

InstallDist = Callable[..., Path]


@pytest.fixture
def site_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    before = set(sys.modules)
    yield site
    for name in set(sys.modules) - before:
        if name.startswith("accel_"):
            del sys.modules[name]


@pytest.fixture
def install_dist(site_dir: Path) -> InstallDist:
    """``install_dist(name, entry_points={ep: "module"}, modules={"module": source}, version="1.0")``."""

    def install(
        name: str,
        *,
        entry_points: dict[str, str],
        modules: dict[str, str] | None = None,
        version: str = "1.0.0",
    ) -> Path:
        dist_info = site_dir / f"{name.replace('-', '_')}-{version}.dist-info"
        dist_info.mkdir()
        (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        lines = ["[litellm_accel]"] + [f"{ep} = {target}" for ep, target in entry_points.items()]
        (dist_info / "entry_points.txt").write_text("\n".join(lines) + "\n")
        for module, source in (modules or {}).items():
            (site_dir / f"{module}.py").write_text(source)
        return dist_info

    return install


@pytest.fixture
def sample_plugin(install_dist: InstallDist, site_dir: Path) -> str:
    """Install the sample plugin distribution ``accel-sample`` (entry point ``sample``)."""
    shutil.copy(FIXTURES / "accel_sample_plugin.py", site_dir / "accel_sample_plugin.py")
    install_dist("accel-sample", entry_points={"sample": "accel_sample_plugin"})
    import accel_sample_plugin

    accel_sample_plugin.SampleCounter.mode = "ok"
    accel_sample_plugin.SampleCounter.instances.clear()
    return "sample"
