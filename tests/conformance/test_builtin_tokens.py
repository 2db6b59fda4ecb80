"""The built-in token counter (litellm-accel-tokens) passes the conformance kit."""

import pytest

from litellm_accel.testing import TokenCounterContract
from tests.conformance.builtin import builtin_class


class TestBuiltinTokenCounter(TokenCounterContract):
    @pytest.fixture
    def implementation_class(self) -> type:
        return builtin_class("tokens")
