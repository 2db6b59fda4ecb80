"""Per-router, per-group structures precomputed once per registry version.

A :class:`RouterView` belongs to one litellm router core. It is rebuilt when anything a pick depends on
changes: the Rust handle (``set_model_list`` builds a new one), its ``registry_version()`` (deployments
added, updated or deleted), or the resolved settings object (any settings update replaces it). Inside a
view, each model group gets a :class:`GroupTable` holding what stock litellm recomputes on every pick:
the group's deployment records, the deployments as a pick serves them, the simple-shuffle weights and
their cumulative array, context windows, regions and the tokenizer model of the pre-call checks.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Router settings (``Router(...)`` arguments) whose effects the accelerated pick does not reproduce.
UNSUPPORTED_CONFIG = (
    "optional_pre_call_checks",
    "provider_budget_config",
    "model_group_affinity_config",
    "routing_groups",
    "plugins",
    "enable_tag_filtering",
    "enable_health_check_routing",
)
#: Optional pre-call checks that never change which deployments a pick may return: litellm runs them on the
#: picked deployment inside completion/acompletion. (When a plugin gives one a deployment filter, async
#: picks see ``has_filters()`` and are handed to stock.)
PICK_NEUTRAL_CHECKS = frozenset({"enforce_model_rate_limits"})


def _only_rate_limit_checks(core: Any) -> bool:
    """``optional_pre_call_checks`` names only pick-neutral checks, and the router's live optional
    callbacks are exactly litellm's model rate-limit checks."""
    from litellm.router_utils.pre_call_checks.model_rate_limit_check import ModelRateLimitingCheck

    names = core._config.get("optional_pre_call_checks")
    if not isinstance(names, list | tuple) or not set(names) <= PICK_NEUTRAL_CHECKS:
        return False
    return all(type(cb) is ModelRateLimitingCheck for cb in core._checks.optional_callbacks or ())


#: Deployment fields whose routing effects the accelerated pick does not reproduce.
UNSUPPORTED_PARAMS = ("order", "kubernetes_pod_discovery", "max_parallel_requests")
UNSUPPORTED_MODEL_INFO = ("team_id", "team_public_model_name", "enable_tag_filtering", "access_groups")
#: The metrics simple-shuffle weighs by, in stock litellm's order of preference.
SHUFFLE_METRICS = ("weight", "rpm", "tpm")


class Unsupported(Exception):
    """This router, group or request is outside what the accelerated pick reproduces."""


def metric_value(record: Mapping[str, Any], metric: str) -> float:
    """Stock ``simple_shuffle``'s ``_metric_weight``; non-numeric values are :class:`Unsupported`
    (stock raises ``TypeError`` for them, which the stock path then reports)."""
    params = record.get("litellm_params")
    value = params.get(metric) if isinstance(params, Mapping) else None
    if value is None:
        return 0.0
    if isinstance(value, (int, float)):
        number = float(value)
        if math.isnan(number) or math.isinf(number) or number < 0:
            raise Unsupported(f"deployment {metric}={value!r}")
        return number
    raise Unsupported(f"deployment {metric} is not numeric")


def cumulative(weights: list[float]) -> list[float]:
    out: list[float] = []
    total = 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


@dataclass
class GroupTable:
    """One model group of one registry version."""

    group: str
    ids: tuple[str, ...]
    records: dict[str, dict[str, Any]]
    #: id -> (weight, rpm, tpm) as simple-shuffle reads them
    metrics: dict[str, tuple[float, float, float]]
    #: the whole group's simple-shuffle choice: cumulative weights (empty: uniform)
    full_cumulative: list[float]
    served: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    windows: dict[str, int | None] | None = None
    regions: dict[tuple[str, str], bool] = field(default_factory=dict)
    tokenizer_model: str | None = None
    #: the stateful strategies' per-deployment facts, by strategy (built on first use, see stateful.py)
    stateful_facts: dict[Any, Any] = field(default_factory=dict)

    def shuffle_pick(self, eligible: list[str], rng: random.Random | Any = random) -> str:
        """Stock simple-shuffle's distribution over ``eligible``: weight, else rpm, else tpm, else
        uniform, each deployment with probability proportional to its value of the first metric that
        is positive for at least one eligible deployment."""
        if len(eligible) == len(self.ids):
            cum = self.full_cumulative
            if not cum:
                return self.ids[int(rng.random() * len(self.ids))]
            return self.ids[min(bisect.bisect_right(cum, rng.random() * cum[-1]), len(cum) - 1)]
        metrics = self.metrics
        for index in range(3):
            weights = [metrics[i][index] for i in eligible]
            if max(weights, default=0.0) > 0:
                cum = cumulative(weights)
                return eligible[min(bisect.bisect_right(cum, rng.random() * cum[-1]), len(cum) - 1)]
        return eligible[int(rng.random() * len(eligible))]


def build_group(group: str, ids: tuple[str, ...], handle: Any) -> GroupTable:
    """Read the group's deployments from the handle and precompute its shuffle weights."""
    records: dict[str, dict[str, Any]] = {}
    metrics: dict[str, tuple[float, float, float]] = {}
    for model_id in ids:
        record = handle.deployment(model_id)
        if not isinstance(record, Mapping):
            raise Unsupported(f"deployment {model_id} has no record")
        record = dict(record)
        params = record.get("litellm_params") or {}
        info = record.get("model_info") or {}
        if "*" in str(record.get("model_name", "")):
            raise Unsupported("wildcard deployment")
        for key in UNSUPPORTED_PARAMS:
            if params.get(key) is not None:
                raise Unsupported(f"deployment litellm_params.{key}")
        for key in UNSUPPORTED_MODEL_INFO:
            if info.get(key):
                raise Unsupported(f"deployment model_info.{key}")
        records[model_id] = record
        metrics[model_id] = tuple(metric_value(record, m) for m in SHUFFLE_METRICS)  # type: ignore[assignment]
    full: list[float] = []
    for index in range(3):
        weights = [metrics[i][index] for i in ids]
        if max(weights, default=0.0) > 0:
            full = cumulative(weights)
            break
    return GroupTable(group, ids, records, metrics, full)


class RouterView:
    """Everything precomputed for one router core at one version (see the module docstring)."""

    def __init__(self, key: tuple[Any, ...], core: Any, strategies: frozenset[str]) -> None:
        self.key = key
        self.resolutions: dict[str, tuple[str, tuple[str, ...]] | None] = {}
        self.groups: dict[str, GroupTable | Exception] = {}
        self.reason = self._router_reason(core, strategies)
        self.strategy = _normalized_strategy(core)

    @staticmethod
    def _router_reason(core: Any, strategies: frozenset[str]) -> str | None:
        """Why this router is served by stock (``None`` when the accelerated pick serves it)."""
        resolved = core._resolved
        strategy = _normalized_strategy(core)
        if strategy not in strategies:
            return f"routing_strategy {strategy!r}"
        config = core._config
        for name in UNSUPPORTED_CONFIG:
            if config.get(name) and not (name == "optional_pre_call_checks" and _only_rate_limit_checks(core)):
                return f"router setting {name}"
        if resolved.routing_groups or resolved.routing_plugins or resolved.enable_tag_filtering:
            return "routing groups, plugins or tag filtering"
        if getattr(resolved.health_routing, "enable_health_check_routing", False):
            return "health-check routing"
        if core._hosted._core_routing_plugins:
            return "routing plugins"
        if core._custom_strategy is not None or "_core_async_get_available_deployment" in core.__dict__:
            return "custom routing strategy"
        if core._model_tag_filtering():
            return "deployment tag filtering"
        return None

    def resolve(self, core: Any, model: str) -> tuple[str, tuple[str, ...]] | None:
        """(group, ids) for a requested name that resolves to a group or an alias of one."""
        try:
            return self.resolutions[model]
        except KeyError:
            pass
        found = core._handle.resolve(model)
        value: tuple[str, tuple[str, ...]] | None = None
        if found is not None and found.get("kind") in ("Group", "Alias"):
            ids = tuple(str(i) for i in found.get("ids") or ())
            if ids:
                value = (str(found["model_group"]), ids)
        self.resolutions[model] = value
        return value

    def table(self, core: Any, group: str, ids: tuple[str, ...]) -> GroupTable:
        table = self.groups.get(group)
        if table is None:
            try:
                table = build_group(group, ids, core._handle)
            except Unsupported as exc:
                table = exc
            self.groups[group] = table
        if isinstance(table, Exception):
            raise Unsupported(str(table))
        return table


def _normalized_strategy(core: Any) -> str | None:
    from litellm.router_rust.steps.selection import normalize_strategy

    return normalize_strategy(core._resolved.routing_strategy)


def view_key(core: Any) -> tuple[Any, ...]:
    """What a view is valid for: the handle, its registry version and the resolved settings."""
    handle = core._handle
    return (id(handle), handle.registry_version(), id(core._resolved), id(core._config))
