"""The built-in connection pool (litellm-accel-pool) passes the conformance kit."""

import pytest

from litellm_accel.testing import ConnectionPoolContract
from tests.conformance.builtin import builtin_class


class TestBuiltinConnectionPool(ConnectionPoolContract):
    @pytest.fixture
    def implementation_class(self) -> type:
        return builtin_class("pool")
