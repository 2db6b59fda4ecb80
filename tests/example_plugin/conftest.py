"""Builds the example plugin (examples/accel-memo-tokens) into a wheel, installs that wheel into a
temporary site directory once per session, and puts the directory on ``sys.path`` for the tests that
ask for it, so the host discovers the plugin through its real entry point and ``*.dist-info``."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from litellm_accel.testing.pytest_plugin import (  # noqa: F401 - kit hooks for the conformance class here
    pytest_collection_modifyitems,
    pytest_configure,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "accel-memo-tokens"


def uv_command() -> list[str]:
    """``uv`` from PATH, else ``python -m uv``."""
    found = shutil.which("uv")
    return [found] if found else [sys.executable, "-m", "uv"]


@pytest.fixture(scope="session")
def example_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site directory holding the example plugin installed from its freshly built wheel."""
    wheelhouse = tmp_path_factory.mktemp("example-wheel")
    site = tmp_path_factory.mktemp("example-site")
    subprocess.run(
        [*uv_command(), "build", "--wheel", "--out-dir", str(wheelhouse), str(EXAMPLE)],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheelhouse.glob("accel_memo_tokens-*.whl")
    subprocess.run(
        [*uv_command(), "pip", "install", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
    )
    return site


@pytest.fixture
def example_installed(example_site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The example plugin importable and discoverable (entry point) for one test."""
    monkeypatch.syspath_prepend(str(example_site))
    importlib.invalidate_caches()
    yield example_site
    for name in [n for n in sys.modules if n == "accel_memo_tokens" or n.startswith("accel_memo_tokens.")]:
        del sys.modules[name]
