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
from typing import Any

from litellm_accel.attachments.base import Attachment
from litellm_accel.guard import Guard
from litellm_accel.patching import Patcher

CORE_MODULE = "litellm.router_rust.core"
COOLDOWN_MODULE = "litellm.redis.stores.router_cooldowns"
PRECALL_MODULE = "litellm.router_rust.steps.precall"
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
        count = getattr(implementation, "pre_call_count_async", None)
        if count is not None:
            # The async pre-call prompt count: small prompts counted inline instead of on a thread.
            facts_cls = importlib.import_module(PRECALL_MODULE).PreCallFacts
            patcher.set(facts_cls, "_count_async", guard.wrap_async(count, facts_cls.__dict__["_count_async"]))

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
