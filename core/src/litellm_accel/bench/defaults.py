"""The embedded benchmark configuration: a Router like a production one, pointed at the fake server.

Three model groups of ten OpenAI deployments each, every deployment with its own ``rpm``/``tpm`` limit,
usage-based routing (v2), the context-window pre-call checks and litellm's
``enforce_model_rate_limits`` check on. The limits are far above what a benchmark run sends, so no
request is ever refused for being over a limit; they are there because the routing and limit code
paths only do their work when limits exist.
"""

from __future__ import annotations

import copy
from typing import Any

#: API key sent to the fake server (it accepts anything).
FAKE_API_KEY = "sk-litellm-accel-bench"

#: The assistant text the fake server answers with; the end-to-end scenario checks every response for it.
FAKE_REPLY = "Hello from the litellm-accel benchmark server."

#: model group -> litellm model of its deployments.
MODEL_GROUPS: dict[str, str] = {
    "gpt-4o": "openai/gpt-4o",
    "gpt-4o-mini": "openai/gpt-4o-mini",
    "gpt-4.1-mini": "openai/gpt-4.1-mini",
}

DEPLOYMENTS_PER_GROUP = 10

#: Router arguments of the embedded configuration. ``num_retries=0`` so that a failed request shows up
#: as a failure in the end-to-end check instead of being retried away.
ROUTER_SETTINGS: dict[str, Any] = {
    "routing_strategy": "usage-based-routing-v2",
    "enable_pre_call_checks": True,
    "optional_pre_call_checks": ["enforce_model_rate_limits"],
    "num_retries": 0,
}

#: Routing strategies measured by the ``routing.*`` scenarios (litellm's names).
ROUTING_STRATEGIES: tuple[str, ...] = (
    "simple-shuffle",
    "least-busy",
    "latency-based-routing",
    "usage-based-routing-v2",
)

#: Deployment counts of the routing scenarios.
ROUTING_SIZES: tuple[int, ...] = (10, 100)


def deployment(group: str, model: str, index: int, api_base: str) -> dict[str, Any]:
    """One deployment of ``group`` with limits that differ a little per deployment (so usage-based
    routing has headroom to compare) and a stable id (so picks can be checked)."""
    return {
        "model_name": group,
        "litellm_params": {
            "model": model,
            "api_base": api_base,
            "api_key": FAKE_API_KEY,
            "rpm": 50_000 + 1_000 * index,
            "tpm": 50_000_000 + 1_000_000 * index,
        },
        "model_info": {"id": f"{group}-{index:03d}"},
    }


def default_model_list(api_base: str, deployments_per_group: int = DEPLOYMENTS_PER_GROUP) -> list[dict[str, Any]]:
    """The embedded model list with every ``api_base`` set to ``api_base`` (the fake server's ``/v1``)."""
    return [
        deployment(group, model, index, api_base)
        for group, model in MODEL_GROUPS.items()
        for index in range(deployments_per_group)
    ]


def default_router_settings() -> dict[str, Any]:
    """A fresh copy of :data:`ROUTER_SETTINGS`."""
    return copy.deepcopy(ROUTER_SETTINGS)
