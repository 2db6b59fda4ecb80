"""The stateful strategies' choices (least-busy, usage-v2, latency, cost) from precomputed per-deployment facts.

Stock runs litellm's selector objects (``LeastBusyLoggingHandler``, ``LowestTPMLoggingHandler_v2``), which
re-derive every deployment's limits and cache keys and validate every cached value through pydantic on
each pick. These functions make the same decision from the same state, read directly from the router's
in-memory routing cache:

- least-busy: the first deployment, in the eligible order, with the fewest in-flight requests plus live
  pick reservations (``{group}_request_count:{id}`` and ``least_busy_reservations:{id}``);
- usage-based-routing-v2: among deployments whose tpm (plus the request's tokens) is within their tpm limit
  and whose rpm + 1 is below their rpm limit, the ones with the lowest tpm, then ``random.choice`` over
  them in eligible order, exactly as the selector draws.

Each returns ``None`` whenever it cannot be sure to decide as stock would (a router with its own Redis,
a pick that reserves, a value that is not a plain number, an id containing ``:``, nothing eligible), and
the caller then runs stock's selector. With shared state, the same merges as stock's wrapped reads apply.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from functools import partial
from types import MappingProxyType
from typing import Any

_NUMBER = (int, float)
_NONE: tuple[float, ...] = ()  # a missing sample list (an immutable stand-in for the selector's [])
_NO_USAGE: Mapping[str, Any] = MappingProxyType({})  # a minute without usage (the selector's {})
_MODES: dict[tuple[bool, Any], tuple[bool, Any]] = {}  # (stream, ttft percentile) -> one shared tuple


def _limit(record: Mapping[str, Any], name: str) -> Any:
    """usage-v2's limit lookup: the deployment's own key, then ``litellm_params``, then ``model_info``
    (``is None`` checks, so 0 is a limit), else unlimited."""
    for source in (record, record.get("litellm_params") or {}, record.get("model_info") or {}):
        value = source.get(name)
        if value is not None:
            return value
    return math.inf


class UsageFacts:
    """Per deployment of a group: the usage-v2 key prefix and the tpm/rpm limits (``None`` when a limit is
    not a plain number: such a group is left to stock)."""

    __slots__ = ("all_keys", "limits", "minute", "minute_keys", "prefixes", "usable")

    def __init__(self, records: Mapping[str, Mapping[str, Any]]) -> None:
        self.prefixes: dict[str, str] = {}
        self.limits: dict[str, tuple[Any, Any]] = {}
        self.usable = True
        for model_id, record in records.items():
            params = record.get("litellm_params") or {}
            self.prefixes[model_id] = f"{model_id}:{params.get('model')}"
            tpm, rpm = _limit(record, "tpm"), _limit(record, "rpm")
            own_id = (record.get("model_info") or {}).get("id")
            numbers = all(isinstance(v, _NUMBER) and not isinstance(v, bool) for v in (tpm, rpm))
            if ":" in model_id or own_id != model_id or not numbers:
                self.usable = False
            self.limits[model_id] = (tpm, rpm)
        self.minute = -1
        self.minute_keys: dict[str, tuple[str, str]] = {}
        self.all_keys: tuple[list[str], list[str]] = ([], [])

    def keys_for(self, eligible: Sequence[str]) -> tuple[list[str], list[str]]:
        """The tpm and rpm keys of ``eligible`` for the current UTC minute (rebuilt once a minute; the
        whole group's lists are kept ready, the common case)."""
        minute_index = int(time.time() // 60)
        if minute_index != self.minute:
            label = datetime.now(timezone.utc).strftime("%H-%M")
            self.minute_keys = {i: (f"{p}:tpm:{label}", f"{p}:rpm:{label}") for i, p in self.prefixes.items()}
            self.all_keys = ([k[0] for k in self.minute_keys.values()], [k[1] for k in self.minute_keys.values()])
            self.minute = minute_index
        if len(eligible) == len(self.prefixes):
            return self.all_keys  # eligible keeps the group's order, so a full-length one is the whole group
        keys = self.minute_keys
        return [keys[i][0] for i in eligible], [keys[i][1] for i in eligible]


def read_numbers(memory: Any, keys: Sequence[str]) -> list[Any] | None:
    """``InMemoryCache.batch_get_cache(keys)`` for plain numbers, without evicting; ``None`` when a value
    is not a plain number (then stock reads)."""
    values = memory.cache_dict
    out = [values.get(key) for key in keys]
    if out.count(None) == len(out):
        return out  # nothing recorded: the common case of an idle group
    expiries = memory.ttl_dict
    now = memory._clock()
    for index, value in enumerate(out):
        if value is None:
            continue
        if type(value) not in _NUMBER:
            return None
        expiry = expiries.get(keys[index])
        if expiry is not None and now > expiry:
            out[index] = None
    return out


class LatencyFacts:
    """Per deployment of a group: latency-based routing's tpm/rpm limits (its ``or`` chain: a 0 limit
    falls through to the next place, then unlimited) and ``api_base`` (its per-pick debug map's key)."""

    __slots__ = ("api_bases", "limits", "stats", "usable")

    def __init__(self, records: Mapping[str, Mapping[str, Any]]) -> None:
        self.limits: dict[str, tuple[Any, Any]] = {}
        self.api_bases: dict[str, Any] = {}
        self.usable = True
        for model_id, record in records.items():
            params = record.get("litellm_params") or {}
            info = record.get("model_info") or {}
            limits = tuple(
                record.get(name, None) or params.get(name, None) or info.get(name, None) or math.inf
                for name in ("tpm", "rpm")
            )
            if info.get("id") != model_id or not all(type(v) in _NUMBER for v in limits):
                self.usable = False
            self.limits[model_id] = (limits[0], limits[1])
            self.api_bases[model_id] = params.get("api_base", "")
        #: per deployment: the sample lists a latency was computed from (kept referenced, so an identity
        #: check cannot be fooled by a reused id), their lengths, the (stream, percentile) mode, and the
        #: latency. The selector only ever appends to a list or replaces it, so same object and same
        #: length means same samples.
        self.stats: dict[str, tuple[Any, int, Any, int, Any, float]] = {}


class CostFacts:
    """Per deployment of a group: cost-based routing's price (input + output per token: the deployment's own
    ``*_cost_per_token`` when set, else litellm's cost map row, else 5.0 each) and its tpm/rpm limits.
    Valid for one ``litellm.model_cost`` (identity and size, as the context-window memo)."""

    __slots__ = ("cost_map_key", "costs", "limits", "usable")

    def __init__(self, records: Mapping[str, Mapping[str, Any]], rates: Any, cost_map: Any) -> None:
        self.cost_map_key = (id(cost_map), len(cost_map))
        limits = LatencyFacts(records)
        self.limits = limits.limits
        self.usable = limits.usable
        self.costs: dict[str, Any] = {}
        for model_id, record in records.items():
            params = record.get("litellm_params") or {}
            map_input, map_output = rates(record)
            item_input = params.get("input_cost_per_token") or None
            item_output = params.get("output_cost_per_token") or None
            if item_input is None:
                item_input = map_input if map_input is not None else 5.0
            if item_output is None:
                item_output = map_output if map_output is not None else 5.0
            self.costs[model_id] = cost = item_input + item_output
            if type(cost) not in _NUMBER:
                self.usable = False


def _table_facts(table: Any, kind: Any) -> Any:
    """``kind(table.records)``, built once per group table (a new registry version is a new table)."""
    facts = table.stateful_facts.get(kind)
    if facts is None:
        facts = table.stateful_facts[kind] = kind(table.records)
    return facts


class StatefulPicks:
    """The native choices of the four stateful strategies; ``shared`` is the shared-state merger or ``None``
    (accelerated picks merge their reads with the other instances' snapshot through it)."""

    def __init__(self, shared: Any = None) -> None:
        from litellm.litellm_core_utils.deployment_pricing import deployment_backend_models
        from litellm.litellm_core_utils.token_counter import embedding_aware_token_count
        from litellm.router_strategy import least_busy, lowest_cost, lowest_latency
        from litellm.router_strategy.least_busy import LeastBusyLoggingHandler
        from litellm.router_strategy.lowest_tpm_rpm_v2 import LowestTPMLoggingHandler_v2, PrefetchedUsage

        self.shared = shared
        self._backend_models = deployment_backend_models
        self._token_count = embedding_aware_token_count
        self._least_busy = least_busy
        self._least_busy_cls = LeastBusyLoggingHandler
        self._usage_cls = LowestTPMLoggingHandler_v2
        self._prefetched = PrefetchedUsage
        self._latency = lowest_latency
        self._latency_cls = lowest_latency.LowestLatencyLoggingHandler
        self._lowest_cost = lowest_cost
        self._cost_cls = lowest_cost.LowestCostLoggingHandler

    # -- usage-based-routing-v2 ----------------------------------------------------------------------
    def usage_v2(self, selector: Any, table: Any, eligible: Sequence[str], messages: Any, input: Any) -> str | None:
        cache = selector.router_cache
        facts = self.usage_facts(table)
        if type(selector) is not self._usage_cls or not facts.usable or cache.redis_cache is not None:
            return None
        if self._prefetched.active() is not None:
            return None  # stock reads the counters another read of this request fetched
        tpm_keys, rpm_keys = facts.keys_for(eligible)
        memory = cache.in_memory_cache
        tpm_values = read_numbers(memory, tpm_keys)
        rpm_values = read_numbers(memory, rpm_keys)
        if tpm_values is None or rpm_values is None:
            return None
        if self.shared is not None:
            tpm_values = self.shared.merge_usage(cache, tpm_keys, tpm_values)
            rpm_values = self.shared.merge_usage(cache, rpm_keys, rpm_values)
        input_tokens = self._input_tokens(table.records, eligible, messages, input)
        lowest = math.inf
        potential: list[str] = []
        limits = facts.limits
        for model_id, tpm, rpm in zip(eligible, tpm_values, rpm_values, strict=True):
            tpm = tpm or 0  # an unused deployment counts 0
            tpm_limit, rpm_limit = limits[model_id]
            if tpm + input_tokens > tpm_limit or (rpm is not None and rpm + 1 >= rpm_limit):
                continue
            if tpm == lowest:
                potential.append(model_id)
            elif tpm < lowest:
                lowest = tpm
                potential = [model_id]
        if not potential:
            return None  # stock raises its own error
        return random.choice(potential)

    # -- latency-based-routing -----------------------------------------------------------------------
    def latency(
        self,
        selector: Any,
        model: str,
        table: Any,
        eligible: Sequence[str],
        messages: Any,
        input: Any,
        request_kwargs: Mapping[str, Any] | None,
    ) -> str | None:
        """The latency selector's choice: each eligible deployment's average (or, streaming with time-to-first
        token samples, its ttft average or percentile) over usable samples, those within their tpm/rpm of the
        current minute, then ``random.choice`` among those within ``lowest_latency_buffer`` of the lowest.
        The same side effects as stock: unused deployments get the selector's ``[0]`` entry in the cached
        map, and the per-``api_base`` latencies go to the request's metadata."""
        cache = selector.router_cache
        facts = self.latency_facts(table)
        if type(selector) is not self._latency_cls or not facts.usable or cache.redis_cache is not None:
            return None
        records = table.records
        key = f"{model}_map"
        request_count_dict = cache.in_memory_cache.get_cache(key) or {}
        if self.shared is not None:
            request_count_dict = self.shared.merge_latency(cache, key, request_count_dict)
        if not isinstance(request_count_dict, dict):
            return None
        if not request_count_dict:
            return self._latency_unrecorded(selector, facts, records, eligible, messages, input, request_kwargs)
        now = datetime.now()
        precise_minute = f"{now:%Y-%m-%d}-{now:%H}-{now:%M}"
        fresh = set()
        for model_id in eligible:
            if model_id not in request_count_dict:
                request_count_dict[model_id] = {"latency_normalized": [0], precise_minute: {"tpm": 0, "rpm": 0}}
                fresh.add(model_id)
        input_tokens = self._input_tokens(records, eligible, messages, input)
        items = list(request_count_dict.items())
        shuffled = random.sample(items, len(items))  # the selector's draw, kept so seeds line up
        wanted = set(eligible)
        stream = request_kwargs is not None and request_kwargs.get("stream", None) is True
        args = selector.routing_args
        usable, average, percentile = (
            self._latency._usable_latency_samples,
            self._latency._average_latency,
            self._latency._percentile_latency,
        )
        stats = facts.stats
        ttft_percentile = args.ttft_percentile
        mode = _MODES.setdefault((stream, ttft_percentile), (stream, ttft_percentile))  # one object per mode
        field = selector._select_metadata_field(request_kwargs)
        debug: dict[Any, float] | None = {} if request_kwargs is not None and field in request_kwargs else None
        api_bases = facts.api_bases
        limits = facts.limits
        potential: list[tuple[str, float]] = []
        try:
            for model_id, item_map in shuffled:
                if model_id not in wanted:
                    continue
                samples = item_map.get("latency_normalized", _NONE)
                ttft_samples = item_map.get("time_to_first_token_seconds", _NONE)
                known = stats.get(model_id)
                if (
                    known is not None
                    and known[0] is samples
                    and known[1] == len(samples)
                    and known[2] is ttft_samples
                    and known[3] == len(ttft_samples)
                    and known[4] is mode
                ):
                    selected = known[5]
                elif model_id in fresh:
                    selected = 0.0  # the placeholder just added: one sample, 0, no ttft
                else:
                    ttft = usable(ttft_samples)
                    use_ttft = stream and len(ttft) > 0
                    if use_ttft and ttft_percentile is not None:
                        selected = percentile(ttft, ttft_percentile)
                    else:
                        selected = average(ttft if use_ttft else usable(samples))
                    stats[model_id] = (samples, len(samples), ttft_samples, len(ttft_samples), mode, selected)
                if debug is not None:
                    api_base = api_bases[model_id]
                    if api_base is not None:
                        debug[api_base] = selected
                minute_usage = item_map.get(precise_minute, _NO_USAGE)
                tpm_limit, rpm_limit = limits[model_id]
                if minute_usage.get("tpm", 0) + input_tokens > tpm_limit or minute_usage.get("rpm", 0) + 1 > rpm_limit:
                    continue
                potential.append((model_id, selected))
        except (AttributeError, TypeError, ValueError):
            return None  # a stored value stock would fail on: stock answers
        if not potential:
            return None
        ordered = sorted(potential, key=lambda x: x[1])
        lowest = ordered[0][1]
        ceiling = lowest + args.lowest_latency_buffer * lowest
        valid = tuple(x for x in ordered if x[1] <= ceiling)
        picked = random.choice(valid or ordered)[0]
        if debug is not None and request_kwargs is not None:
            request_kwargs[field]["_latency_per_deployment"] = debug
        return picked

    def _latency_unrecorded(
        self,
        selector: Any,
        facts: LatencyFacts,
        records: Mapping[str, Mapping[str, Any]],
        eligible: Sequence[str],
        messages: Any,
        input: Any,
        request_kwargs: Mapping[str, Any] | None,
    ) -> str | None:
        """No latency recorded for the group (the selector then fills a throwaway map with a ``[0]`` entry per
        eligible deployment): every latency is 0, so the choice is uniform among the deployments within their
        limits, in the order of the selector's ``random.sample`` (the same draws, over the eligible ids)."""
        order = random.sample(list(eligible), len(eligible))
        input_tokens = self._input_tokens(records, eligible, messages, input)
        limits = facts.limits
        potential = [i for i in order if not (input_tokens > limits[i][0] or limits[i][1] < 1)]
        if not potential:
            return None
        picked = random.choice(potential)
        field = selector._select_metadata_field(request_kwargs)
        if request_kwargs is not None and field in request_kwargs:
            api_bases = facts.api_bases
            request_kwargs[field]["_latency_per_deployment"] = {
                api_bases[i]: 0.0 for i in order if api_bases[i] is not None
            }
        return picked

    def _input_tokens(
        self, records: Mapping[str, Mapping[str, Any]], eligible: Sequence[str], messages: Any, input: Any
    ) -> Any:
        """The selectors' prompt size: 0 without a prompt (litellm's counter refuses to count nothing) or when
        counting fails."""
        if messages is None and input is None:
            return 0
        healthy = [records[i] for i in eligible]
        try:
            return self._token_count(messages, input, partial(self._backend_models, healthy))
        except Exception:
            return 0

    # -- cost-based-routing (async only, as stock) ----------------------------------------------------
    @staticmethod
    def usage_facts(table: Any) -> UsageFacts:
        return _table_facts(table, UsageFacts)  # type: ignore[no-any-return]

    @staticmethod
    def latency_facts(table: Any) -> LatencyFacts:
        return _table_facts(table, LatencyFacts)  # type: ignore[no-any-return]

    def cost_facts(self, table: Any) -> CostFacts:
        cost_map = self._lowest_cost._cost_map()
        facts = table.stateful_facts.get("cost")
        if facts is None or facts.cost_map_key != (id(cost_map), len(cost_map)):
            rates = self._lowest_cost._deployment_cost_map_rates
            facts = table.stateful_facts["cost"] = CostFacts(table.records, rates, cost_map)
        return facts  # type: ignore[no-any-return]

    def cheapest(
        self, selector: Any, model: str, table: Any, eligible: Sequence[str], messages: Any, input: Any
    ) -> str | None:
        """The cost selector's choice: in the cached cost map's order, the first deployment of the lowest
        price among those within their tpm/rpm for the current minute (unused ones get the selector's
        zero-usage entry in the cached map, as stock)."""
        cache = selector.router_cache
        facts = self.cost_facts(table)
        if type(selector) is not self._cost_cls or not facts.usable or cache.redis_cache is not None:
            return None
        cost_map = cache.in_memory_cache.get_cache(f"cost_map:{model}") or {}
        if not isinstance(cost_map, dict):
            return None
        now = datetime.now()
        precise_minute = f"{now:%Y-%m-%d}-{now:%H}-{now:%M}"
        for model_id in eligible:
            if model_id not in cost_map:
                cost_map[model_id] = {precise_minute: {"tpm": 0, "rpm": 0}}
        input_tokens = self._input_tokens(table.records, eligible, messages, input)
        wanted = set(eligible)
        best: str | None = None
        best_cost = math.inf
        try:
            for model_id, item_map in cost_map.items():
                if model_id not in wanted:
                    continue
                tpm_limit, rpm_limit = facts.limits[model_id]
                minute_usage = item_map.get(precise_minute, {})
                if minute_usage.get("tpm", 0) + input_tokens > tpm_limit or minute_usage.get("rpm", 0) + 1 > rpm_limit:
                    continue
                cost = facts.costs[model_id]
                if best is None or cost < best_cost:  # stock's stable sort keeps the first of equal prices
                    best, best_cost = model_id, cost
        except (AttributeError, TypeError):
            return None
        return best

    # -- least-busy ----------------------------------------------------------------------------------
    def least_busy(
        self, selector: Any, model: str, table: Any, eligible: Sequence[str], reserve: bool
    ) -> str | None:
        cache = selector.router_cache
        if reserve or type(selector) is not self._least_busy_cls or cache.redis_cache is not None:
            return None
        if not eligible:
            return None
        keys = self._request_count_keys(table, model, eligible)
        lb = self._least_busy
        with lb._RESERVATIONS_LOCK:
            counts = read_numbers(cache.in_memory_cache, keys)
            if counts is None:
                return None
            local = tuple(0 if c is None else int(c) for c in counts)
            if self.shared is not None:
                local = self.shared.merge_counts(cache, keys, local)
            live = self._live_reservations(selector, eligible)
            if live is None:
                return None
        best, best_load = 0, None
        for index, count in enumerate(local):
            load = count + live[index]
            if best_load is None or load < best_load:
                best, best_load = index, load
        return eligible[best]

    @staticmethod
    def _request_count_keys(table: Any, model: str, eligible: Sequence[str]) -> list[str]:
        """least-busy's in-flight keys under the requested name (built once per name and group version;
        eligible ids keep the group's order, so a full-length list is the whole group's)."""
        cached = table.stateful_facts.get(("least-busy", model))
        if cached is None:
            by_id = {i: f"{model}_request_count:{i}" for i in table.ids}
            cached = table.stateful_facts[("least-busy", model)] = (by_id, [by_id[i] for i in table.ids])
        by_id, whole = cached
        return whole if len(eligible) == len(whole) else [by_id[i] for i in eligible]  # type: ignore[no-any-return]

    def _live_reservations(self, selector: Any, eligible: Sequence[str]) -> list[int] | None:
        """Unexpired pick reservations per deployment (``None``: an unexpected stored shape, stock reads)."""
        store = selector._reservations
        if not getattr(store, "cache_dict", None):
            return [0] * len(eligible)
        now = selector._clock()
        ttl = self._least_busy.SELECTION_RESERVATION_TTL_SECONDS
        live = []
        for model_id in eligible:
            picks = store.get_cache(f"least_busy_reservations:{model_id}")
            if picks is None:
                live.append(0)
                continue
            if not isinstance(picks, tuple | list):
                return None
            count = 0
            for pick in picks:
                if not isinstance(pick, tuple | list) or not pick or type(pick[0]) not in _NUMBER:
                    return None
                if now - pick[0] < ttl:
                    count += 1
            live.append(count)
        return live


__all__ = ["CostFacts", "LatencyFacts", "StatefulPicks", "UsageFacts", "read_numbers"]
