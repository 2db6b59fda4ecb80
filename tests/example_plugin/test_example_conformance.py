"""The example plugin passes the conformance kit (loaded through its installed entry point)."""

from __future__ import annotations

from typing import Any

import pytest

from litellm_accel.plugins import PluginManager
from litellm_accel.settings import AccelSettings
from litellm_accel.testing import TokenCounterContract


@pytest.fixture
def memo_class(example_installed: Any) -> type:
    return PluginManager(AccelSettings()).select("tokens", "memo").cls


class TestMemoTokenCounter(TokenCounterContract):
    @pytest.fixture
    def implementation_class(self, memo_class: type) -> type:
        return memo_class


class TestMemoTokenCounterTinyMemo(TokenCounterContract):
    """Eviction on every other call must not change a single count."""

    @pytest.fixture
    def implementation_class(self, memo_class: type) -> type:
        return memo_class

    @pytest.fixture
    def implementation_options(self) -> dict[str, Any]:
        return {"max_entries": 2}


class TestMemoTokenCounterOneFamily(TokenCounterContract):
    """With ``models`` set, other families are delegated (UseStock), which conforms too."""

    min_answered_share = 0.25

    @pytest.fixture
    def implementation_class(self, memo_class: type) -> type:
        return memo_class

    @pytest.fixture
    def implementation_options(self) -> dict[str, Any]:
        return {"models": ["gpt-", "openai/", "azure/"]}
