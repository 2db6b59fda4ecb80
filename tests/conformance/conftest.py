"""Loads the conformance kit's pytest plugin for this folder (a conftest import: ``pytest_plugins`` is
only allowed in the top-level conftest)."""

from litellm_accel.testing.pytest_plugin import (  # noqa: F401 - fixtures and hooks, used by pytest
    _accel_clean_state,
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_report_header,
)
