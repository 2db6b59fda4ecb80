"""Which deployments *may* be cooling down, so that a pick reads litellm's cooldown store only then.

Every cooldown litellm records goes through ``RouterCooldownStore.put`` / ``async_put`` (the attachment
observes them). The watch keeps, per store, the ids put into cooldown with a conservative expiry (the
TTL plus a slack). A pick asks :meth:`CooldownWatch.may_be_cooling`; only when it says yes (or when the
store has a Redis tier, whose cooldowns other instances write) does the pick read the store itself, the
exact source stock litellm reads. A cooled-down deployment is therefore never picked, and the common
case (nothing cooling) costs one dictionary lookup instead of a store read.
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from collections.abc import Iterable, Mapping
from typing import Any

#: Added to every recorded expiry: the store's own clock and ours differ by microseconds; an entry that
#: outlives the real cooldown only costs one exact read.
EXPIRY_SLACK_SECONDS = 1.0


#: Recorded when the store holds a key the watch cannot map to a deployment id: read it on every pick.
ANY_ID = "\x00any"


def _model_id_of(key: str) -> str:
    """The deployment id in a cooldown store key (``deployment:<id>:cooldown``)."""
    if key.startswith("deployment:") and key.endswith(":cooldown"):
        return key[len("deployment:") : -len(":cooldown")]
    return ANY_ID


class CooldownWatch:
    """Per-store record of ids that may be in cooldown (conservative: a superset of the active ones)."""

    def __init__(self) -> None:
        self._stores: weakref.WeakKeyDictionary[Any, dict[str, float]] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        #: Set when a cooldown could not be recorded: from then on every pick reads the store.
        self.degraded = False

    def _entry(self, store: Any) -> dict[str, float]:
        entry = self._stores.get(store)
        if entry is None:
            # First sight of a store (for example a router that had cooldowns before install()):
            # everything it holds may be active until an exact read says otherwise.
            try:
                entry = {_model_id_of(str(key)): math.inf for key in store.snapshot()}
            except Exception:
                entry = {ANY_ID: math.inf}  # unknown: read the store on every pick
            with self._lock:
                entry = self._stores.setdefault(store, entry)
        return entry

    def record_put(self, store: Any, model_id: object, value: Any, ttl: object) -> None:
        """Called when litellm puts ``model_id`` into cooldown: ``value`` is the cooldown record
        (its ``timestamp`` + ``cooldown_time`` bound the cooldown too), ``ttl`` the store's TTL.
        Never raises (it runs inside litellm's cooldown write)."""
        try:
            self._record_put(store, model_id, value, ttl)
        except Exception:
            self.degraded = True

    def _record_put(self, store: Any, model_id: object, value: Any, ttl: object) -> None:
        now = time.time()
        seconds = float(ttl) if isinstance(ttl, (int, float)) and ttl > 0 else math.inf
        expiry = now + seconds
        if isinstance(value, Mapping):
            stamp, length = value.get("timestamp"), value.get("cooldown_time")
            if isinstance(stamp, (int, float)) and isinstance(length, (int, float)):
                expiry = max(expiry, float(stamp) + float(length))
            else:
                expiry = math.inf
        expiry += EXPIRY_SLACK_SECONDS
        entry = self._entry(store)
        with self._lock:
            entry[str(model_id)] = max(expiry, entry.get(str(model_id), 0.0))

    def record_evict(self, store: Any, model_id: object) -> None:
        """Called after litellm removed ``model_id``'s local cooldown. Never raises."""
        try:
            entry = self._entry(store)
            with self._lock:
                entry.pop(str(model_id), None)
        except Exception:
            self.degraded = True

    def may_be_cooling(self, store: Any, ids: Iterable[str]) -> bool:
        """Whether any of ``ids`` may be in cooldown in ``store`` (False means certainly none is)."""
        if self.degraded:
            return True
        entry = self._stores.get(store)
        if entry is None:
            entry = self._entry(store)
        if not entry:
            return False
        now = time.time()
        if entry.get(ANY_ID, 0.0) > now:
            return True
        return any(entry.get(model_id, 0.0) > now for model_id in ids)

    def recorded(self, store: Any, ids: Iterable[str]) -> dict[str, float]:
        """The recorded expiries of ``ids`` now (taken before an exact read, see :meth:`confirm`)."""
        entry = self._stores.get(store) or {}
        return {model_id: entry[model_id] for model_id in ids if model_id in entry}

    def confirm(self, store: Any, before: dict[str, float], active: Iterable[str]) -> None:
        """After an exact read: forget the ids the store reported inactive, unless a new cooldown was
        recorded for them while the read was in flight (``before`` is :meth:`recorded` from before it)."""
        entry = self._stores.get(store)
        if not entry:
            return
        active_set = set(active)
        with self._lock:
            for model_id, expiry in before.items():
                if model_id not in active_set and entry.get(model_id) == expiry:
                    del entry[model_id]
