"""A bounded memo of token counts, keyed by tokenizer and exact content.

Keys are tuples that hold the counted strings themselves (not digests), so a lookup only hits when the
content is *equal* to what was counted: a hash collision can never return a count for different
content.

Memory is bounded by an estimate of what the memo keeps alive: the key tuples, the strings they
reference (counted in full even when the caller still holds them) and the dictionary slot. Eviction is
generational, which keeps inserts as cheap as a dict assignment: new entries go into the *young*
generation; when it holds half the byte cap, the *old* generation is dropped whole and the young one
becomes old. A hit in the old generation moves the entry back to the young one, so entries that keep
being used (the earlier turns of a live conversation) survive while unused ones age out, close to LRU.
Both generations together never exceed the cap.

Thread safety: lookups and inserts are plain dict operations (atomic under the GIL); rotating the
generations takes a lock. Byte accounting uses unlocked additions, so under heavy multi-threading the
estimate may lag by a few entries.

Hot path: the counter's message loop reads ``young``/``old`` and updates ``young_bytes`` directly
(one method call per message would cost as much as the lookup). It follows :meth:`put`'s rules: an
entry at most ``max_entry_bytes``, ``rotate()`` before ``young_bytes`` would pass ``generation_bytes``,
``promote()`` for an old-generation hit, and re-reading ``young``/``old`` after either.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Hashable
from typing import Any

#: Bookkeeping cost of one entry beyond its key's own objects: the dict slot and the int.
ENTRY_OVERHEAD_BYTES = 100
#: sys.getsizeof of a tuple is this plus 8 bytes per item (CPython 64-bit).
TUPLE_BASE_BYTES = 40
#: A (key, value) pair tuple from dict.items().
PAIR_TUPLE_BYTES = TUPLE_BASE_BYTES + 16
#: Allowance for a message key string ("role", "content", "tool_call_id": sys.getsizeof <= 61).
ITEM_KEY_ALLOWANCE_BYTES = 64


def key_size(key: Any) -> int:
    """Estimated bytes a memo key keeps alive: the tuples and the strings they reference."""
    size = sys.getsizeof(key)
    if type(key) is tuple:
        for part in key:
            size += key_size(part)
    return size


class CountMemo:
    """Map from content keys to token counts, bounded in (estimated) bytes. See the module docstring."""

    def __init__(self, max_bytes: int, max_entry_bytes: int) -> None:
        self.max_bytes = max_bytes
        #: An entry larger than this is not kept (also never more than one generation's budget).
        self.max_entry_bytes = min(max_entry_bytes, max_bytes // 2)
        self.generation_bytes = max_bytes // 2
        self.young: dict[Hashable, int] = {}
        self.old: dict[Hashable, int] = {}
        self.young_bytes = 0
        self.old_bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.evictions = 0

    @property
    def enabled(self) -> bool:
        return self.max_entry_bytes > 0

    @property
    def bytes(self) -> int:
        """Estimated bytes held by the memo (never above ``max_bytes``)."""
        return self.young_bytes + self.old_bytes

    def __len__(self) -> int:
        return len(self.young) + len(self.old)

    def peek(self, key: Hashable) -> int | None:
        """The remembered count for ``key``, or ``None`` (the hot path's lookup)."""
        found = self.young.get(key)
        if found is not None:
            return found
        found = self.old.get(key)
        if found is not None:
            self.promote(key, found)
        return found

    get = peek

    def promote(self, key: Hashable, count: int) -> None:
        """Copy an old-generation entry into the young one (it was just used)."""
        self.put(key, count, key_size(key))

    def put(self, key: Hashable, count: int, size: int | None = None) -> bool:
        """Remember ``count`` for ``key``; returns whether it was kept (too-large entries are not).

        ``size`` is the caller's estimate of what ``key`` keeps alive (computed while it walked the
        content anyway); :func:`key_size` computes it when not given.
        """
        if size is None:
            size = key_size(key)
        size += ENTRY_OVERHEAD_BYTES
        if size > self.max_entry_bytes:
            return False
        if self.young_bytes + size > self.generation_bytes:
            self.rotate()
        young = self.young
        if key not in young:
            self.young_bytes += size
        young[key] = count
        return True

    def rotate(self) -> None:
        """Drop the old generation; the young one becomes old."""
        with self._lock:
            if self.young_bytes == 0:
                return
            self.evictions += len(self.old)
            # Entries promoted from old to young are in both; they are not evicted.
            self.evictions -= sum(1 for key in self.old if key in self.young)
            self.old, self.old_bytes = self.young, self.young_bytes
            self.young, self.young_bytes = {}, 0

    def clear(self) -> None:
        with self._lock:
            self.young, self.old = {}, {}
            self.young_bytes = self.old_bytes = 0

    def stats(self) -> dict[str, int]:
        return {
            "entries": len(self),
            "bytes": self.bytes,
            "max_bytes": self.max_bytes,
            "hits": self.hits,
            "misses": self.misses,
            "evictions": self.evictions,
        }
