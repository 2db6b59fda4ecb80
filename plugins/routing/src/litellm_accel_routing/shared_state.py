"""Shared routing state across instances through Redis, with bounded staleness and no Redis on the pick path.

litellm's stateful strategies keep their state in the router's routing cache (a ``DualCache``):

- least-busy: in-flight counts, ``{model_group}_request_count:{deployment id}``;
- usage-based-routing-v2: per-minute usage, ``{deployment id}:{model}:tpm:{HH-MM}`` and ``...:rpm:...``;
- latency-based-routing: ``{model_group}_map``, per deployment its recent latencies (and time to first
  token for streaming) plus per-minute tpm/rpm.

A router created without its own ``redis_url`` keeps that state in process. With the litellm-accel
``redis_url`` set, each such router becomes a *participant*: a background thread publishes the router's own
local state to Redis every ``flush_seconds`` (one script call: write own state, refresh its expiry, read
every other live participant's state) and keeps what the others published as an immutable snapshot. The
selectors' reads for a pick are merged with that snapshot in memory (:meth:`SharedRoutingState.merge_counts`,
:meth:`merge_usage`, :meth:`merge_latency`, called by the attachment's wrappers), so a pick never waits for
Redis and the router's own cache only ever holds its own state, exactly as stock writes it.

Staleness bound: something recorded by one instance is in every other instance's picks within two flush
intervals plus two Redis round trips (its next publish, then the reader's next read). A participant that
stops publishing (crashed, partitioned) drops out after ``ttl_seconds``; a snapshot that could not be
refreshed for ``ttl_seconds`` is dropped, and picks use local state only until Redis answers again.
"""

from __future__ import annotations

import atexit
import itertools
import json
import logging
import math
import os
import re
import socket
import threading
import time
import uuid
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger("litellm_accel.routing")

IN_FLIGHT_MARK = "_request_count:"
USAGE_KEY = re.compile(r":(?:tpm|rpm):\d{2}-\d{2}$")
LATENCY_SUFFIX = "_map"
LATENCY_LISTS = ("latency_normalized", "time_to_first_token_seconds")

# Publish own state, refresh own expiry, drop expired participants, return every other participant's
# state. Server time, so hosts' clocks do not matter. Every key carries the prefix's hash tag.
_EXCHANGE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local pid, ttl, prefix = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local own = prefix .. 'p:' .. pid
redis.call('DEL', own)
local n = #ARGV
local i = 4
while i <= n do
  local last = math.min(i + 999, n)
  redis.call('HSET', own, unpack(ARGV, i, last))
  i = last + 1
end
if n >= 4 then redis.call('PEXPIRE', own, ttl) end
redis.call('ZADD', KEYS[1], now + ttl, pid)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('PEXPIRE', KEYS[1], ttl * 2)
local out = {}
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if member ~= pid then
    local state = redis.call('HGETALL', prefix .. 'p:' .. member)
    if #state > 0 then
      out[#out + 1] = member
      out[#out + 1] = state
    end
  end
end
return out
"""

_LEAVE = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', ARGV[2] .. 'p:' .. ARGV[1])
return 1
"""


@dataclass(frozen=True)
class Snapshot:
    """What the other participants published, as of ``taken`` (``time.monotonic()``)."""

    counts: Mapping[str, float] = field(default_factory=dict)
    latency: Mapping[str, tuple[Mapping[str, Any], ...]] = field(default_factory=dict)
    participants: int = 0
    taken: float = -math.inf


EMPTY = Snapshot()


_SERIAL = itertools.count(1)


class Participant:
    """One router's routing cache taking part in the exchange."""

    __slots__ = ("__weakref__", "cache_ref", "idle", "listed", "pid", "snapshot", "used")

    def __init__(self, cache: Any, instance: str) -> None:
        self.cache_ref = weakref.ref(cache)
        self.pid = f"{instance}:{next(_SERIAL)}"  # never reused, unlike id(cache)
        self.snapshot = EMPTY
        self.used = True  # a pick merged with this participant's snapshot since the last discovery
        self.idle = 0  # discoveries in a row that found neither a registered selector nor a pick
        self.listed = False  # one of its selectors was seen among litellm's callbacks


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value if math.isfinite(value) else None


def _is_placeholder(entry: Any) -> bool:
    """The ``{"latency_normalized": [0], minute: {"tpm": 0, "rpm": 0}}`` the latency selector adds for a
    deployment it has no sample of: not a measurement, so never published or merged over real samples."""
    if not isinstance(entry, Mapping) or entry.get("latency_normalized") != [0]:
        return False
    for name, value in entry.items():
        if name == "latency_normalized":
            continue
        if not isinstance(value, Mapping) or any(v for v in value.values()):
            return False
    return True


def own_state(cache: Any) -> list[str]:
    """The stateful strategies' entries of one routing cache as hash field/value pairs: ``c:<key>`` a count,
    ``l:<key>`` a latency map as JSON. Expired and zero entries are left out."""
    memory = cache.in_memory_cache
    now = memory._clock() if hasattr(memory, "_clock") else time.time()
    expiries = memory.ttl_dict
    pairs: list[str] = []
    # list() of a dict's items runs without releasing the GIL: a consistent copy of the keys and values.
    for key, value in list(memory.cache_dict.items()):
        if not isinstance(key, str):
            continue
        expiry = expiries.get(key)
        if expiry is not None and now > expiry:
            continue
        if IN_FLIGHT_MARK in key or USAGE_KEY.search(key):
            number = _number(value)
            if number:
                pairs += (f"c:{key}", repr(number))
        elif key.endswith(LATENCY_SUFFIX) and isinstance(value, dict):
            encoded = _latency_json(value)
            if encoded is not None:
                pairs += (f"l:{key}", encoded)
    return pairs


def _latency_json(value: dict[str, Any]) -> str | None:
    # The selector may be updating the map on another thread; a copy that races it is retried.
    for _ in range(3):
        try:
            kept = {k: v for k, v in list(value.items()) if isinstance(v, Mapping) and not _is_placeholder(v)}
            return json.dumps(kept, default=_finite_or_none) if kept else None
        except RuntimeError:
            continue
        except (TypeError, ValueError):
            return None
    return None


def _finite_or_none(value: Any) -> Any:
    seconds = getattr(value, "total_seconds", None)
    return seconds() if callable(seconds) else None


def parse_exchange(reply: Sequence[Any]) -> Snapshot:
    """The others' states returned by the exchange script, summed (counts) and listed (latency maps)."""
    counts: dict[str, float] = {}
    latency: dict[str, list[Mapping[str, Any]]] = {}
    participants = 0
    for index in range(0, len(reply) - 1, 2):
        state = reply[index + 1]
        participants += 1
        for j in range(0, len(state) - 1, 2):
            name = _text(state[j])
            raw = _text(state[j + 1])
            kind, key = name[:2], name[2:]
            try:
                if kind == "c:":
                    number = float(raw)
                    if math.isfinite(number):
                        counts[key] = counts.get(key, 0) + number
                elif kind == "l:":
                    decoded = json.loads(raw)
                    if isinstance(decoded, dict):
                        latency.setdefault(key, []).append(decoded)
            except ValueError:
                continue
    return Snapshot(
        counts={k: int(v) if v.is_integer() else v for k, v in counts.items()},
        latency={k: tuple(v) for k, v in latency.items()},
        participants=participants,
        taken=time.monotonic(),
    )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def merge_latency_maps(own: Mapping[str, Any], others: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One latency map over every instance: per deployment the samples of all instances (each instance keeps
    its own most recent ``max_latency_list_size``), per-minute tpm/rpm summed. Own placeholders give way to
    real samples from elsewhere."""
    merged: dict[str, dict[str, Any]] = {}
    for source in (own, *others):
        for deployment_id, entry in source.items():
            if not isinstance(entry, Mapping):
                continue
            target = merged.get(deployment_id)
            if target is None or (_is_placeholder(target) and not _is_placeholder(entry)):
                merged[deployment_id] = target = {}
            elif _is_placeholder(entry):
                continue
            for name, value in entry.items():
                if name in LATENCY_LISTS and isinstance(value, list):
                    target[name] = [*target.get(name, ()), *value]
                elif isinstance(value, Mapping):
                    minute = target.setdefault(name, {})
                    for counter, amount in value.items():
                        if _number(amount) is not None:
                            minute[counter] = minute.get(counter, 0) + amount
    return merged


class SharedRoutingState:
    """The participants of one process, their exchange thread and the in-memory merges the picks use."""

    def __init__(
        self,
        redis_url: str,
        *,
        prefix: str,
        flush_seconds: float,
        ttl_seconds: float,
        timeout_seconds: float,
        metrics: Any = None,
    ) -> None:
        import redis  # the optional dependency: litellm-accel-routing[redis]

        self.redis_url = redis_url
        self.prefix = prefix
        self.flush_seconds = flush_seconds
        self.ttl_seconds = ttl_seconds
        self.timeout_seconds = timeout_seconds
        self.metrics = metrics
        self._redis_module = redis
        self._lock = threading.Lock()
        self._participants: dict[int, Participant] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._failing = False
        self._new_client()
        _LIVE.add(self)
        with self._lock:
            self._ensure_thread()

    # -- membership (pick path: no I/O) -------------------------------------------------------------
    def participant(self, cache: Any) -> Participant | None:
        """The participant of a routing cache, registering it on first sight. ``None`` for a router with its
        own Redis (stock already shares its state there) and after :meth:`close`."""
        found = self._participants.get(id(cache))
        if found is not None and found.cache_ref() is cache:
            found.used = True
            return found
        if self._closed or getattr(cache, "redis_cache", None) is not None:
            return None
        if not hasattr(cache, "in_memory_cache"):
            return None
        with self._lock:
            found = self._participants.get(id(cache))
            if found is None or found.cache_ref() is not cache:
                found = Participant(cache, self._instance)
                self._participants[id(cache)] = found
                self._gauge("shared_state_routers", len(self._participants))
                self._wake.set()  # a new router exchanges at once, not at the next interval
            self._ensure_thread()
        return found

    def _others(self, cache: Any) -> Snapshot:
        found = self.participant(cache)
        if found is None:
            return EMPTY
        snapshot = found.snapshot
        if time.monotonic() - snapshot.taken > self.ttl_seconds:
            return EMPTY  # not refreshed for a whole ttl: local state only until Redis answers again
        return snapshot

    # -- merges (pick path) -------------------------------------------------------------------------
    def merge_counts(self, cache: Any, keys: Sequence[str], local: Sequence[int]) -> tuple[int, ...]:
        """Least-busy's in-flight counts: this router's plus every other instance's."""
        counts = self._others(cache).counts
        if not counts:
            return tuple(local)
        return tuple(int(n + counts.get(k, 0)) for k, n in zip(keys, local, strict=True))

    def merge_usage(self, cache: Any, keys: Sequence[str], values: Sequence[Any] | None) -> Any:
        """Usage-v2's counter values (``None`` where nothing is recorded) plus every other instance's."""
        counts = self._others(cache).counts
        if not counts or values is None:
            return values
        merged = []
        for key, value in zip(keys, values, strict=True):
            other = counts.get(key)
            merged.append(value if other is None else (value or 0) + other)
        return merged

    def merge_latency(self, cache: Any, key: str, own: Any) -> Any:
        """The latency selector's map for a model group merged with every other instance's."""
        others = self._others(cache).latency.get(key)
        if not others or not isinstance(own, Mapping):
            return own
        return merge_latency_maps(own, others)

    # -- exchange (background thread) -------------------------------------------------------------------
    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="litellm-accel-routing-state", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.discover()
            except Exception as exc:  # never let the thread die; the picks still merge what is known
                logger.debug("litellm-accel routing: discovering routers failed: %s", exc)
            self.exchange_once()
            self._wake.wait(self.flush_seconds)
            self._wake.clear()

    def discover(self) -> None:
        """Register the routing cache of every stateful-strategy selector litellm has registered as a
        callback (routers built before or after install, including ones that never pick here but record
        usage), and withdraw participants whose router is gone or retired. litellm keeps one latency and one
        usage-v2 selector per process among its callbacks, so a router's absence from them only means
        "retired" when it was listed before (withdrawn after two discoveries without a pick, so leftover
        state stops counting); an unlisted router is withdrawn after ``ttl`` without a pick."""
        import litellm

        from litellm_accel_routing.shared_state_selectors import SELECTOR_TYPES

        live: dict[int, Any] = {}
        for callback in [*(litellm.callbacks or ()), *(litellm.input_callback or ())]:
            if isinstance(callback, SELECTOR_TYPES):
                cache = getattr(callback, "router_cache", None)
                if cache is not None:
                    live[id(cache)] = cache
        for cache in live.values():
            self.participant(cache)
        unlisted_limit = max(2, math.ceil(self.ttl_seconds / self.flush_seconds))
        for key, participant in list(self._participants.items()):
            cache = participant.cache_ref()
            if key in live:
                participant.listed = True
            if cache is not None and (key in live or participant.used):
                participant.idle = 0
            else:
                participant.idle += 1
            participant.used = False
            if cache is None or participant.idle >= (2 if participant.listed else unlisted_limit):
                self._forget(participant)

    def exchange_once(self) -> None:
        """Publish every participant's own state and read the others'. Errors are counted and logged once
        per outage; they never reach a pick."""
        for participant in list(self._participants.values()):
            cache = participant.cache_ref()
            if cache is None:
                self._forget(participant)
                continue
            try:
                args = [participant.pid, int(self.ttl_seconds * 1000), self.prefix, *own_state(cache)]
                reply = self._exchange(keys=[self._zset], args=args)
            except Exception as exc:
                self._count("shared_state_errors")
                if not self._failing:
                    logger.warning("litellm-accel routing: shared state exchange with Redis failed: %s", exc)
                self._failing = True
                continue
            participant.snapshot = parse_exchange(reply)
            if self._failing:
                logger.info("litellm-accel routing: shared state exchange with Redis works again")
                self._failing = False
            self._count("shared_state_exchanges")
            self._gauge("shared_state_peers", participant.snapshot.participants)

    def _forget(self, participant: Participant) -> None:
        with self._lock:
            for key, found in list(self._participants.items()):
                if found is participant:
                    del self._participants[key]
            self._gauge("shared_state_routers", len(self._participants))
        self._leave(participant.pid)

    def _leave(self, pid: str) -> None:
        try:
            self._leave_script(keys=[self._zset], args=[pid, self.prefix])
        except Exception as exc:  # the entry expires after ttl_seconds anyway
            logger.debug("litellm-accel routing: could not leave the shared state: %s", exc)

    def _new_client(self) -> None:
        self._instance = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._client = self._redis_module.Redis.from_url(
            self.redis_url, socket_timeout=self.timeout_seconds, socket_connect_timeout=self.timeout_seconds
        )
        self._exchange = self._client.register_script(_EXCHANGE)
        self._leave_script = self._client.register_script(_LEAVE)
        self._zset = f"{self.prefix}participants"

    def after_fork_in_child(self) -> None:
        """A forked child is a new instance: new participant ids, a new connection, and its own thread,
        started by its first pick (not at fork: a child that never routes publishes nothing)."""
        self._lock = threading.Lock()
        self._participants = {}
        self._thread = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        if not self._closed:
            self._new_client()

    def close(self) -> None:
        """Stop the thread, withdraw this process's participants from Redis (others stop counting their
        in-flight requests at once) and close the connection. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self.flush_seconds + 2 * self.timeout_seconds + 1)
        if not self._failing:  # with Redis down, the entries expire by themselves after ttl
            for participant in list(self._participants.values()):
                self._leave(participant.pid)
        self._participants = {}
        try:
            self._client.close()
        except Exception:  # closing a broken connection: nothing left to release
            pass
        _LIVE.discard(self)

    def _count(self, name: str) -> None:
        if self.metrics is not None:
            self.metrics.incr(name)

    def _gauge(self, name: str, value: float) -> None:
        if self.metrics is not None:
            self.metrics.set_gauge(name, value)


_LIVE: weakref.WeakSet[SharedRoutingState] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for state in list(_LIVE):
        state.after_fork_in_child()


def _close_all() -> None:
    for state in list(_LIVE):
        state.close()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_close_all)


__all__ = ["SharedRoutingState", "Snapshot", "merge_latency_maps", "own_state", "parse_exchange"]
