"""The native least-busy and usage-based-routing-v2 choices against litellm's own selector objects.

For random groups (limits in ``litellm_params`` or ``model_info``, or none), random recorded state (in-flight
counts, live and expired pick reservations, per-minute tpm/rpm usage), random eligible subsets and prompts,
the native choice equals the stock selector's: least-busy is deterministic, usage-v2 draws with
``random.choice`` over the same candidates in the same order, so with the same seed both pick the same
deployment. Where the stock selector finds nothing (it raises), the native choice hands the pick to stock.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from hypothesis import assume, event, given, settings
from hypothesis import strategies as st
from litellm import Router

from tests.routing.helpers import accelerated_routing

MESSAGES = [{"role": "user", "content": "Count these words please, all of them, twice."}]

limit = st.one_of(st.none(), st.integers(1, 400))
deployment_spec = st.fixed_dictionaries(
    {"tpm": limit, "rpm": limit, "where": st.sampled_from(["litellm_params", "model_info"])}
)


def group(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for index, spec in enumerate(specs):
        params: dict[str, Any] = {"model": f"openai/model-{index % 3}", "api_key": "sk-test"}
        info: dict[str, Any] = {"id": f"dep-{index}"}
        target = params if spec["where"] == "litellm_params" else info
        for name in ("tpm", "rpm"):
            if spec[name] is not None:
                target[name] = spec[name]
        out.append({"model_name": "g", "litellm_params": params, "model_info": info})
    return out


@contextmanager
def routed(**kwargs: Any) -> Iterator[tuple[Any, Any]]:
    """A router (retired afterwards: hypothesis runs many examples in one test) and the accelerated
    implementation."""
    router = Router(**kwargs)
    try:
        with accelerated_routing() as impl:
            yield router, impl
    finally:
        router.retire()


def minute() -> str:
    return datetime.now(timezone.utc).strftime("%H-%M")


def subset(ids: tuple[str, ...], keep: list[bool]) -> list[str]:
    chosen = [i for i, k in zip(ids, keep, strict=False) if k]
    return chosen or list(ids)


@settings(max_examples=150, deadline=None)
@given(
    specs=st.lists(deployment_spec, min_size=1, max_size=8),
    tpm_used=st.lists(st.one_of(st.none(), st.integers(0, 450)), min_size=8, max_size=8),
    rpm_used=st.lists(st.one_of(st.none(), st.integers(0, 450)), min_size=8, max_size=8),
    keep=st.lists(st.booleans(), min_size=8, max_size=8),
    with_messages=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_usage_v2_choice_equals_the_selector(
    specs: list[dict[str, Any]],
    tpm_used: list[int | None],
    rpm_used: list[int | None],
    keep: list[bool],
    with_messages: bool,
    seed: int,
) -> None:
    with routed(model_list=group(specs), routing_strategy="usage-based-routing-v2") as (router, impl):
        core = router._core
        _view, table, ids = impl._prepare(core, "g", False, {}, None)
        selector = core._selectors.default
        label = minute()
        cache = core._cache
        for index, model_id in enumerate(ids):
            model = table.records[model_id]["litellm_params"]["model"]
            if tpm_used[index] is not None:
                cache.set_cache(f"{model_id}:{model}:tpm:{label}", tpm_used[index], local_only=True, ttl=60)
            if rpm_used[index] is not None:
                cache.set_cache(f"{model_id}:{model}:rpm:{label}", rpm_used[index], local_only=True, ttl=60)
        eligible = subset(ids, keep)
        messages = MESSAGES if with_messages else None
        assert impl.stateful.usage_facts(table).usable
        random.seed(seed)
        native = impl.stateful.usage_v2(selector, table, eligible, messages, None)
        random.seed(seed)
        try:
            picked = selector.get_available_deployments(
                model_group="g", healthy_deployments=[dict(table.records[i]) for i in eligible], messages=messages
            )
            stock = picked["model_info"]["id"]
        except ValueError:
            stock = None  # the selector's "no deployments available": the native path hands it to stock
        assume(minute() == label)  # the usage keys name the minute: both reads in the same one
        event("stock picked" if stock is not None else "nothing fits: stock raises")
        assert native == stock


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(1, 8),
    counts=st.lists(st.one_of(st.none(), st.integers(0, 4)), min_size=8, max_size=8),
    reservations=st.lists(st.lists(st.floats(0, 60), max_size=3), min_size=8, max_size=8),
    keep=st.lists(st.booleans(), min_size=8, max_size=8),
    alias=st.booleans(),
)
def test_least_busy_choice_equals_the_selector(
    n: int, counts: list[int | None], reservations: list[list[float]], keep: list[bool], alias: bool
) -> None:
    """In-flight counts under the requested name, plus unexpired reservations (older than 30 s: expired)."""
    specs = [{"tpm": None, "rpm": None, "where": "litellm_params"}] * n
    requested = "a" if alias else "g"
    aliases = {"a": "g"} if alias else {}
    with routed(model_list=group(specs), routing_strategy="least-busy", model_group_alias=aliases) as (router, impl):
        core = router._core
        _view, _table, ids = impl._prepare(core, requested, False, {}, None)
        selector = core._selectors.default
        now = time.monotonic()
        for index, model_id in enumerate(ids):
            if counts[index] is not None:
                core._cache.set_cache(f"{requested}_request_count:{model_id}", counts[index], local_only=True)
            picks = tuple((now - age, f"call-{j}") for j, age in enumerate(reservations[index]))
            if picks:
                selector._reservations.set_cache(f"least_busy_reservations:{model_id}", picks, ttl=60)
        eligible = subset(ids, keep)
        native = impl.stateful.least_busy(selector, requested, _table, eligible, False)
        stock = selector.get_available_deployments(
            model_group=requested, healthy_deployments=[dict(_table.records[i]) for i in eligible], reserve=False
        )
        assert native == stock["model_info"]["id"]


def test_native_choices_hand_unusual_state_to_stock() -> None:
    """A value that is not a plain number, a reserving pick or a router with its own cache tier: ``None``."""
    specs = [{"tpm": 10, "rpm": 10, "where": "litellm_params"}] * 2
    with routed(model_list=group(specs), routing_strategy="least-busy") as (router, impl):
        core = router._core
        _view, _table, ids = impl._prepare(core, "g", False, {}, None)
        selector = core._selectors.default
        assert impl.stateful.least_busy(selector, "g", _table, list(ids), False) == ids[0]
        assert impl.stateful.least_busy(selector, "g", _table, list(ids), True) is None
        core._cache.set_cache(f"g_request_count:{ids[0]}", "3", local_only=True)
        assert impl.stateful.least_busy(selector, "g", _table, list(ids), False) is None


latency_samples = st.lists(st.floats(0.001, 5.0), max_size=4)


@settings(max_examples=150, deadline=None)
@given(
    specs=st.lists(deployment_spec, min_size=1, max_size=8),
    latencies=st.lists(st.one_of(st.none(), latency_samples), min_size=8, max_size=8),
    ttfts=st.lists(latency_samples, min_size=8, max_size=8),
    used=st.lists(st.tuples(st.integers(0, 450), st.integers(0, 450)), min_size=8, max_size=8),
    keep=st.lists(st.booleans(), min_size=8, max_size=8),
    buffer=st.sampled_from([0, 0.5, 2.0]),
    percentile=st.sampled_from([None, 0.5, 0.9]),
    stream=st.booleans(),
    with_messages=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
    unrecorded=st.booleans(),
)
def test_latency_choice_equals_the_selector(
    specs: list[dict[str, Any]],
    latencies: list[list[float] | None],
    ttfts: list[list[float]],
    used: list[tuple[int, int]],
    keep: list[bool],
    buffer: float,
    percentile: float | None,
    stream: bool,
    with_messages: bool,
    seed: int,
    unrecorded: bool,
) -> None:
    """Same seed, same state: the same pick, the same placeholders added to the cached map and the same
    per-``api_base`` latencies written to the request's metadata; also for a group with nothing recorded."""
    import copy

    args = {"lowest_latency_buffer": buffer, **({"ttft_percentile": percentile} if percentile else {})}
    deployments = group(specs)
    for index, deployment in enumerate(deployments):
        deployment["litellm_params"]["api_base"] = f"http://127.0.0.1:9/{index}"
    with routed(
        model_list=deployments, routing_strategy="latency-based-routing", routing_strategy_args=args
    ) as (router, impl):
        core = router._core
        _view, table, ids = impl._prepare(core, "g", False, {}, None)
        selector = core._selectors.default
        now = datetime.now()
        precise = f"{now:%Y-%m-%d}-{now:%H}-{now:%M}"
        state: dict[str, Any] = {}
        for index, model_id in enumerate(ids):
            if latencies[index] is None:
                continue  # never used: the selector adds its placeholder
            state[model_id] = {
                "latency_normalized": latencies[index],
                "time_to_first_token_seconds": ttfts[index],
                precise: {"tpm": used[index][0], "rpm": used[index][1]},
            }
        if unrecorded:
            state = {}
        eligible = subset(ids, keep)
        messages = MESSAGES if with_messages else None
        answers = []
        for side in ("native", "stock"):
            core._cache.set_cache("g_map", copy.deepcopy(state), local_only=True)
            request = {"stream": stream, "metadata": {}}
            random.seed(seed)
            if side == "native":
                picked = impl.stateful.latency(selector, "g", table, eligible, messages, None, request)
            else:
                chosen = selector.get_available_deployments(
                    model_group="g",
                    healthy_deployments=[dict(table.records[i]) for i in eligible],
                    messages=messages,
                    request_kwargs=request,
                )
                picked = None if chosen is None else chosen["model_info"]["id"]
            answers.append((picked, core._cache.get_cache("g_map", local_only=True), request["metadata"]))
        now_after = datetime.now()
        assume(f"{now_after:%Y-%m-%d}-{now_after:%H}-{now_after:%M}" == precise)
        event(("nothing recorded, " if not state else "") + ("stock picked" if answers[1][0] else "nothing fits"))
        assert answers[0] == answers[1]


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 6),
    updates=st.lists(st.tuples(st.integers(0, 5), st.floats(0.01, 3.0)), min_size=1, max_size=40),
    seed=st.integers(0, 2**32 - 1),
)
def test_latency_choice_follows_the_selectors_own_updates(
    n: int, updates: list[tuple[int, float]], seed: int
) -> None:
    """Latencies recorded by the selector's own ``log_success_event`` (appending, then sliding its
    10-sample window) between picks: the native choice, with its per-deployment memo, stays equal to the
    selector's after every update."""
    specs = [{"tpm": None, "rpm": None, "where": "litellm_params"}] * n
    with routed(model_list=group(specs), routing_strategy="latency-based-routing") as (router, impl):
        core = router._core
        _view, table, ids = impl._prepare(core, "g", False, {}, None)
        selector = core._selectors.default
        healthy = [dict(table.records[i]) for i in ids]
        for step, (which, seconds) in enumerate(updates):
            model_id = ids[which % n]
            kwargs = {"litellm_params": {"metadata": {"model_group": "g"}, "model_info": {"id": model_id}}}
            selector.log_success_event(kwargs, None, 0.0, seconds)
            random.seed(seed + step)
            native = impl.stateful.latency(selector, "g", table, list(ids), None, None, {})
            random.seed(seed + step)
            stock = selector.get_available_deployments(model_group="g", healthy_deployments=healthy, request_kwargs={})
            assert native == stock["model_info"]["id"]
        recorded = core._cache.get_cache("g_map", local_only=True)
        last_id, last_seconds = ids[updates[-1][0] % n], updates[-1][1]
        assert recorded[last_id]["latency_normalized"][-1] == last_seconds  # the updates really landed


COST_MODELS = ("gpt-4o", "gpt-4o-mini", "gpt-3.5-turbo", "openai/not-in-the-cost-map")


@settings(max_examples=120, deadline=None)
@given(
    specs=st.lists(
        st.fixed_dictionaries(
            {
                "model": st.sampled_from(COST_MODELS),
                "own_price": st.one_of(st.none(), st.sampled_from([0, 1e-6, 5e-6])),
                "tpm": limit,
                "rpm": limit,
            }
        ),
        min_size=1,
        max_size=8,
    ),
    used=st.lists(st.one_of(st.none(), st.tuples(st.integers(0, 450), st.integers(0, 450))), min_size=8, max_size=8),
    order=st.permutations(range(8)),
    keep=st.lists(st.booleans(), min_size=8, max_size=8),
    with_messages=st.booleans(),
)
def test_cost_choice_equals_the_selector(
    specs: list[dict[str, Any]],
    used: list[tuple[int, int] | None],
    order: list[int],
    keep: list[bool],
    with_messages: bool,
) -> None:
    """Prices from the deployment or litellm's cost map (or the unmapped default), limits, recorded usage
    in an arbitrary map order: the same cheapest deployment, and the same entries added to the cached map."""
    import asyncio
    import copy

    deployments = []
    for index, spec in enumerate(specs):
        params: dict[str, Any] = {"model": spec["model"], "api_key": "sk-test"}
        if spec["own_price"] is not None:
            params["input_cost_per_token"] = spec["own_price"]
        for name in ("tpm", "rpm"):
            if spec[name] is not None:
                params[name] = spec[name]
        deployments.append({"model_name": "g", "litellm_params": params, "model_info": {"id": f"dep-{index}"}})
    with routed(model_list=deployments, routing_strategy="cost-based-routing") as (router, impl):
        core = router._core
        _view, table, ids = impl._prepare(core, "g", False, {}, None)
        selector = core._selectors.default
        now = datetime.now()
        precise = f"{now:%Y-%m-%d}-{now:%H}-{now:%M}"
        state = {
            ids[i]: {precise: {"tpm": used[i][0], "rpm": used[i][1]}}
            for i in order
            if i < len(ids) and used[i] is not None
        }
        eligible = subset(ids, keep)
        messages = MESSAGES if with_messages else None
        core._cache.set_cache("cost_map:g", copy.deepcopy(state), local_only=True)
        native = impl.stateful.cheapest(selector, "g", table, eligible, messages, None)
        native_map = core._cache.get_cache("cost_map:g", local_only=True)
        core._cache.set_cache("cost_map:g", copy.deepcopy(state), local_only=True)
        chosen = asyncio.run(
            selector.async_get_available_deployments(
                model_group="g", healthy_deployments=[dict(table.records[i]) for i in eligible], messages=messages
            )
        )
        stock_map = core._cache.get_cache("cost_map:g", local_only=True)
        now_after = datetime.now()
        assume(f"{now_after:%Y-%m-%d}-{now_after:%H}-{now_after:%M}" == precise)
        event("stock picked" if chosen is not None else "nothing fits")
        assert native == (None if chosen is None else chosen["model_info"]["id"])
        assert native_map == stock_map
