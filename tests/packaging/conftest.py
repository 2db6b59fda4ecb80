"""Session-wide fixtures of the packaging tests: the wheelhouse built by ``uv build --all-packages`` and a
fresh virtual environment the wheels are installed into."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[2]
#: distribution name -> folder holding its pyproject.toml
DISTRIBUTIONS = {
    "litellm-accel": ROOT / "core",
    "litellm-accel-tokens": ROOT / "plugins" / "tokens",
    "litellm-accel-routing": ROOT / "plugins" / "routing",
    "litellm-accel-pool": ROOT / "plugins" / "pool",
    "litellm-accel-ratelimit": ROOT / "plugins" / "ratelimit",
}
PLUGIN_FEATURES = ("tokens", "routing", "pool", "ratelimit")


def uv_command() -> list[str]:
    """``uv`` from PATH, else ``python -m uv``."""
    found = shutil.which("uv")
    return [found] if found else [sys.executable, "-m", "uv"]


def project_table(distribution: str) -> dict:
    with open(DISTRIBUTIONS[distribution] / "pyproject.toml", "rb") as handle:
        return tomllib.load(handle)["project"]


def run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure the assertion shows its output."""
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    assert result.returncode == 0, (
        f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    )
    return result


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Wheels and sdists of the five distributions, built from the work tree."""
    out = tmp_path_factory.mktemp("wheelhouse")
    run([*uv_command(), "build", "--all-packages", "--out-dir", str(out)], cwd=ROOT)
    return out


@dataclass
class Venv:
    """A fresh virtual environment (no packages but what the tests install)."""

    path: Path

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def uv_install(self, wheelhouse: Path, requirement: str, constraints: Path) -> None:
        """``uv pip install --find-links <wheelhouse> <requirement>``: the fast equivalent of pip for the
        first install, which brings litellm and the other dependencies from the package index."""
        run(
            [
                *uv_command(),
                "pip",
                "install",
                "--python",
                str(self.python),
                "--find-links",
                str(wheelhouse),
                "--constraint",
                str(constraints),
                "--no-compile",
                requirement,
            ]
        )

    def pip_install(self, wheelhouse: Path, requirement: str) -> None:
        """``pip install --find-links <wheelhouse> <requirement>`` with the environment's own pip."""
        run(
            [
                str(self.python),
                "-m",
                "pip",
                "install",
                "--no-compile",
                "--disable-pip-version-check",
                "--find-links",
                str(wheelhouse),
                requirement,
            ],
            env={**self.env(), "PIP_NO_INPUT": "1"},
        )

    def accel_distributions(self) -> dict[str, str]:
        """``{name: version}`` of every installed litellm-accel* distribution."""
        script = (
            "import json; from importlib import metadata; "
            "print(json.dumps({d.metadata['Name']: d.version for d in metadata.distributions() "
            "if d.metadata['Name'].startswith('litellm-accel')}))"
        )
        return json.loads(run([str(self.python), "-c", script]).stdout)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LITELLM_ACCEL_", "PYTHON", "VIRTUAL_ENV"))}
        env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
        return env

    def cli_json(self, *args: str, cwd: Path) -> dict:
        result = run([str(self.path / "bin" / "litellm-accel"), *args, "--json"], cwd=cwd, env=self.env())
        return json.loads(result.stdout)

    def python_json(self, script: str, cwd: Path) -> object:
        return json.loads(run([str(self.python), "-c", script], cwd=cwd, env=self.env()).stdout)


@pytest.fixture(scope="session")
def third_party_constraints(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Pins for every third-party package to the version this test run itself uses.

    The test checks our wheels, not whatever litellm release is newest today: pinning keeps the
    install repeatable and lets uv serve it from its cache.
    """
    pins = sorted(
        f"{d.metadata['Name']}=={d.version}"
        for d in metadata.distributions()
        if d.metadata["Name"] and not d.metadata["Name"].lower().startswith("litellm-accel")
    )
    path = tmp_path_factory.mktemp("constraints") / "constraints.txt"
    path.write_text("\n".join(pins) + "\n")
    return path


@pytest.fixture(scope="session")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    path = tmp_path_factory.mktemp("venv") / "env"
    run([sys.executable, "-m", "venv", str(path)])
    return Venv(path)
