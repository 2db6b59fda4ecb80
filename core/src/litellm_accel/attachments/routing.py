"""Routing: serves ``litellm.Router``'s deployment picks through the selected routing implementation.

litellm 1.110's ``Router`` is a facade over a per-router ``RustCore``; every ``router.<member>`` read
that the facade does not define goes to the core's class. The attachment therefore patches, on the
``RustCore`` class and through the reversible :class:`~litellm_accel.patching.Patcher`:

- ``get_available_deployment`` (the sync pick) and ``select`` (the async pick; the deprecated
  ``async_get_available_deployment`` calls it), each wrapped in the guard, so routers created before
  and after ``install()`` are served and ``uninstall()`` restores the identical functions;
- ``litellm.router_rust.steps.precall._max_input_tokens``, the context window stock rebuilds from model
  info for every deployment on every pre-call check (also inside ``completion``/``acompletion``),
  memoized per registry version, and ``PreCallFacts._count_async``, whose prompt count runs inline
  for small prompts instead of on a worker thread (the same count function);
- ``RouterCooldownStore.put`` / ``async_put`` / ``evict_local``, as observers only (stock runs first,
  unchanged), so the implementation knows which deployments may be cooling without reading the store
  on every pick.

Why not litellm's extension points: ``Router.register_plugin`` / ``set_custom_routing_strategy``
replace the pick per router instance (routers created before install would need to be found, and a
user's own custom strategy would be overwritten), and a registered strategy also takes over the pick
inside ``completion``/``acompletion`` where stock's retry narrowing and pre-routing hooks run; a
``PythonHost`` only applies to routers built with ``Router.from_config(..., host=...)``. ``litellm.Router``
itself is never replaced or subclassed (it refuses subclasses), and a router with its own registered
strategy keeps it: the registration lives in the instance, which wins over the class.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import logging
from typing import Any

from litellm_accel.attachments.base import Attachment
from litellm_accel.guard import Guard
from litellm_accel.patching import Patcher

CORE_MODULE = "litellm.router_rust.core"
COOLDOWN_MODULE = "litellm.redis.stores.router_cooldowns"
logger = logging.getLogger("litellm_accel.routing")

PRECALL_MODULE = "litellm.router_rust.steps.precall"
#: Selector methods through which the stateful strategies read their state for a pick, with their
#: leading parameters: with shared state on, their input is merged with the other instances' state.
SHARED_STATE_READS = {
    ("litellm.router_strategy.least_busy", "LeastBusyLoggingHandler", "_this_workers_counts"): ("self", "keys"),
    (
        "litellm.router_strategy.lowest_tpm_rpm_v2",
        "LowestTPMLoggingHandler_v2",
        "_common_checks_available_deployment",
    ): ("self", "model_group", "healthy_deployments", "tpm_keys", "tpm_values", "rpm_keys", "rpm_values"),
    ("litellm.router_strategy.lowest_latency", "LowestLatencyLoggingHandler", "_get_available_deployments"): (
        "self",
        "model_group",
        "healthy_deployments",
        "messages",
        "input",
        "request_kwargs",
        "request_count_dict",
    ),
}
#: RustCore members patched, with the leading parameters stock must still have.
PICK_SIGNATURES = {
    "get_available_deployment": ("self", "model", "messages", "input", "specific_deployment", "request_kwargs"),
    "select": ("self", "model", "request_kwargs"),
}
#: RustCore members the implementation reads.
CORE_MEMBERS = (
    "_sync_routing_state",
    "_pick_discovery",
    "_model_tag_filtering",
    "_refuse_deleted_reads",
    "service_logged",
)


class RoutingAttachment(Attachment):
    feature = "routing"

    def problems(self) -> list[str]:
        try:
            core_module = importlib.import_module(CORE_MODULE)
            rust_core = core_module.RustCore
            store = importlib.import_module(COOLDOWN_MODULE).RouterCooldownStore
        except (ImportError, AttributeError) as exc:
            return [f"litellm router core not found ({exc})"]
        problems = []
        for name, expected in PICK_SIGNATURES.items():
            member = rust_core.__dict__.get(name)
            if member is None:
                problems.append(f"RustCore.{name} not found")
                continue
            params = tuple(inspect.signature(member).parameters)
            if params[: len(expected)] != expected:
                problems.append(f"RustCore.{name} signature changed: {list(params)}")
        for name in CORE_MEMBERS:
            if not hasattr(rust_core, name):
                problems.append(f"RustCore.{name} not found")
        for name in ("_pick_with_prefetched_usage", "_with_live_params", "selected_endpoint"):
            if not hasattr(core_module, name):
                problems.append(f"{CORE_MODULE}.{name} not found")
        try:
            precall = importlib.import_module(PRECALL_MODULE)
            params = tuple(inspect.signature(precall._max_input_tokens).parameters)
            if params != ("registry", "model", "deployment"):
                problems.append(f"{PRECALL_MODULE}._max_input_tokens signature changed: {list(params)}")
            facts = precall.PreCallFacts.__dict__
            for name in ("_count_async", "_count", "_input_is_a_list"):
                if name not in facts:
                    problems.append(f"{PRECALL_MODULE}.PreCallFacts.{name} not found")
        except (ImportError, AttributeError) as exc:
            problems.append(f"{PRECALL_MODULE}._max_input_tokens not found ({exc})")
        for name in ("put", "async_put", "evict_local", "active_sync", "snapshot"):
            if name not in store.__dict__:
                problems.append(f"RouterCooldownStore.{name} not found")
        return problems

    @staticmethod
    def shared_state_problems() -> list[str]:
        """Missing or changed selector methods that shared routing state wraps."""
        problems = []
        for (module, cls, name), expected in SHARED_STATE_READS.items():
            try:
                member = getattr(importlib.import_module(module), cls).__dict__[name]
            except (ImportError, AttributeError, KeyError):
                problems.append(f"{cls}.{name} not found")
                continue
            params = tuple(inspect.signature(member).parameters)
            if params[: len(expected)] != expected:
                problems.append(f"{cls}.{name} signature changed: {list(params)}")
        return problems

    def attach(self, implementation: Any, guard: Guard, patcher: Patcher) -> None:
        rust_core = importlib.import_module(CORE_MODULE).RustCore
        store_cls = importlib.import_module(COOLDOWN_MODULE).RouterCooldownStore
        compare = getattr(implementation, "compare", None)
        watch = getattr(implementation, "cooldowns", None)
        if watch is not None:
            self._observe_cooldowns(store_cls, watch, patcher)
        stock_pick = rust_core.__dict__["get_available_deployment"]
        stock_select = rust_core.__dict__["select"]
        patcher.set(
            rust_core,
            "get_available_deployment",
            guard.wrap(implementation.get_available_deployment, stock_pick, compare=compare),
        )
        patcher.set(rust_core, "select", guard.wrap_async(implementation.select, stock_select, compare=compare))
        windows = getattr(implementation, "max_input_tokens", None)
        if windows is not None:
            # The context windows of the pre-call checks inside completion/acompletion (the Rust
            # core's walk asks the host for them on every call): memoized, compared by equality.
            precall = importlib.import_module(PRECALL_MODULE)
            patcher.set(precall, "_max_input_tokens", guard.wrap(windows, precall._max_input_tokens))
        shared = getattr(implementation, "shared_state", None)
        if shared is not None:
            missing = self.shared_state_problems()
            if missing:
                logger.warning("litellm-accel routing: shared state not attached: %s", "; ".join(missing))
                shared.close()
            else:
                self._share_state(shared, guard, patcher)
        count = getattr(implementation, "pre_call_count_async", None)
        if count is not None:
            # The async pre-call prompt count: small prompts counted inline instead of on a thread.
            facts_cls = importlib.import_module(PRECALL_MODULE).PreCallFacts
            patcher.set(facts_cls, "_count_async", guard.wrap_async(count, facts_cls.__dict__["_count_async"]))

    @staticmethod
    def _share_state(shared: Any, guard: Guard, patcher: Patcher) -> None:
        """The selectors' state reads for a pick, merged in memory with what the other instances published
        (stock's own read runs first; nothing here touches Redis). Used by accelerated picks and by the
        picks inside ``completion``/``acompletion`` alike, while the feature flag is ``on`` and the error
        budget is not exhausted. A merge that fails counts as an error and stock's local input is used.
        Not part of the pick metrics: these run inside picks already counted."""

        def stock_of(key: tuple[str, str, str]) -> tuple[Any, Any]:
            cls = getattr(importlib.import_module(key[0]), key[1])
            return cls, cls.__dict__[key[2]]

        def merged(merge: Any, local: Any, *args: Any) -> Any:
            if not guard.fast:
                return local
            try:
                return merge(*args, local)
            except Exception as exc:
                guard._error(exc)
                guard.metrics.fallbacks += 1
                return local

        counts_key, usage_key, latency_key = SHARED_STATE_READS
        least_busy, stock_counts = stock_of(counts_key)
        usage_v2, stock_checks = stock_of(usage_key)
        latency, stock_latency = stock_of(latency_key)

        @functools.wraps(stock_counts)
        def counts(selector: Any, keys: Any) -> Any:
            local = stock_counts(selector, keys)
            return merged(shared.merge_counts, local, selector.router_cache, keys)

        @functools.wraps(stock_checks)
        def checks(
            selector: Any,
            model_group: str,
            healthy_deployments: list[Any],
            tpm_keys: list[str],
            tpm_values: Any,
            rpm_keys: list[str],
            rpm_values: Any,
            messages: Any = None,
            input: Any = None,
        ) -> Any:
            cache = selector.router_cache
            return stock_checks(
                selector,
                model_group,
                healthy_deployments,
                tpm_keys,
                merged(shared.merge_usage, tpm_values, cache, tpm_keys),
                rpm_keys,
                merged(shared.merge_usage, rpm_values, cache, rpm_keys),
                messages=messages,
                input=input,
            )

        @functools.wraps(stock_latency)
        def lowest_latency(
            selector: Any,
            model_group: str,
            healthy_deployments: list[Any],
            messages: Any = None,
            input: Any = None,
            request_kwargs: Any = None,
            request_count_dict: Any = None,
        ) -> Any:
            latency_map = merged(shared.merge_latency, request_count_dict, selector.router_cache, f"{model_group}_map")
            return stock_latency(
                selector, model_group, healthy_deployments, messages, input, request_kwargs, latency_map
            )

        patcher.set(least_busy, counts_key[2], counts)
        patcher.set(usage_v2, usage_key[2], checks)
        patcher.set(latency, latency_key[2], lowest_latency)

    @staticmethod
    def _observe_cooldowns(store_cls: Any, watch: Any, patcher: Patcher) -> None:
        """Observers first: a cooldown recorded from now on is seen by every later pick. Stock runs
        unchanged; the watch is told before and after (a pick racing the write reads the store)."""
        stock_put = store_cls.__dict__["put"]
        stock_async_put = store_cls.__dict__["async_put"]
        stock_evict = store_cls.__dict__["evict_local"]

        @functools.wraps(stock_put)
        def put(self: Any, model_id: str, value: Any, ttl: float) -> None:
            watch.record_put(self, model_id, value, ttl)
            stock_put(self, model_id, value, ttl)
            watch.record_put(self, model_id, value, ttl)

        @functools.wraps(stock_async_put)
        async def async_put(self: Any, model_id: str, value: Any, ttl: float) -> None:
            watch.record_put(self, model_id, value, ttl)
            await stock_async_put(self, model_id, value, ttl)
            watch.record_put(self, model_id, value, ttl)

        @functools.wraps(stock_evict)
        def evict_local(self: Any, model_id: str) -> None:
            stock_evict(self, model_id)
            watch.record_evict(self, model_id)

        patcher.set(store_cls, "put", put)
        patcher.set(store_cls, "async_put", async_put)
        patcher.set(store_cls, "evict_local", evict_local)
