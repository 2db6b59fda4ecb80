"""The model list every instance of the shared-state tests serves: one group ``g`` of two deployments with
fixed ids (instances agree on ids, as they do when they load the same config)."""

from __future__ import annotations

from typing import Any


def model_list() -> list[dict[str, Any]]:
    return [
        {
            "model_name": "g",
            "litellm_params": {"model": "openai/model-one", "api_key": "sk-test", "rpm": 10_000},
            "model_info": {"id": "d1"},
        },
        {
            "model_name": "g",
            "litellm_params": {"model": "openai/model-two", "api_key": "sk-test", "rpm": 10_000},
            "model_info": {"id": "d2"},
        },
    ]
