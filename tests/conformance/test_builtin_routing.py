"""The built-in routing strategy (litellm-accel-routing) passes the conformance kit."""

import pytest

from litellm_accel.testing import RoutingStrategyContract
from tests.conformance.builtin import builtin_class


class TestBuiltinRouting(RoutingStrategyContract):
    @pytest.fixture
    def implementation_class(self) -> type:
        return builtin_class("routing")


class TestBuiltinRoutingOtherStrategies(TestBuiltinRouting):
    """The further stock strategies the built-in serves itself (it delegates usage-based-routing v1)."""

    routing_strategies = ("least-busy", "latency-based-routing")
