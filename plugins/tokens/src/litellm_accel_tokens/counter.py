"""The ``builtin`` token counter: stock litellm's ``token_counter`` arithmetic with the overhead removed.

``count()`` mirrors ``litellm.litellm_core_utils.token_counter.token_counter`` (litellm 1.110.2) branch
by branch. What it does differently is only *when* work happens:

* the tokenizer, chunking rule, per-message constants and tool section come from a cached
  :class:`~litellm_accel_tokens.plan.CountingPlan` instead of being re-derived per call;
* counts of whole messages (and of short strings such as roles) are remembered in a bounded
  :class:`~litellm_accel_tokens.memo.CountMemo` keyed by tokenizer and exact content, so a conversation
  re-counted after one more turn costs about one message;
* rare shapes (documents, Anthropic blocks, tools) are counted by stock litellm's own helpers, called
  with our count function, which is exactly equivalent to stock's.

Delegation (``UseStock``): a tokenizer outside the plans (see plan.py), an image that stock would fetch
over the network (``detail="high"`` with an http(s) URL), argument types stock would choke on, and any
input on which stock raises (stock then raises its own exception, message included).
"""

from __future__ import annotations

import logging
import sys
from importlib import metadata
from typing import Any, ClassVar

from litellm_accel.contracts import ImplementationContext, UseStock
from litellm_accel_tokens.freeze import Unfreezable, freeze
from litellm_accel_tokens.memo import (
    ENTRY_OVERHEAD_BYTES,
    ITEM_KEY_ALLOWANCE_BYTES,
    PAIR_TUPLE_BYTES,
    TUPLE_BASE_BYTES,
    CountMemo,
)
from litellm_accel_tokens.options import TESTED_LITELLM_VERSION, TokenOptions, parse_options
from litellm_accel_tokens.plan import CountingPlan, PlanCache, StockHelpers

logger = logging.getLogger("litellm_accel.tokens")

#: Content-block types whose text stock counts, and the field that holds it (stock's table).
_TEXT_FIELD_BY_BLOCK_TYPE = {
    "text": "text",
    "thinking": "thinking",
    "redacted_thinking": "thinking",
    "compaction": "content",
}
_FUNCTION_CALL_KEYS = ("tool_calls", "function_call")
_HTTP = ("http://", "https://")
_MAX_SCAN_DEPTH = 64
#: Metrics are pushed every 32 calls (mask of the call counter's low bits).
_PUBLISH_EVERY_MASK = 31
#: Estimated bytes of a message memo entry (namespace, items) before its items (the tuples and the
#: entry's own bookkeeping), and per item (the slot in the items tuple, the (key, value) pair tuple and
#: an allowance for the item's key string); the value strings are added per item.
_MESSAGE_KEY_BASE_BYTES = 2 * TUPLE_BASE_BYTES + 16 + ENTRY_OVERHEAD_BYTES
_ITEM_BYTES = 8 + PAIR_TUPLE_BYTES + ITEM_KEY_ALLOWANCE_BYTES


class _Unhandled(Exception):
    """A content block this module does not walk itself; the whole list goes to stock's helper."""


def may_fetch_image(value: Any, depth: int = 0) -> bool:
    """Whether stock's content walker could download an image for ``value``.

    Stock fetches only for an ``image_url`` block whose ``detail`` is ``"high"`` and whose URL is
    http(s). The scan is deliberately wider (any dict with ``detail == "high"`` next to an http(s)
    ``url``, at any depth, and anything too deep to scan) so that a miss is impossible.
    """
    if depth > _MAX_SCAN_DEPTH:
        return True
    if isinstance(value, dict):
        if value.get("detail") == "high":
            url = value.get("url")
            if not isinstance(url, str) or url.startswith(_HTTP):
                return True
        return any(may_fetch_image(item, depth + 1) for item in value.values() if isinstance(item, (dict, list, tuple)))
    if isinstance(value, (list, tuple)):
        return any(may_fetch_image(item, depth + 1) for item in value if isinstance(item, (dict, list, tuple)))
    return False


def check_litellm_version(options: TokenOptions) -> str:
    """The installed litellm version; raises ``RuntimeError`` when it is not the proven one (unless allowed)."""
    try:
        version = metadata.version("litellm")
    except metadata.PackageNotFoundError as exc:  # pragma: no cover - litellm is a dependency
        raise RuntimeError("litellm is not installed") from exc
    if version != TESTED_LITELLM_VERSION and not options.allow_untested_litellm:
        raise RuntimeError(
            f"litellm {version} is not the release this token counter was proven against "
            f"({TESTED_LITELLM_VERSION}); set tokens.options.allow_untested_litellm = true to use it anyway"
        )
    return version


class BuiltinTokenCounter:
    """Exact, cached token counting. Meets :class:`litellm_accel.contracts.TokenCounter`."""

    name: ClassVar[str] = "builtin"

    def __init__(self, context: ImplementationContext | None = None, *, options: dict[str, Any] | None = None) -> None:
        raw = context.options if context is not None else options
        self.options = parse_options(raw)
        self.litellm_version = check_litellm_version(self.options)
        self._helpers = StockHelpers()
        self._litellm = self._helpers.litellm
        self._plans = PlanCache(self._helpers, self.options.plan_cache_size)
        self.memo = CountMemo(self.options.memo_max_bytes, self.options.memo_max_entry_bytes)
        self._use_memo = self.options.memo_enabled and self.memo.enabled
        self._short_max = self.options.short_string_max_chars
        self._metrics = context.metrics if context is not None else None
        self._published: dict[str, int] = {}
        self._calls = 0
        self._delegated_on_exception = 0
        if self._metrics is not None:
            self._metrics.set_gauge("memo_bytes", 0)
            self._metrics.set_gauge("memo_max_bytes", self.memo.max_bytes)

    # -- public -----------------------------------------------------------------------------------
    def count(
        self,
        model: Any = "",
        custom_tokenizer: Any = None,
        text: Any = None,
        messages: Any = None,
        count_response_tokens: Any = False,
        tools: Any = None,
        tool_choice: Any = None,
        use_default_image_token_count: Any = False,
        default_token_count: Any = None,
    ) -> int:
        """What stock ``token_counter`` returns for the same arguments (or ``UseStock``)."""
        if self._litellm.disable_token_counter is True:
            return 0
        if text is not None and messages is not None:
            raise UseStock("stock raises ValueError")
        if use_default_image_token_count is None:
            use_default_image_token_count = False
        try:
            if messages is not None:
                if type(messages) is not list and type(messages) is not tuple:
                    raise UseStock("messages is not a list or tuple")
                for message in messages:
                    if type(message) is not dict:
                        # Stock converts every message before counting any (pydantic models are dumped).
                        convert = self._helpers.convert_list_message_to_dict
                        messages = [m if type(m) is dict else convert([m])[0] for m in messages]
                        break
                plan = self._plans.get(model, custom_tokenizer)
                total = self._count_messages(plan, messages, use_default_image_token_count, default_token_count)
                if count_response_tokens is False:
                    if not tools and tool_choice is None:
                        total += 3  # stock's reply primer; no tool definitions, no tool_choice tokens
                    else:
                        total += self._count_extra(plan, messages, tools, tool_choice)
            elif text is not None:
                if tools or tool_choice:
                    raise UseStock("stock raises ValueError")
                if isinstance(text, list):
                    text = "".join(t for t in text if isinstance(t, str))
                elif not isinstance(text, str):
                    raise UseStock("text of an unsupported type")
                total = self._count_text(self._plans.get(model, custom_tokenizer), text)
            else:
                raise UseStock("stock raises ValueError")
        except UseStock:
            raise
        except Exception as exc:
            # Stock raises on this input too (every branch here mirrors one of stock's): let stock
            # raise its own exception, message included. A bug of ours is answered correctly as well.
            self._delegated_on_exception += 1
            logger.debug("tokens: delegating an input that raised %s: %s", type(exc).__name__, exc)
            raise UseStock(f"{type(exc).__name__}") from exc
        self._calls += 1
        if not self._calls & _PUBLISH_EVERY_MASK:
            self.publish_metrics()
        return total

    def count_or_stock(self, *args: Any, **kwargs: Any) -> int:
        """``count`` for standalone use: answers ``UseStock`` inputs with stock litellm's function."""
        try:
            return self.count(*args, **kwargs)
        except UseStock:
            return self._helpers.stock_token_counter(*args, **kwargs)  # type: ignore[no-any-return]

    def clear(self) -> None:
        """Forget every plan and memo entry (for example after editing litellm's model tables in place)."""
        self._plans.clear()
        self.memo.clear()
        self.publish_metrics()

    def close(self) -> None:
        self.clear()

    def stats(self) -> dict[str, Any]:
        """Memo and plan-cache statistics (for ``doctor``, tests and benchmarks); also publishes them."""
        self.publish_metrics()
        return {"memo": self.memo.stats(), "plans": len(self._plans), "plan_builds": self._plans.builds}

    # -- counting ---------------------------------------------------------------------------------
    def _count_text(self, plan: CountingPlan, text: str) -> int:
        namespace = plan.namespace
        if namespace is None or not self._use_memo or type(text) is not str:
            return plan.count(text)
        key = (plan.string_namespace, text)
        memo = self.memo
        found = memo.peek(key)
        if found is not None:
            memo.hits += 1
            return found
        memo.misses += 1
        result = plan.count(text)
        memo.put(key, result, TUPLE_BASE_BYTES + 16 + sys.getsizeof(text))
        return result

    def _count_messages(self, plan: CountingPlan, messages: Any, use_default: bool, default_token_count: Any) -> int:
        """Stock's ``_count_messages``; whole str-valued messages are looked up in / added to the memo.

        This loop is the hot path, hence the inlining: a memo hit costs one key tuple and one lookup.
        """
        namespace = plan.message_namespace if self._use_memo else None
        memo = self.memo
        # The memo's generations are used directly here (see CountMemo's "hot path" attributes): a
        # method call per message would cost as much as the lookup itself.
        young = memo.young
        old = memo.old
        generation_bytes = memo.generation_bytes
        max_entry_bytes = memo.max_entry_bytes
        count = plan.count
        short_max = self._short_max
        short_counts = plan.short_counts
        sizeof = sys.getsizeof
        tokens_per_message = plan.tokens_per_message
        total = hits = misses = 0
        for message in messages:
            if namespace is None:
                total += self._count_message(plan, message, use_default, default_token_count)
                continue
            try:
                key = (namespace, tuple(message.items()))
                found = young.get(key)
                if found is None:
                    found = old.get(key)
                    if found is not None:
                        memo.promote(key, found)
                        young, old = memo.young, memo.old
            except TypeError:  # an unhashable value (a content list, tool_calls): not memoized
                total += self._count_message(plan, message, use_default, default_token_count)
                continue
            if found is not None:
                total += found
                hits += 1
                continue
            # Miss: count inline when every value is a str (or None). The size estimate is what the key
            # keeps alive: its tuples, the value strings and a flat allowance per item key (keys are
            # mostly shared literals such as "role"); the shared namespace id is not counted.
            if len(message) == 2:
                # The common {"role": str, "content": str} shape without the general loop.
                role = message.get("role")
                content = message.get("content")
                if type(role) is str and type(content) is str:
                    role_count = short_counts.get(role)
                    if role_count is None:
                        role_count = count(role)
                        if len(role) <= short_max:
                            plan.remember_short(role, role_count)
                    counted = tokens_per_message + role_count + count(content)
                    size = _MESSAGE_KEY_BASE_BYTES + 2 * _ITEM_BYTES + sizeof(role) + sizeof(content)
                    misses += 1
                    total += counted
                    if size <= max_entry_bytes:
                        if memo.young_bytes + size > generation_bytes:
                            memo.rotate()
                            young, old = memo.young, memo.old
                        memo.young_bytes += size
                        young[key] = counted
                    continue
            counted = tokens_per_message
            size = _MESSAGE_KEY_BASE_BYTES + len(message) * _ITEM_BYTES
            for item_key, value in message.items():
                if value is None:
                    continue
                if type(value) is not str or item_key in _FUNCTION_CALL_KEYS:
                    break  # stock counts other values differently and raises on str call payloads
                size += sizeof(value)
                if len(value) <= short_max:
                    value_count = short_counts.get(value)
                    if value_count is None:
                        value_count = count(value)
                        plan.remember_short(value, value_count)
                    counted += value_count
                else:
                    counted += count(value)
                if item_key == "name":
                    counted += plan.tokens_per_name
            else:
                misses += 1
                total += counted
                if size <= max_entry_bytes:
                    # CountMemo.put, inlined: the key was just looked up and missed.
                    if memo.young_bytes + size > generation_bytes:
                        memo.rotate()
                        young, old = memo.young, memo.old
                    memo.young_bytes += size
                    young[key] = counted
                continue
            total += self._count_message(plan, message, use_default, default_token_count)
        memo.hits += hits
        memo.misses += misses
        return total

    def _count_message(self, plan: CountingPlan, message: Any, use_default: bool, default_token_count: Any) -> int:
        """Stock's ``_count_messages`` loop body for one message, any shape."""
        helpers = self._helpers
        count = plan.count
        total = plan.tokens_per_message
        for key, value in message.items():
            if value is None:
                continue
            if key in _FUNCTION_CALL_KEYS:
                total += helpers.count_function_call_tokens(key, value, message, count)
            elif isinstance(value, str):
                total += count(value)
                if key == "name":
                    total += plan.tokens_per_name
            elif key == "content" and isinstance(value, list):
                total += self._count_content_list(plan, value, use_default, default_token_count)
            elif key == "provider_specific_fields":
                total += sum(map(count, helpers.compaction_summaries(value)))
            elif key == "search_results" and isinstance(value, list):
                from litellm.litellm_core_utils.prompt_templates.common_utils import extract_search_results_text

                search_text = extract_search_results_text(value)
                if search_text:
                    total += count(search_text)
        return total

    def _count_content_list(
        self, plan: CountingPlan, items: list[Any], use_default: bool, default_token_count: Any
    ) -> int:
        """Stock's ``_count_content_list``: text and image blocks walked here, anything else by stock."""
        helpers = self._helpers
        count = plan.count
        total = 0
        try:
            for block in items:
                if isinstance(block, str):
                    total += count(block)
                    continue
                if type(block) is not dict:
                    raise _Unhandled
                block_type = block["type"]
                if block_type in _TEXT_FIELD_BY_BLOCK_TYPE:
                    block_text = str(block.get(_TEXT_FIELD_BY_BLOCK_TYPE[block_type]) or "")
                    if block_text:
                        total += count(block_text)
                elif block_type == "image_url":
                    image_url = block.get("image_url")
                    if not use_default and may_fetch_image(image_url):
                        raise UseStock("stock would download the image to read its size")
                    total += helpers.count_image_tokens(image_url, use_default)
                else:
                    raise _Unhandled
            return total
        except (UseStock, _Unhandled) as signal:
            if isinstance(signal, UseStock):
                raise
        except Exception as exc:
            if default_token_count is not None:
                return default_token_count  # type: ignore[no-any-return]
            raise ValueError(f"content list: {exc}") from exc  # stock raises; the caller delegates
        if not use_default and may_fetch_image(items):
            raise UseStock("stock would download an image to read its size")
        return helpers.count_content_list(count, items, use_default, default_token_count, plan.pdf_pricing)  # type: ignore[no-any-return]

    def _count_extra(self, plan: CountingPlan, messages: Any, tools: Any, tool_choice: Any) -> int:
        """Stock's ``_count_extra`` (reply primer, tool definitions, tool_choice), memoized by content."""
        includes_system = any(message.get("role", None) == "system" for message in messages)
        extra_namespace = plan.extra_namespace
        key = None
        if extra_namespace is not None and self._use_memo:
            try:
                key = (extra_namespace, freeze(tools), freeze(tool_choice), includes_system)
            except Unfreezable:
                key = None
            if key is not None:
                found = self.memo.get(key)
                if found is not None:
                    self.memo.hits += 1
                    return found
        result: int = self._helpers.count_extra(plan.count, tools, tool_choice, includes_system, plan.tool_section)
        if key is not None:
            self.memo.misses += 1
            self.memo.put(key, result)
        return result

    def publish_metrics(self) -> None:
        """Push the memo's counters and gauges to the feature's metrics.

        Runs every 32 calls (not on every call: it sits on the hot path) and on ``stats()``/``clear()``.
        """
        metrics = self._metrics
        if metrics is None:
            return
        memo = self.memo
        for name, value in (
            ("memo_hits", memo.hits),
            ("memo_misses", memo.misses),
            ("memo_evictions", memo.evictions),
            ("delegated_on_exception", self._delegated_on_exception),
        ):
            delta = value - self._published.get(name, 0)
            if delta:
                metrics.incr(name, delta)
                self._published[name] = value
        metrics.set_gauge("memo_bytes", memo.bytes)
        metrics.set_gauge("memo_entries", len(memo))
        metrics.set_gauge("plans", len(self._plans))
