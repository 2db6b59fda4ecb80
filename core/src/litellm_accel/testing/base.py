"""What every feature's contract test class shares: which class is under test, with which options."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from litellm_accel.testing.harness import make_context


class ContractBase:
    """Base of the ``*Contract`` test classes.

    A subclass named ``Test...`` is collected by pytest and must provide the fixture
    ``implementation_class`` (the class under test); it may override ``implementation_options`` (the
    feature's ``options`` table) and ``accel_settings`` (other top-level settings, e.g. ``redis_url``).
    """

    feature: ClassVar[str] = ""

    @pytest.fixture
    def implementation_class(self) -> type:
        raise pytest.UsageError(
            f"{type(self).__name__} must define the fixture 'implementation_class' returning the "
            f"{self.feature} implementation class under test (see docs/writing-a-plugin.md)"
        )

    @pytest.fixture
    def implementation_options(self) -> dict[str, Any]:
        return {}

    @pytest.fixture
    def accel_settings(self) -> dict[str, Any]:
        return {}

    @pytest.fixture
    def implementation(
        self, implementation_class: type, implementation_options: dict[str, Any], accel_settings: dict[str, Any]
    ) -> Iterator[Any]:
        """An instance built with the context the host would give it; closed afterwards."""
        instance = implementation_class(
            make_context(self.feature, implementation_class, implementation_options, **accel_settings)
        )
        try:
            yield instance
        finally:
            instance.close()

    def test_declares_a_name(self, implementation_class: type) -> None:
        name = getattr(implementation_class, "name", None)
        assert isinstance(name, str) and name.strip(), "the class needs a non-empty str class attribute 'name'"
