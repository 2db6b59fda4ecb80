"""Redis backend: every entry of a request decided by ONE ``EVALSHA`` of the decide script.

Keys are ``<key_prefix>:<scope>:<metric>...``; the default prefix is a Redis Cluster hash tag
(``{litellm-accel-rl}``), so all keys of a request live in one slot and one script can touch them all.
Sync callers use a ``redis.Redis`` client, async callers a ``redis.asyncio.Redis`` client per event loop.
Both clients have no retries and socket timeouts equal to the decision timeout: a failure surfaces
quickly as an exception, which the limiter turns into its failure policy.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import weakref
from collections.abc import Sequence
from typing import Any

from litellm_accel_ratelimit.lua import ADJUST, DECIDE
from litellm_accel_ratelimit.memory import Outcome, combine
from litellm_accel_ratelimit.scopes import Entry

_METRIC_FLAG = {"tokens": "t", "requests": "r", "concurrency": "c"}


def entry_args(e: Entry) -> tuple[str, str, str, str]:
    """The four ARGV values of one entry in the decide script."""
    return (e.kind, str(e.limit), repr(float(e.period)), _METRIC_FLAG[e.metric])


class RedisBackend:
    """Shared limit store on Redis (redis-py, sync and asyncio)."""

    name = "redis"

    def __init__(self, url: str, *, key_prefix: str, timeout_seconds: float, max_connections: int = 64) -> None:
        self.url = url
        self.max_connections = max_connections
        self.prefix = key_prefix + ":"
        self.timeout = timeout_seconds
        self.decide_sha = hashlib.sha1(DECIDE.encode()).hexdigest()
        self.adjust_sha = hashlib.sha1(ADJUST.encode()).hexdigest()
        self._specs: dict[Sequence[Entry], tuple[str, ...]] = {}
        self._sync: Any = None
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    # -- clients -----------------------------------------------------------------------------------
    def _client_kwargs(self) -> dict[str, Any]:
        return {
            "socket_timeout": self.timeout,
            "socket_connect_timeout": self.timeout,
            "retry_on_timeout": False,
            "health_check_interval": 0,
        }

    def sync_client(self) -> Any:
        if self._sync is None:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            with self._lock:
                if self._sync is None:
                    self._sync = redis.Redis.from_url(self.url, retry=Retry(NoBackoff(), 0), **self._client_kwargs())
        return self._sync

    def async_client(self) -> Any:
        loop = asyncio.get_running_loop()
        client = self._async.get(loop)
        if client is None:
            import redis.asyncio as aredis
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff

            pool = aredis.ConnectionPool.from_url(
                self.url,
                max_connections=self.max_connections,
                retry=Retry(NoBackoff(), 0),
                **self._client_kwargs(),
            )
            # A burst of tasks waits (within the timeout) for one of the pool's connections instead
            # of failing with "too many connections"; a semaphore is much cheaper than redis-py's
            # blocking pool when nobody has to wait.
            client = (aredis.Redis(connection_pool=pool), asyncio.Semaphore(self.max_connections))
            self._async[loop] = client
        return client

    # -- arguments ---------------------------------------------------------------------------------
    def _decide_call(
        self, entries: Sequence[Entry], tokens: int, slot_id: str | None, slot_ttl: float, charge: bool
    ) -> list[Any]:
        prefix = self.prefix
        args: list[Any] = [len(entries)]
        args.extend(prefix + e.key for e in entries)
        spec = self._specs.get(entries)
        if spec is None:
            spec = tuple(a for e in entries for a in entry_args(e))
            if len(self._specs) > 100_000:
                self._specs.clear()
            self._specs[entries] = spec
        args.extend((tokens, slot_id or "", slot_ttl, 1 if charge else 0))
        args.extend(spec)
        return args

    def _adjust_call(
        self,
        entries: Sequence[Entry],
        deltas: Sequence[float],
        window_starts: Sequence[float | None],
        slot_id: str | None,
    ) -> list[Any]:
        prefix = self.prefix
        args: list[Any] = [len(entries)]
        args.extend(prefix + e.key for e in entries)
        args.extend((len(entries), slot_id or ""))
        for e, delta, ws in zip(entries, deltas, window_starts, strict=True):
            args.extend(
                (e.kind, str(e.limit), repr(float(e.period)), repr(float(delta)), "" if ws is None else repr(ws))
            )
        return args

    @staticmethod
    def _outcome(entries: Sequence[Entry], reply: bytes | str) -> Outcome:
        text = reply.decode() if isinstance(reply, bytes) else reply
        results = []
        starts = []
        for part in text.split(";"):
            ok, rem, retry, ws = part.split(",")
            results.append((ok == "1", float(rem), float(retry)))
            starts.append(float(ws))
        return combine(entries, results, tuple(starts))

    # -- sync --------------------------------------------------------------------------------------
    def _evalsha_sync(self, sha: str, script: str, args: list[Any]) -> Any:
        from redis.exceptions import NoScriptError

        client = self.sync_client()
        try:
            return client.evalsha(sha, *args)
        except NoScriptError:
            client.script_load(script)
            return client.evalsha(sha, *args)

    def decide(
        self, entries: Sequence[Entry], tokens: int, slot_id: str | None, slot_ttl: float, *, charge: bool = True
    ) -> Outcome:
        reply = self._evalsha_sync(
            self.decide_sha, DECIDE, self._decide_call(entries, tokens, slot_id, slot_ttl, charge)
        )
        return self._outcome(entries, reply)

    def adjust(
        self,
        entries: Sequence[Entry],
        deltas: Sequence[float],
        window_starts: Sequence[float | None],
        slot_id: str | None,
    ) -> None:
        self._evalsha_sync(self.adjust_sha, ADJUST, self._adjust_call(entries, deltas, window_starts, slot_id))

    def preload(self) -> None:
        """Load both scripts now (best effort) so the first burst of requests finds them."""
        client = self.sync_client()
        client.script_load(DECIDE)
        client.script_load(ADJUST)

    def ping(self) -> bool:
        return bool(self.sync_client().ping())

    # -- async -------------------------------------------------------------------------------------
    async def _evalsha_async(self, sha: str, script: str, args: list[Any]) -> Any:
        from redis.exceptions import NoScriptError

        client, slots = self.async_client()
        if slots.locked():  # every connection busy: wait for one, within the timeout
            await asyncio.wait_for(slots.acquire(), self.timeout)
        else:
            await slots.acquire()
        try:
            try:
                return await client.evalsha(sha, *args)
            except NoScriptError:
                await client.script_load(script)
                return await client.evalsha(sha, *args)
        finally:
            slots.release()

    async def _bounded(self, sha: str, script: str, args: list[Any]) -> Any:
        # The client's socket timeouts bound the connect and every read (redis-py wraps each read
        # in a timeout), so no extra timer is armed on the fast path.
        return await self._evalsha_async(sha, script, args)

    async def decide_async(
        self, entries: Sequence[Entry], tokens: int, slot_id: str | None, slot_ttl: float, *, charge: bool = True
    ) -> Outcome:
        reply = await self._bounded(
            self.decide_sha, DECIDE, self._decide_call(entries, tokens, slot_id, slot_ttl, charge)
        )
        return self._outcome(entries, reply)

    async def adjust_async(
        self,
        entries: Sequence[Entry],
        deltas: Sequence[float],
        window_starts: Sequence[float | None],
        slot_id: str | None,
    ) -> None:
        await self._bounded(self.adjust_sha, ADJUST, self._adjust_call(entries, deltas, window_starts, slot_id))

    # -- lifecycle ---------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the sync client and drop the async ones (their sockets close with their loops)."""
        client, self._sync = self._sync, None
        if client is not None:
            try:
                client.close()
            except Exception:  # closing is best effort
                pass
        self._async = weakref.WeakKeyDictionary()
