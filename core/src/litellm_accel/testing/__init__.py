"""The litellm-accel conformance kit: contract tests a plugin author points at an implementation.

::

    # tests/test_my_counter.py  (run with: pytest -p litellm_accel.testing.pytest_plugin)
    import pytest
    from litellm_accel.testing import TokenCounterContract

    class TestMyCounter(TokenCounterContract):
        @pytest.fixture
        def implementation_class(self):
            from my_plugin.counter import MyCounter
            return MyCounter

One base class per feature: :class:`TokenCounterContract`, :class:`RoutingStrategyContract`,
:class:`RateLimiterContract` (also override ``limit_setup``) and :class:`ConnectionPoolContract`.
See docs/writing-a-plugin.md. Importing this package imports pytest; it is meant for test code only.
"""

from litellm_accel.testing.harness import feature_settings, installed, make_context, registration_plugin
from litellm_accel.testing.pool_contract import ConnectionPoolContract
from litellm_accel.testing.ratelimit_contract import RateLimiterContract
from litellm_accel.testing.routing_contract import RoutingStrategyContract
from litellm_accel.testing.token_contract import TokenCounterContract

__all__ = [
    "ConnectionPoolContract",
    "RateLimiterContract",
    "RoutingStrategyContract",
    "TokenCounterContract",
    "feature_settings",
    "installed",
    "make_context",
    "registration_plugin",
]
