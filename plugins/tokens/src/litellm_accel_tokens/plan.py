"""Per-model counting plans: everything stock litellm re-derives on every call, resolved once.

Stock ``token_counter`` selects a tokenizer, builds a chunking count function, decides the per-message
constants and the chat-template tool section on *every* call. A :class:`CountingPlan` holds the result
of asking stock litellm's own helpers those questions once per model, so the answers are stock's by
construction. A plan is only built for tokenizers whose counting this module reproduces exactly:

* tiktoken encodings (``tiktoken.Encoding``) on the ``openai_tokenizer`` path: stock counts
  ``len(encoding.encode(chunk, disallowed_special=()))`` over fixed-size character chunks; we call the
  same encoder's ``encode_ordinary`` (documented as equivalent) on the same chunks;
* the HuggingFace tokenizers bundled with litellm (anthropic, deepseek) loaded by stock's own selector:
  stock counts ``len(tokenizer.encode_batch_fast([text])[0])``, and so do we, with the same object.

Anything else (tokenizers litellm would download, custom tokenizers of an unknown kind, a Rust-backed
tokenizer, a HuggingFace load that fell back to tiktoken) gets no plan and is delegated to stock.

A plan depends on litellm's model tables; :class:`PlanCache` drops every plan when their
:func:`tables_fingerprint` changes (litellm's own model-cost mutation generation, which
``register_model`` bumps, the tables' sizes and identity, ``disable_hf_tokenizer_download``).
"""

from __future__ import annotations

import importlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from litellm_accel.contracts import UseStock

STOCK_MODULE = "litellm.litellm_core_utils.token_counter"
#: HuggingFace tokenizer kinds litellm ships inside its wheel (no download needed).
BUNDLED_HF_KINDS = frozenset({"anthropic", "deepseek"})

TokenCount = Callable[[str], int]
#: Bound of each plan's short-string table (strings of at most ``short_string_max_chars`` characters).
SHORT_COUNTS_MAX = 1024


class StockHelpers:
    """The stock litellm functions and constants the plans and the counter rely on, looked up once.

    Construction raises ``RuntimeError`` naming whatever is missing, so an incompatible litellm makes
    the implementation fail to start (the installer then skips the feature) instead of miscounting.
    """

    REQUIRED = (
        "_count_function_call_tokens",
        "_count_content_list",
        "_count_image_tokens",
        "_compaction_summaries",
        "_count_extra",
        "_get_extrapolating_count_function",
        "_get_tiktoken_count_function",
        "openai_tokenizer_encoding",
        "uses_legacy_message_accounting",
        "pdf_page_pricing",
        "chat_template_tool_section",
        "UnsupportedContentTypeError",
    )

    def __init__(self) -> None:
        import litellm
        import tiktoken
        from litellm import _lazy_imports, utils

        stock = importlib.import_module(STOCK_MODULE)
        missing = [name for name in self.REQUIRED if not hasattr(stock, name)]
        missing += [
            f"litellm.utils.{name}"
            for name in ("select_tokenizer", "huggingface_tokenizer_kind", "convert_list_message_to_dict")
            if not hasattr(utils, name)
        ]
        if not hasattr(_lazy_imports, "get_default_encoding"):
            missing.append("litellm._lazy_imports.get_default_encoding")
        if missing:
            raise RuntimeError(f"litellm lacks what the token counter mirrors: {', '.join(missing)}")
        self.litellm = litellm
        self.stock = stock
        self.utils = utils
        self.tiktoken_encoding_type = tiktoken.Encoding
        self.get_default_encoding = _lazy_imports.get_default_encoding
        # The chunk size and exact-count limit stock binds as default arguments (read, not assumed).
        self.chunk_chars: int = _default_of(stock._get_tiktoken_count_function, "chunk_size")
        self.max_exact_chars: int = _default_of(stock._get_extrapolating_count_function, "max_exact_chars")
        self.count_function_call_tokens = stock._count_function_call_tokens
        self.count_content_list = stock._count_content_list
        self.count_image_tokens = stock._count_image_tokens
        self.compaction_summaries = stock._compaction_summaries
        self.count_extra = stock._count_extra
        self.unsupported_content_error: type[Exception] = stock.UnsupportedContentTypeError
        self.convert_list_message_to_dict = utils.convert_list_message_to_dict
        # The genuine stock function, even when litellm-accel has already replaced the attribute.
        current = stock.token_counter
        self.stock_token_counter = current.__wrapped__ if hasattr(current, "__litellm_accel_guard__") else current
        try:
            from tokenizers import Tokenizer as HFTokenizer
        except ImportError:  # pragma: no cover - litellm depends on tokenizers
            HFTokenizer = None
        self.hf_tokenizer_type = HFTokenizer


def _default_of(function: Callable[..., Any], parameter: str) -> Any:
    import inspect

    value = inspect.signature(function).parameters[parameter].default
    if value is inspect.Parameter.empty or not isinstance(value, int):
        raise RuntimeError(f"{function.__qualname__}() has no integer default for {parameter}")
    return value


def tables_fingerprint(litellm: Any) -> tuple[Any, ...]:
    """A cheap summary of the litellm globals a plan was derived from; plans are dropped when it changes."""
    model_cost = litellm.model_cost
    return (
        litellm.disable_hf_tokenizer_download,
        getattr(litellm.utils, "_model_cost_mutation_generation", None),
        id(model_cost),
        len(model_cost),
        len(litellm.open_ai_chat_completion_models),
        len(litellm.azure_llms),
        len(litellm.anthropic_models),
        len(litellm.cohere_models),
    )


_namespace_ids: dict[Hashable, int] = {}
_namespace_lock = threading.Lock()


def namespace_id(namespace: Hashable) -> int:
    """A process-wide int standing for ``namespace``: equal namespaces get the same id, others never do."""
    found = _namespace_ids.get(namespace)
    if found is None:
        with _namespace_lock:
            found = _namespace_ids.setdefault(namespace, len(_namespace_ids))
    return found


@dataclass
class CountingPlan:
    """How to count for one model (and custom tokenizer): stock's answers, resolved once."""

    model: Any
    count: TokenCount  #: exact equivalent of stock's count function (chunking and extrapolation included)
    tokens_per_message: int
    tokens_per_name: int
    tool_section: Any
    #: Memo namespace: identifies the tokenizer's counting; ``None`` disables the memo for this plan.
    namespace: Hashable | None
    helpers: StockHelpers = field(repr=False)
    _pdf_pricing: Any = field(default=None, repr=False)

    #: Counts of short strings (roles, names), shared by every plan on the same tokenizer
    #: (see PlanCache); at most SHORT_COUNTS_MAX entries.
    short_counts: dict[str, int] = field(default_factory=dict, repr=False)

    def remember_short(self, text: str, count: int) -> None:
        """Remember the count of a short string (bounded: once full, nothing more is added)."""
        if self.namespace is not None and len(self.short_counts) < SHORT_COUNTS_MAX:
            self.short_counts[text] = count

    def __post_init__(self) -> None:
        # Memo keys start with one of these namespace ids, so the three kinds of entries (a string, a
        # whole message, the tools/tool_choice extra) and the tokenizers can never be confused. Ids are
        # small ints (cheap to hash on the hot path) standing for the tagged tuples.
        namespace = self.namespace
        self.string_namespace = None if namespace is None else namespace_id(("s", namespace))
        self.message_namespace = (
            None if namespace is None else namespace_id(("m", namespace, self.tokens_per_message, self.tokens_per_name))
        )
        self.extra_namespace = None if namespace is None else namespace_id(("x", namespace, id(self.tool_section)))

    @property
    def pdf_pricing(self) -> Any:
        """Stock's PDF page pricing for the model (computed on first need, like stock's cached_property)."""
        if self._pdf_pricing is None:
            self._pdf_pricing = self.helpers.stock.pdf_page_pricing(self.model)
        return self._pdf_pricing


def tiktoken_count_function(helpers: StockHelpers, encoding: Any) -> TokenCount:
    """The exact equivalent of stock's count function for a tiktoken encoding."""
    chunk = helpers.chunk_chars
    max_exact = helpers.max_exact_chars
    encode_core = encoding._core_bpe.encode_ordinary
    encode_safe = encoding.encode_ordinary  # repairs surrogates exactly like encode() does

    def encode_length(text: str) -> int:
        try:
            return len(encode_core(text))
        except UnicodeEncodeError:
            return len(encode_safe(text))

    def count_exactly(text: str) -> int:
        if len(text) <= chunk:
            return encode_length(text)
        return sum(encode_length(text[start : start + chunk]) for start in range(0, len(text), chunk))

    extrapolating = helpers.stock._get_extrapolating_count_function(count_exactly)

    def count(text: str) -> int:
        n = len(text)
        if n <= chunk:
            try:
                return len(encode_core(text))
            except UnicodeEncodeError:
                return len(encode_safe(text))
        if n > max_exact:
            return extrapolating(text)  # type: ignore[no-any-return]
        return sum(encode_length(text[start : start + chunk]) for start in range(0, n, chunk))

    return count


def huggingface_count_function(helpers: StockHelpers, tokenizer: Any) -> TokenCount:
    """The exact equivalent of stock's count function for a Python ``tokenizers.Tokenizer``."""
    encode_batch_fast = tokenizer.encode_batch_fast
    max_exact = helpers.max_exact_chars

    def count_exactly(text: str) -> int:
        return len(encode_batch_fast([text])[0])

    extrapolating = helpers.stock._get_extrapolating_count_function(count_exactly)

    def count(text: str) -> int:
        if len(text) > max_exact:
            return extrapolating(text)  # type: ignore[no-any-return]
        return len(encode_batch_fast([text])[0])

    return count


class NoPlan(UseStock):
    """This model / tokenizer is outside what the plans reproduce; the call goes to stock."""


def build_plan(helpers: StockHelpers, model: Any, custom_tokenizer: Any) -> CountingPlan:
    """Ask stock litellm's helpers how it counts for ``model``; raise :class:`NoPlan` if not reproducible."""
    litellm = helpers.litellm
    stock = helpers.stock
    if model is None:
        if custom_tokenizer is not None:
            raise NoPlan("custom tokenizer without a model")
        encoding = helpers.get_default_encoding()
        count, namespace = _tiktoken(helpers, encoding)
    elif not isinstance(model, str):
        raise NoPlan(f"model of type {type(model).__name__}")
    elif custom_tokenizer:
        if type(custom_tokenizer) is not dict:
            raise NoPlan("custom tokenizer is not a dict")
        kind = custom_tokenizer.get("type")
        if kind == "openai_tokenizer":
            count, namespace = _tiktoken(helpers, stock.openai_tokenizer_encoding(model))
        elif kind == "huggingface_tokenizer":
            tokenizer = custom_tokenizer.get("tokenizer")
            if helpers.hf_tokenizer_type is None or type(tokenizer) is not helpers.hf_tokenizer_type:
                raise NoPlan("custom tokenizer is not a Python tokenizers.Tokenizer")
            # No memo namespace: the memo must never outlive the tokenizer object it was counted with.
            count, namespace = huggingface_count_function(helpers, tokenizer), None
        else:
            raise NoPlan(f"custom tokenizer type {kind!r}")
    else:
        hf_kind = (
            None if litellm.disable_hf_tokenizer_download is True else helpers.utils.huggingface_tokenizer_kind(model)
        )
        if hf_kind is not None and hf_kind not in BUNDLED_HF_KINDS:
            raise NoPlan(f"the {hf_kind} tokenizer is downloaded by litellm")
        selected = helpers.utils.select_tokenizer(model)
        selected_type = selected.get("type") if isinstance(selected, dict) else None
        if hf_kind is None and selected_type == "openai_tokenizer":
            count, namespace = _tiktoken(helpers, stock.openai_tokenizer_encoding(model))
        elif hf_kind is not None and selected_type == "huggingface_tokenizer":
            tokenizer = selected.get("tokenizer")
            if helpers.hf_tokenizer_type is None or type(tokenizer) is not helpers.hf_tokenizer_type:
                raise NoPlan("the bundled tokenizer is not a Python tokenizers.Tokenizer")
            count, namespace = huggingface_count_function(helpers, tokenizer), ("hf", hf_kind)
        else:
            # e.g. the bundled tokenizer failed to load and stock fell back to tiktoken (it retries later).
            raise NoPlan(f"tokenizer selection {selected_type!r} for kind {hf_kind!r}")
    legacy = stock.uses_legacy_message_accounting(model)
    return CountingPlan(
        model=model,
        count=count,
        tokens_per_message=4 if legacy else 3,
        tokens_per_name=-1 if legacy else 1,
        tool_section=stock.chat_template_tool_section(model),
        namespace=namespace,
        helpers=helpers,
    )


def _tiktoken(helpers: StockHelpers, encoding: Any) -> tuple[TokenCount, Hashable]:
    if type(encoding) is not helpers.tiktoken_encoding_type:
        raise NoPlan(f"encoding of type {type(encoding).__name__} (not a Python tiktoken encoding)")
    return tiktoken_count_function(helpers, encoding), ("tiktoken", encoding.name)


_MISSING: Any = object()


class PlanCache:
    """Plans by (model, custom tokenizer), bounded, rebuilt when litellm's model tables change.

    A model that has no plan is remembered as such, so delegating it costs one lookup.
    """

    def __init__(self, helpers: StockHelpers, max_plans: int) -> None:
        self.helpers = helpers
        self._litellm = helpers.litellm
        self._utils = helpers.utils
        self.max_plans = max_plans
        self._plans: OrderedDict[Hashable, CountingPlan | None] = OrderedDict()
        self._fingerprint = tables_fingerprint(helpers.litellm)
        #: One short-string table per tokenizer namespace: bounded by the few tokenizers in use.
        self._short_tables: dict[Hashable, dict[str, int]] = {}
        self._lock = threading.Lock()
        self.builds = 0

    def get(self, model: Any, custom_tokenizer: Any) -> CountingPlan:
        """The plan for this model and custom tokenizer; raises :class:`NoPlan` when stock must count."""
        litellm = self._litellm
        model_cost = litellm.model_cost
        # tables_fingerprint(), inlined: this runs on every call.
        fingerprint = (
            litellm.disable_hf_tokenizer_download,
            getattr(self._utils, "_model_cost_mutation_generation", None),  # bumped by register_model
            id(model_cost),
            len(model_cost),
            len(litellm.open_ai_chat_completion_models),
            len(litellm.azure_llms),
            len(litellm.anthropic_models),
            len(litellm.cohere_models),
        )
        if fingerprint != self._fingerprint:
            with self._lock:
                self._plans.clear()
                self._fingerprint = fingerprint
        if custom_tokenizer:
            if type(custom_tokenizer) is not dict:
                raise NoPlan("custom tokenizer is not a dict")
            # Keyed by the tokenizer object's identity: a cached plan's count function holds that object,
            # so the id cannot be reused by another tokenizer while the plan is cached.
            key: Hashable = ("custom", model, custom_tokenizer.get("type"), id(custom_tokenizer.get("tokenizer")))
        else:
            key = model
        plan = self._plans.get(key, _MISSING) if type(model) is str or model is None else _MISSING
        if plan is _MISSING:
            if model is not None and type(model) is not str:
                raise NoPlan(f"model of type {type(model).__name__}")
            plan = self._build(key, model, custom_tokenizer)
        if plan is None:
            raise NoPlan(f"no plan for {model!r}")
        return plan  # type: ignore[return-value]

    def _build(self, key: Hashable, model: Any, custom_tokenizer: Any) -> CountingPlan | None:
        try:
            plan: CountingPlan | None = build_plan(self.helpers, model, custom_tokenizer)
        except NoPlan:
            plan = None
        with self._lock:
            self.builds += 1
            if plan is not None and plan.namespace is not None:
                plan.short_counts = self._short_tables.setdefault(plan.namespace, {})
            self._plans[key] = plan
            while len(self._plans) > self.max_plans:
                self._plans.popitem(last=False)
        return plan

    def clear(self) -> None:
        with self._lock:
            self._plans.clear()
            self._short_tables.clear()

    def short_table_sizes(self) -> dict[str, int]:
        """Entries per short-string table (for stats)."""
        return {repr(namespace): len(table) for namespace, table in self._short_tables.items()}

    def __len__(self) -> int:
        return len(self._plans)
