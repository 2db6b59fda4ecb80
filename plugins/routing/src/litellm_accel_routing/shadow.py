"""Shadow-mode comparison of an accelerated pick with stock's pick for the same request.

Picks are random, so two picks are not expected to be the same deployment. The comparison checks
eligibility instead: both picks are deployments of the same model group, and stock's pick is among the
deployments the accelerated path found eligible for this request (recorded in :data:`LAST_ELIGIBLE`
by the accelerated pick, which the guard runs right after stock's). A stock pick outside that set
means the accelerated path excluded a deployment stock considered eligible: a mismatch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litellm_accel_routing.strategy import LAST_ELIGIBLE


def _id_and_group(deployment: Any) -> tuple[str | None, Any]:
    if not isinstance(deployment, Mapping):
        return None, None
    info = deployment.get("model_info")
    model_id = info.get("id") if isinstance(info, Mapping) else None
    return (str(model_id) if model_id is not None else None), deployment.get("model_name")


def same_eligibility(accelerated: Any, stock: Any) -> bool:
    """True when the accelerated pick is consistent with stock's eligibility for the request."""
    accel_id, accel_group = _id_and_group(accelerated)
    stock_id, stock_group = _id_and_group(stock)
    if accel_id is None or stock_id is None or accel_group != stock_group:
        return False
    eligible = LAST_ELIGIBLE.get()
    if eligible is None:
        return accel_id == stock_id
    return accel_id in eligible and stock_id in eligible
