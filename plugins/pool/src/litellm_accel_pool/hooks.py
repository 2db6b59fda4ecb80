"""Entry point of litellm-accel-pool (group ``litellm_accel``): registers its implementation classes.

Kept thin on purpose: the implementation lives in its own module and is imported only when the host
asks for the registration.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from litellm_accel import hookimpl
from litellm_accel.contracts import HealthReport

LITELLM_ACCEL_API_VERSION = "1.0"


@hookimpl
def litellm_accel_connection_pools() -> list[type[Any]]:
    from litellm_accel_pool.pool import BuiltinConnectionPool

    return [BuiltinConnectionPool]


@hookimpl
def litellm_accel_health() -> list[HealthReport]:
    reports = []
    for module, role in (("aiohttp", "transport='aiohttp'"), ("h2", "http2=true")):
        present = importlib.util.find_spec(module) is not None
        detail = f"{module} importable ({role} available)" if present else f"{module} missing ({role} unavailable)"
        reports.append(HealthReport(f"pool: {module}", present or module == "h2", detail))
    return reports
