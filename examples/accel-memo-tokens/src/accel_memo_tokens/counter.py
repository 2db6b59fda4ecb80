"""The ``memo`` token counter: an LRU memo in front of stock litellm's ``token_counter``.

Contract (:class:`litellm_accel.contracts.TokenCounter`): ``count`` returns exactly what stock
``litellm.litellm_core_utils.token_counter.token_counter`` returns for the same arguments. A memo hit
returns the count stock computed earlier for an identical call; a miss asks stock and remembers the
answer. Calls the memo cannot key safely, calls for models outside ``options.models`` and calls on
which stock raises are handed to stock through :class:`~litellm_accel.contracts.UseStock`, so the
caller always sees stock's own result or exception.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, ClassVar

from accel_memo_tokens.keys import Unkeyable, call_key
from accel_memo_tokens.options import MemoOptions, parse_options
from litellm_accel.contracts import HealthReport, ImplementationContext, UseStock

_LIVE: weakref.WeakSet[MemoTokenCounter] = weakref.WeakSet()


def live_counters() -> list[MemoTokenCounter]:
    """Counters constructed and not yet closed (for the health hook)."""
    return [counter for counter in list(_LIVE) if not counter.closed]


def stock_token_counter() -> Callable[..., int]:
    """Stock litellm's inner ``token_counter``, unwrapped if litellm-accel already patched it."""
    from litellm.litellm_core_utils import token_counter as module

    function = module.token_counter
    # A guarded function keeps the original in __wrapped__ (functools.wraps); calling the guarded one
    # from inside the implementation would recurse into ourselves.
    while hasattr(function, "__litellm_accel_guard__"):
        function = function.__wrapped__
    return function  # type: ignore[no-any-return]


class MemoTokenCounter:
    """Memoised token counts, identical to stock litellm's."""

    name: ClassVar[str] = "memo"

    def __init__(self, context: ImplementationContext) -> None:
        self.options: MemoOptions = parse_options(context.options)
        self._metrics = context.metrics
        self._stock = stock_token_counter()
        self._entries: OrderedDict[tuple[Any, ...], int] = OrderedDict()
        self._lock = threading.Lock()
        self._prefixes = tuple(self.options.models) if self.options.models is not None else None
        self.hits = 0
        self.misses = 0
        self.closed = False
        _LIVE.add(self)

    def count(self, *args: Any, **kwargs: Any) -> int:
        """Stock's count for these arguments, from the memo when the same call was counted before."""
        if self._prefixes is not None:
            model = kwargs.get("model", args[0] if args else "")
            if not isinstance(model, str) or not model.startswith(self._prefixes):
                raise UseStock()
        try:
            key = call_key(args, kwargs)
        except Unkeyable:
            self._metrics.incr("memo_unkeyable")
            raise UseStock() from None
        with self._lock:
            cached = self._entries.get(key)
            if cached is not None:
                self._entries.move_to_end(key)
                self.hits += 1
        if cached is not None:
            self._metrics.incr("memo_hits")
            return cached
        try:
            result = self._stock(*args, **kwargs)
        except Exception:
            # Stock raises for this input: let the guard call stock, so the caller gets stock's own
            # exception and the call is counted as delegated, not as an implementation error.
            raise UseStock() from None
        self._remember(key, result)
        return result

    def _remember(self, key: tuple[Any, ...], result: int) -> None:
        with self._lock:
            self.misses += 1
            self._entries[key] = result
            self._entries.move_to_end(key)
            while len(self._entries) > self.options.max_entries:
                self._entries.popitem(last=False)
            size = len(self._entries)
        self._metrics.incr("memo_misses")
        self._metrics.set_gauge("memo_entries", size)

    def __len__(self) -> int:
        return len(self._entries)

    def health(self) -> HealthReport:
        """Memo size and hit ratio, for ``litellm-accel doctor``."""
        lookups = self.hits + self.misses
        ratio = f"{self.hits / lookups:.0%}" if lookups else "n/a"
        detail = f"{len(self._entries)}/{self.options.max_entries} entries, hit ratio {ratio}"
        return HealthReport("accel-memo-tokens", True, detail)

    def close(self) -> None:
        """Drop the memo (called by ``litellm_accel.uninstall()``)."""
        with self._lock:
            self._entries.clear()
        self.closed = True
        _LIVE.discard(self)
