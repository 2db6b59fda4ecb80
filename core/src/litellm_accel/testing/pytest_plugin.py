"""pytest plugin of the conformance kit: load it with ``pytest -p litellm_accel.testing.pytest_plugin``
(or ``pytest_plugins = ["litellm_accel.testing.pytest_plugin"]`` in your top-level conftest.py).

It is deliberately not registered as a ``pytest11`` entry point: installing litellm-accel must not
change unrelated test runs. What it adds:

- offline litellm (``LITELLM_LOCAL_MODEL_COST_MAP=True``) before any test imports litellm;
- a clean litellm-accel state around each test (uninstalled, fresh metrics and flags), so a contract
  test never sees another test's installation;
- the ``accel_contract`` marker on every test of a ``*Contract`` class (``pytest -m accel_contract``);
- a report header with the host version and plugin API version.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "accel_contract: a litellm-accel conformance (contract) test")


def pytest_report_header(config: pytest.Config) -> str:
    from litellm_accel._version import PLUGIN_API_VERSION, __version__

    return f"litellm-accel {__version__}, plugin API {PLUGIN_API_VERSION} (conformance kit loaded)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from litellm_accel.testing.base import ContractBase

    for item in items:
        cls = getattr(item, "cls", None)
        if cls is not None and issubclass(cls, ContractBase):
            item.add_marker(pytest.mark.accel_contract)


@pytest.fixture(autouse=True)
def _accel_clean_state() -> Iterator[None]:
    """Uninstalled, fresh metrics and flags before and after each test."""
    from litellm_accel import installer
    from litellm_accel.flags import FLAGS
    from litellm_accel.metrics import REGISTRY

    installer.uninstall()
    REGISTRY.reset()
    FLAGS._flags.clear()
    yield
    installer.uninstall()
