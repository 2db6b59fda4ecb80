"""The built-in routing implementation: stock litellm's pick, served from precomputed structures.

A pick runs the same eligibility rules as stock ``litellm.Router`` in this order: resolve the requested
name (model group or alias), drop deployments in cooldown (read from litellm's own cooldown store
whenever one may be cooling, see :mod:`.cooldowns`), apply ``enable_pre_call_checks`` (context window
with ``litellm.token_counter`` and ``allowed_model_region``), then choose with the router's strategy:
simple-shuffle natively (stock's weighting rules, O(log N) with a cumulative array), the stateful
strategies through litellm's own selector objects over the precomputed eligible list.

Whatever the implementation does not reproduce raises :class:`~litellm_accel.contracts.UseStock` before
any side effect: an unusual router setting, deployment field or request key, a pick that would fail
(stock raises its own error), ``specific_deployment=True``, ``kind`` other than ``"pick"``.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import weakref
from collections.abc import Mapping
from time import time as unix_time
from typing import TYPE_CHECKING, Any, ClassVar

from litellm_accel.contracts import ImplementationContext, UseStock
from litellm_accel_routing.cooldowns import CooldownWatch
from litellm_accel_routing.options import RoutingOptions
from litellm_accel_routing.requests import message_chars, request_reason
from litellm_accel_routing.stateful import StatefulPicks
from litellm_accel_routing.tables import GroupTable, RouterView, Unsupported, view_key

if TYPE_CHECKING:  # imported when redis_url asks for it: it registers fork and exit handlers
    from litellm_accel_routing.shared_state import SharedRoutingState

logger = logging.getLogger("litellm_accel.routing")

#: The eligible ids of the last accelerated pick in this context (read by the shadow comparison).
LAST_ELIGIBLE: contextvars.ContextVar[frozenset[str] | None] = contextvars.ContextVar(
    "litellm_accel_routing_last_eligible", default=None
)


class BuiltinRouting:
    """Implements :class:`litellm_accel.contracts.RoutingStrategy` for litellm's Rust-core router."""

    name: ClassVar[str] = "builtin"

    def __init__(self, context: ImplementationContext) -> None:
        self.context = context
        self.options = RoutingOptions.model_validate(context.options)
        self.strategies = frozenset(self.options.strategies)
        self.metrics = context.metrics
        self.cooldowns = CooldownWatch()
        self._views: weakref.WeakKeyDictionary[Any, RouterView] = weakref.WeakKeyDictionary()
        self._windows_memo: weakref.WeakKeyDictionary[Any, tuple[Any, dict[Any, int | None]]] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()
        self._import_litellm()
        self.shared_state = self._shared_state(context)
        self.stateful = StatefulPicks(self.shared_state)

    def _shared_state(self, context: ImplementationContext) -> SharedRoutingState | None:
        """With ``redis_url`` set (and ``shared_state = "auto"``), the stateful strategies' state of routers
        without their own Redis is shared between instances (see :mod:`.shared_state`)."""
        redis_url = context.accel_settings.redis_url
        if not redis_url or self.options.shared_state == "off":
            return None
        try:
            import redis  # noqa: F401  (the optional dependency)
        except ImportError:
            from litellm_accel.errors import ConfigError

            raise ConfigError(
                "routing shares state through redis_url but the redis package is not installed: "
                'pip install "litellm-accel-routing[redis]", or set routing.options.shared_state = "off"'
            ) from None
        from litellm_accel_routing.shared_state import SharedRoutingState

        opts = self.options
        return SharedRoutingState(
            redis_url,
            prefix=opts.shared_state_prefix,
            flush_seconds=opts.shared_state_flush_seconds,
            ttl_seconds=opts.shared_state_ttl_seconds,
            timeout_seconds=opts.shared_state_timeout_ms / 1000,
            metrics=self.metrics,
        )

    def _import_litellm(self) -> None:
        # Heavy imports at construction (install time), never on the pick path.
        from litellm.litellm_core_utils.core_helpers import as_str_mapping
        from litellm.litellm_core_utils.token_counter import (
            offload_token_count,
            served_openai_models,
            single_encoding_openai_model,
        )
        from litellm.router_attempt import for_requested_model
        from litellm.router_rust import core as rust_core
        from litellm.router_rust.core import selected_endpoint
        from litellm.router_rust.steps import callbacks, precall
        from litellm.router_rust.steps.selection import pick_sync
        from litellm.router_rust.surface.model_list import typed_deployment
        from litellm.router_strategy.least_busy import pick_reserves, picks_reserve
        from litellm.router_utils import routing_prefetch
        from litellm.types.router import LiteLLM_Params
        from litellm.utils import is_region_allowed

        self._as_str_mapping = as_str_mapping
        self._offload_token_count = offload_token_count
        self._served_openai_models = served_openai_models
        self._single_encoding_openai_model = single_encoding_openai_model
        self._for_requested_model = for_requested_model
        self._rust_core = rust_core
        self._precall = precall
        self._callbacks_module = callbacks
        from litellm.router_utils.pre_call_checks.model_rate_limit_check import ModelRateLimitingCheck

        self._rate_limit_check = ModelRateLimitingCheck
        # The stock function, captured before the attachment replaces the module attribute.
        self._stock_max_input_tokens = precall._max_input_tokens
        self._selected_endpoint = selected_endpoint
        self._pick_sync = pick_sync
        self._typed_deployment = typed_deployment
        self._pick_reserves = pick_reserves
        self._picks_reserve = picks_reserve
        self._routing_prefetch = routing_prefetch
        self._litellm_params = LiteLLM_Params
        self._is_region_allowed = is_region_allowed

    # -- contract ---------------------------------------------------------------------------------
    def get_available_deployment(
        self,
        core: Any,
        model: Any,
        messages: Any = None,
        input: Any = None,
        specific_deployment: bool | None = False,
        request_kwargs: dict[str, Any] | None = None,
    ) -> Any:
        """Stock ``get_available_deployment`` (the sync pick) for the same arguments."""
        request = request_kwargs if request_kwargs is not None else {}
        view, table, ids = self._prepare(core, model, specific_deployment, request, messages)
        eligible = self._without_cooldowns_sync(core, ids)
        eligible = self._pre_call_sync(core, table, model, eligible, messages, input, request)
        if view.strategy == "simple-shuffle":
            picked_id = table.shuffle_pick(eligible)
        else:
            if view.strategy == "cost-based-routing":
                raise UseStock  # stock has no sync cost-based pick
            picked_id = self._strategy_pick_sync(core, view.strategy, table, model, eligible, messages, input, request)
        LAST_ELIGIBLE.set(frozenset(eligible))
        served = self._served(core, table, model, picked_id)
        discovery = core._pick_discovery(sync=True)
        return served if discovery is None else discovery.resolve_deployment(served, request)

    async def async_get_available_deployment(
        self,
        core: Any,
        model: Any,
        request_kwargs: dict[str, Any] | None = None,
        messages: Any = None,
        input: Any = None,
        specific_deployment: bool | None = False,
    ) -> Any:
        """The deprecated async pick: ``select(model, request_kwargs, ...)``."""
        return await self.select(
            core, model, request_kwargs, messages=messages, input=input, specific_deployment=specific_deployment
        )

    async def select(
        self,
        core: Any,
        model: Any,
        request_kwargs: dict[str, Any] | None = None,
        *,
        kind: str = "pick",
        specific_deployment: bool | None = None,
        messages: Any = None,
        input: Any = None,
        health_check_probe: bool = False,
        **extra: Any,
    ) -> Any:
        """Stock ``select`` for ``kind="pick"`` (the async pick); other kinds are served by stock."""
        if kind != "pick" or extra or health_check_probe:
            raise UseStock
        request = request_kwargs if request_kwargs is not None else {}
        view, table, ids = self._prepare(core, model, specific_deployment, request, messages)
        filtered = core._checks.has_filters()
        if filtered and not self._per_deployment_filters(core):
            raise UseStock  # callbacks that filter deployments in ways not reproduced: stock's async pick
        core._refuse_deleted_reads({"num_retries": 0})
        eligible = await self._without_cooldowns_async(core, ids)
        eligible = await self._pre_call_async(core, table, model, eligible, messages, input, request)
        if filtered:
            eligible = await self._callback_filtered(core, table, model, eligible, messages, request)
        with self._picks_reserve(False):
            if view.strategy == "simple-shuffle":
                picked_id = table.shuffle_pick(eligible)
            else:
                picked_id = await self._strategy_pick_async(
                    core, view.strategy, table, model, eligible, messages, input, request
                )
        LAST_ELIGIBLE.set(frozenset(eligible))
        served = self._served(core, table, model, picked_id)
        discovery = core._pick_discovery(sync=False)
        if discovery is None:
            return served
        return await discovery.async_resolve_deployment(served, request)

    def max_input_tokens(self, registry: Any, model: str, deployment: Any) -> int | None:
        """Stock ``precall._max_input_tokens`` (a deployment's context window for the pre-call checks,
        which stock rebuilds from model info on every call), memoized per registry version.

        The key is the registry, its handle's ``registry_version()``, the model group, the deployment id
        and the identity and size of ``litellm.model_cost``; any change to the model list bumps the
        version. (An in-place edit of an existing ``litellm.model_cost`` entry is not seen until the
        next model-list change or :meth:`invalidate`.)
        """
        info = deployment.get("model_info") if isinstance(deployment, Mapping) else None
        model_id = info.get("id") if isinstance(info, Mapping) else None
        lookup = getattr(registry, "handle_lookup", None)
        handle = lookup() if callable(lookup) else None
        if model_id is None or handle is None:
            raise UseStock
        import litellm

        cost_map = litellm.model_cost
        version = (id(handle), handle.registry_version(), id(cost_map), len(cost_map))
        memo = self._windows_memo.get(registry)
        if memo is None or memo[0] != version:
            memo = (version, {})
            self._windows_memo[registry] = memo
        key = (model, str(model_id))
        try:
            return memo[1][key]
        except KeyError:
            pass
        value = self._stock_max_input_tokens(registry, model, deployment)
        memo[1][key] = value
        return value

    async def pre_call_count_async(self, facts: Any) -> int | None:
        """Stock ``PreCallFacts._count_async`` (the prompt count of a pre-call check on the async path),
        counted inline for prompts up to ``inline_count_max_chars``: the same count function stock runs
        on a worker thread, without the thread hop. Larger prompts and list inputs go to stock."""
        if facts._messages is None or facts._input_is_a_list():
            raise UseStock
        if message_chars(facts._messages) > self.options.inline_count_max_chars:
            raise UseStock
        return facts._count()  # type: ignore[no-any-return]

    def invalidate(self) -> None:
        """Forget every precomputed structure (they are rebuilt on the next pick)."""
        self._views = weakref.WeakKeyDictionary()
        self._windows_memo = weakref.WeakKeyDictionary()

    def compare(self, accelerated: Any, stock: Any) -> bool:
        """Shadow comparison (eligibility, not the random pick): see :mod:`.shadow`."""
        from litellm_accel_routing.shadow import same_eligibility

        return same_eligibility(accelerated, stock)

    def close(self) -> None:
        self.invalidate()
        if self.shared_state is not None:
            self.shared_state.close()

    # -- eligibility --------------------------------------------------------------------------------
    def view(self, core: Any) -> RouterView:
        """The router's precomputed view for its current version (rebuilt when it changed)."""
        core._sync_routing_state()
        key = view_key(core)
        view = self._views.get(core)
        if view is None or view.key != key:
            view = RouterView(key, core, self.strategies)
            with self._lock:
                self._views[core] = view
            self.metrics.incr("view_rebuilds")
        return view

    def _prepare(
        self, core: Any, model: Any, specific_deployment: Any, request: Mapping[str, Any], messages: Any
    ) -> tuple[RouterView, GroupTable, tuple[str, ...]]:
        LAST_ELIGIBLE.set(None)
        if specific_deployment is True or not isinstance(model, str) or not isinstance(request, dict):
            raise UseStock
        view = self.view(core)
        if view.reason is not None:
            raise UseStock
        reason = request_reason(request)
        if reason is not None:
            raise UseStock
        if self._selected_endpoint() is not None:
            raise UseStock
        if (messages or request.get("messages") or request.get("input")) and self._precall.request_carries_image(
            messages, request
        ):
            raise UseStock  # images narrow the group to vision-capable deployments
        resolved = view.resolve(core, model)
        if resolved is None:
            raise UseStock
        group, ids = resolved
        try:
            table = view.table(core, group, ids)
        except Unsupported:
            raise UseStock from None
        if core._resolved.disable_cooldowns:
            raise UseStock
        return view, table, ids

    def _without_cooldowns_sync(self, core: Any, ids: tuple[str, ...]) -> list[str]:
        store = core._cooldowns.cooldown_store
        if self._none_cooling(store, ids):
            return list(ids)
        before = self.cooldowns.recorded(store, ids)
        return self._drop_cooling(store, ids, before, store.active_sync(ids))

    async def _without_cooldowns_async(self, core: Any, ids: tuple[str, ...]) -> list[str]:
        store = core._cooldowns.cooldown_store
        if self._none_cooling(store, ids):
            return list(ids)
        before = self.cooldowns.recorded(store, ids)
        return self._drop_cooling(store, ids, before, await self._routing_prefetch.read_cooldowns(store, ids, None))

    def _none_cooling(self, store: Any, ids: tuple[str, ...]) -> bool:
        """No read needed: no Redis tier (other instances) and no recorded cooldown that may still run."""
        return not store.has_redis and not self.cooldowns.may_be_cooling(store, ids)

    def _drop_cooling(self, store: Any, ids: tuple[str, ...], before: Any, read: Any) -> list[str]:
        """``ids`` without the ones the store's read found cooling (the watch learns what it saw)."""
        active = {str(model_id) for model_id, _ in read}
        self.cooldowns.confirm(store, before, active)
        eligible = [i for i in ids if i not in active]
        if not eligible:
            raise UseStock  # stock raises its "no deployments available" error with the cooldown list
        return eligible

    def _pre_call_inputs(self, core: Any, messages: Any, input: Any) -> bool:
        """Whether the pre-call checks apply to this pick (UseStock for inputs they are not reproduced for)."""
        if not core._resolved.enable_pre_call_checks or (messages is None and input is None):
            return False
        if messages is None or not isinstance(messages, list):
            raise UseStock  # Responses/embedding inputs: stock normalizes them
        return True

    def _windows(self, core: Any, table: GroupTable) -> dict[str, int | None]:
        windows = table.windows
        if windows is None:
            hosted = core._hosted
            handle = core._handle
            windows = {}
            for model_id in table.ids:
                record = (
                    hosted._core_get_model_info(model_id) or self._as_str_mapping(handle.deployment(model_id)) or {}
                )
                windows[model_id] = self._stock_max_input_tokens(hosted, table.group, record)
            table.windows = windows
        return windows

    def _tokenizer_model(self, core: Any, table: GroupTable, model: str, eligible: list[str]) -> str:
        if table.tokenizer_model is not None:
            return table.tokenizer_model
        named = tuple(
            self._for_requested_model(record, table.group)
            for record in core._hosted._core_deployments_named(table.group) or ()
        )
        served = self._served_openai_models(named)
        if served:
            table.tokenizer_model = self._single_encoding_openai_model(served) or ""
            return table.tokenizer_model
        candidates = (self._for_requested_model(table.records[i], table.group) for i in eligible)
        return self._single_encoding_openai_model(self._served_openai_models(candidates)) or ""

    def _pre_call_filter(
        self,
        table: GroupTable,
        eligible: list[str],
        windows: Mapping[str, int | None],
        counted: int | None,
        request: Mapping[str, Any],
    ) -> list[str]:
        allowed_region = request.get("allowed_model_region")
        if allowed_region is not None and not isinstance(allowed_region, str):
            raise UseStock
        kept = []
        for model_id in eligible:
            limit = windows.get(model_id)
            if isinstance(limit, int) and counted is not None and counted > limit:
                continue
            if allowed_region is not None and not self._in_region(table, model_id, allowed_region):
                continue
            kept.append(model_id)
        if not kept:
            raise UseStock  # stock raises ContextWindowExceededError / its no-deployment error
        return kept

    def _in_region(self, table: GroupTable, model_id: str, region: str) -> bool:
        key = (model_id, region)
        allowed = table.regions.get(key)
        if allowed is None:
            params = self._litellm_params.model_validate(table.records[model_id].get("litellm_params") or {})
            allowed = bool(self._is_region_allowed(litellm_params=params, allowed_model_region=region))
            table.regions[key] = allowed
        return allowed

    def _count_args(
        self, core: Any, table: GroupTable, model: str, eligible: list[str], messages: Any, request: Mapping[str, Any]
    ) -> tuple[Any, ...] | None:
        windows = self._windows(core, table)
        limits = [windows[i] for i in eligible if windows.get(i) is not None]
        if not limits:
            return None
        tokenizer = self._tokenizer_model(core, table, model, eligible)
        records = tuple(table.records[i] for i in eligible)
        return (core._host, messages, None, request, tokenizer, records, min(limits))

    def _pre_call_sync(
        self,
        core: Any,
        table: GroupTable,
        model: str,
        eligible: list[str],
        messages: Any,
        input: Any,
        request: Mapping[str, Any],
    ) -> list[str]:
        if not self._pre_call_inputs(core, messages, input):
            return eligible
        args = self._count_args(core, table, model, eligible, messages, request)
        counted = None if args is None else self._count(args)
        return self._pre_call_filter(table, eligible, self._windows(core, table), counted, request)

    async def _pre_call_async(
        self,
        core: Any,
        table: GroupTable,
        model: str,
        eligible: list[str],
        messages: Any,
        input: Any,
        request: Mapping[str, Any],
    ) -> list[str]:
        if not self._pre_call_inputs(core, messages, input):
            return eligible
        args = self._count_args(core, table, model, eligible, messages, request)
        if args is None:
            counted = None
        elif message_chars(messages) <= self.options.inline_count_max_chars:
            counted = self._count(args)
        else:
            try:
                counted = await self._offload_token_count(self._precall.count_tokens)(*args)
            except Exception:
                counted = None
        return self._pre_call_filter(table, eligible, self._windows(core, table), counted, request)

    def _count(self, args: tuple[Any, ...]) -> int | None:
        # Stock counts best-effort: an uncountable prompt is not filtered by context window.
        try:
            return int(self._precall.count_tokens(*args))
        except Exception as exc:
            logger.debug("pre-call token count failed: %s", exc)
            return None

    def _per_deployment_filters(self, core: Any) -> bool:
        """Every routing callback that filters deployments is litellm's model rate-limit check (its filter,
        given by the rate-limit plugin, drops saturated deployments one by one and keeps the order), so
        running the filters on the eligible set gives the set stock's async pick filters."""
        callbacks = self._callbacks_module
        return all(
            type(cb) is self._rate_limit_check
            for cb in core._checks.routing_callbacks()
            if callbacks.filters_deployments(cb)
        )

    async def _callback_filtered(
        self, core: Any, table: GroupTable, model: str, eligible: list[str], messages: Any, request: Mapping[str, Any]
    ) -> list[str]:
        """Stock's own ``async_callback_filter_deployments`` over the eligible deployments."""
        if not eligible:
            raise UseStock
        candidates = [dict(table.records[i]) for i in eligible]
        try:
            remaining, preferred = await core._checks.filter_deployments(model, candidates, messages, request)
        except Exception:
            raise UseStock from None  # a filter's error: stock decides, as it does
        kept = self._callbacks_module.filtered_ids(remaining, eligible)
        if preferred is not None or not kept:
            raise UseStock
        kept_set = set(kept)
        if kept != [i for i in eligible if i in kept_set]:
            raise UseStock  # a reordering filter: eligible lists keep the group's order everywhere else
        return kept

    # -- strategies ---------------------------------------------------------------------------------
    def _selector(self, core: Any, strategy: str, request: Mapping[str, Any]) -> Any:
        selector = core._selectors.selector_for(strategy, "default", None, request)
        if selector is None:
            raise UseStock
        return selector

    def _strategy_pick_sync(
        self,
        core: Any,
        strategy: str,
        table: GroupTable,
        model: str,
        eligible: list[str],
        messages: Any,
        input: Any,
        request: Mapping[str, Any],
    ) -> str:
        selector = self._selector(core, strategy, request)
        reserve = self._pick_reserves(default=False) and bool(request)
        native = self._native_pick(selector, strategy, table, model, eligible, messages, input, reserve, request)
        if native is not None:
            return native
        candidates = [dict(table.records[i]) for i in eligible]
        try:
            picked = self._pick_sync(
                strategy, selector, model, candidates, messages, input, dict(request), reserve=reserve
            )
        except Exception:
            raise UseStock from None  # stock raises the strategy's own error (for example over-limit)
        return self._picked_id(picked)

    async def _strategy_pick_async(
        self,
        core: Any,
        strategy: str,
        table: GroupTable,
        model: str,
        eligible: list[str],
        messages: Any,
        input: Any,
        request: Mapping[str, Any],
    ) -> str:
        selector = self._selector(core, strategy, request)
        reserve = self._pick_reserves(default=True) and bool(request)
        start = unix_time()
        picked_id = self._native_pick(selector, strategy, table, model, eligible, messages, input, reserve, request)
        if picked_id is None:
            candidates = [dict(table.records[i]) for i in eligible]
            try:
                picked = await self._rust_core._pick_with_prefetched_usage(
                    strategy, selector, model, candidates, messages, input, dict(request), reserve=reserve
                )
            except Exception:
                raise UseStock from None
            picked_id = self._picked_id(picked)
        # Stock times the async strategies' pick as a service event.
        core.service_logged("<routing_strategy>.async_get_available_deployments", start, unix_time(), request)
        return picked_id

    def _native_pick(
        self,
        selector: Any,
        strategy: str,
        table: GroupTable,
        model: str,
        eligible: list[str],
        messages: Any,
        input: Any,
        reserve: bool,
        request: Mapping[str, Any],
    ) -> str | None:
        """The stateful strategies decided from precomputed facts (see :mod:`.stateful`); ``None``: run
        stock's selector."""
        stateful = self.stateful
        if strategy == "least-busy":
            return stateful.least_busy(selector, model, table, eligible, reserve)
        if strategy == "usage-based-routing-v2":
            return stateful.usage_v2(selector, table, eligible, messages, input)
        if strategy == "latency-based-routing":
            return stateful.latency(selector, model, table, eligible, messages, input, request)
        if strategy == "cost-based-routing":
            return stateful.cheapest(selector, model, table, eligible, messages, input)
        return None

    @staticmethod
    def _picked_id(picked: Any) -> str:
        info = picked.get("model_info") if isinstance(picked, Mapping) else None
        picked_id = info.get("id") if isinstance(info, Mapping) else None
        if picked_id is None:
            raise UseStock  # stock reports a strategy that picked nothing
        return str(picked_id)

    # -- answers ----------------------------------------------------------------------------------
    def _served(self, core: Any, table: GroupTable, model: str, model_id: str) -> dict[str, Any]:
        """The deployment as stock's pick returns it (a fresh copy: callers may mutate it)."""
        key = (model, model_id)
        served = table.served.get(key)
        if served is None:
            record = table.records.get(model_id)
            if record is None:
                raise UseStock
            typed = self._typed_deployment(self._as_str_mapping(record) or {})
            served = dict(self._rust_core._with_live_params(core, self._for_requested_model(typed, model)))
            table.served[key] = served
        return {k: (dict(v) if isinstance(v, dict) else v) for k, v in served.items()}


__all__ = ["LAST_ELIGIBLE", "BuiltinRouting"]
