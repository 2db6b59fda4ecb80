"""Routing tests: every Router a test makes through ``make_router`` is retired afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.routing.helpers import retire_created_routers


@pytest.fixture(autouse=True)
def _retire_routers() -> Iterator[None]:
    yield
    retire_created_routers()
