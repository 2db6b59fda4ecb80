"""Redis backend: every entry of a request decided by ONE ``EVALSHA`` of the decide script.

Keys are ``<key_prefix>:<scope>:<metric>...``; the default prefix is a Redis Cluster hash tag
(``{litellm-accel-rl}``), so all keys of a request live in one slot and one script can touch them all.
Sync callers use a ``redis.Redis`` client, async callers a ``redis.asyncio.Redis`` client per event loop.
Both clients have no retries and socket timeouts equal to the decision timeout: a failure surfaces
quickly as an exception, which the limiter turns into its failure policy.

The hot calls (decide, adjust) skip redis-py's command layer: the ``EVALSHA`` of a set of entries is
packed once into bytes (command, sha, keys, per-entry spec) and only the four per-call values are
encoded per call; it is written with ``Connection.send_packed_command`` and read with
``Connection.read_response`` on connections this backend keeps itself (public redis-py connection
API). A connection that fails or is interrupted in any way is disconnected and dropped, never reused
with a reply pending. Async connections have no socket timeout of their own: one
``asyncio.timeout`` bounds the whole call (connect, write and read), which avoids the task that
redis-py's timed write creates per command.
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

try:  # Python >= 3.11
    from asyncio import timeout as _async_timeout
except ImportError:  # pragma: no cover - Python 3.10: the backport redis-py depends on there
    from async_timeout import timeout as _async_timeout  # type: ignore[no-redef]

_METRIC_FLAG = {"tokens": "t", "requests": "r", "concurrency": "c"}


def _bulk(value: bytes) -> bytes:
    """One RESP bulk string."""
    return b"$%d\r\n%s\r\n" % (len(value), value)


def _encode(value: Any) -> bytes:
    """An argument encoded as redis-py's ``Encoder.encode`` does (str as UTF-8, int and float by
    ``repr``; bool and other types are refused, with redis-py's own error)."""
    kind = type(value)
    if kind is str:
        return value.encode()
    if kind is int or kind is float:
        return repr(value).encode()
    from redis._parsers.encoders import Encoder

    return bytes(Encoder("utf-8", "strict", False).encode(value))


class _PackedCall:
    """The decide ``EVALSHA`` of one entries tuple, encoded in advance: everything but ARGV[1..4]
    (tokens, slot id, slot TTL, charge), which :meth:`pack` / :meth:`args` add per call."""

    __slots__ = ("entries", "head", "keys", "spec", "tail")

    def __init__(self, entries: Sequence[Entry], sha: str, keys: list[bytes], spec: list[bytes]) -> None:
        self.entries = entries  # held so that the id() this is cached under stays this tuple's
        self.keys = keys  #: numkeys and the keys, encoded
        self.spec = spec  #: the per-entry ARGV, encoded
        fixed = [b"EVALSHA", sha.encode(), *keys]
        self.head = b"*%d\r\n" % (len(fixed) + 4 + len(spec)) + b"".join(_bulk(a) for a in fixed)
        self.tail = b"".join(_bulk(a) for a in spec)

    def pack(self, tokens: int, slot_id: str | None, slot_ttl: float, charge: bool) -> bytes:
        """The whole command in RESP, ready to write."""
        return b"".join(
            (
                self.head,
                _bulk(_encode(tokens)),
                _bulk(_encode(slot_id or "")),
                _bulk(_encode(slot_ttl)),
                b"$1\r\n1\r\n" if charge else b"$1\r\n0\r\n",
                self.tail,
            )
        )

    def args(self, tokens: int, slot_id: str | None, slot_ttl: float, charge: bool) -> list[Any]:
        """The arguments after the sha, for redis-py's ``evalsha``."""
        # numkeys as an int (what redis-py's signature expects), the rest pre-encoded.
        return [len(self.entries), *self.keys[1:], tokens, slot_id or "", slot_ttl, 1 if charge else 0, *self.spec]


class _AsyncConnections:
    """The connections of one event loop: idle ones, and a semaphore bounding how many exist."""

    __slots__ = ("idle", "make", "slots")

    def __init__(self, make: Any, max_connections: int) -> None:
        self.make = make
        self.idle: list[Any] = []
        self.slots = asyncio.Semaphore(max_connections)


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
        self._packed: dict[int, _PackedCall] = {}
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

    def async_client(self) -> _AsyncConnections:
        """This event loop's connections (created on first use)."""
        loop = asyncio.get_running_loop()
        conns = self._async.get(loop)
        if conns is None:
            import redis.asyncio as aredis
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff

            kwargs = self._client_kwargs()
            kwargs["socket_timeout"] = None  # the call's asyncio.timeout bounds every read and write
            pool = aredis.ConnectionPool.from_url(
                self.url, max_connections=self.max_connections, retry=Retry(NoBackoff(), 0), **kwargs
            )
            # A burst of tasks waits (within the timeout) for a connection instead of failing with
            # "too many connections"; a semaphore is much cheaper than redis-py's blocking pool.
            conns = _AsyncConnections(pool.make_connection, self.max_connections)
            self._async[loop] = conns
        return conns

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

    def _packed_decide(self, entries: Sequence[Entry]) -> _PackedCall:
        """The decide ``EVALSHA`` of ``entries``, packed once per entries tuple."""
        found = self._packed.get(id(entries))
        if found is not None and found.entries is entries:
            return found
        args = self._decide_call(entries, 0, None, 0, True)
        n = len(entries)
        found = _PackedCall(
            entries, self.decide_sha, [_encode(a) for a in args[: n + 1]], [_encode(a) for a in args[n + 5 :]]
        )
        if len(self._packed) > 100_000:
            self._packed.clear()
        self._packed[id(entries)] = found
        return found

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
    def _evalsha_sync(self, sha: str, script: str, args: Sequence[Any]) -> Any:
        # Sync callers keep redis-py's command layer (thread-safe pool, one ``EVALSHA``); the
        # arguments come pre-encoded, which redis-py passes through as they are.
        from redis.exceptions import NoScriptError

        client = self.sync_client()
        try:
            return client.evalsha(sha, *args)
        except NoScriptError:
            client.script_load(script)
            return client.evalsha(sha, *args)

    @staticmethod
    def _pack(args: Sequence[Any]) -> list[bytes]:
        return [b"*%d\r\n" % len(args), *(_bulk(_encode(a)) for a in args)]

    def decide(
        self, entries: Sequence[Entry], tokens: int, slot_id: str | None, slot_ttl: float, *, charge: bool = True
    ) -> Outcome:
        args = self._packed_decide(entries).args(tokens, slot_id, slot_ttl, charge)
        return self._outcome(entries, self._evalsha_sync(self.decide_sha, DECIDE, args))

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
    async def _command_async(self, conns: _AsyncConnections, packed: bytes) -> Any:
        """Send one packed command and read its reply on one of the loop's connections (the
        caller holds one of ``conns.slots``)."""
        from redis.exceptions import ResponseError

        idle = conns.idle
        conn = idle.pop() if idle else conns.make()
        try:
            await conn.send_packed_command(packed, check_health=False)
            reply = await conn.read_response()
        except ResponseError:
            idle.append(conn)  # a whole error reply was read: the connection is clean
            raise
        except BaseException:
            # Timeout, cancellation, I/O error: a reply may be pending, so never reuse it.
            await conn.disconnect(nowait=True)
            raise
        idle.append(conn)
        return reply

    async def _evalsha_async(self, sha: str, script: str, args: list[Any], packed: bytes | None = None) -> Any:
        from redis.exceptions import NoScriptError

        if packed is None:
            packed = b"".join(self._pack(("EVALSHA", sha, *args)))
        conns = self.async_client()
        slots = conns.slots
        # One timer bounds the whole call: the wait for a connection, connect, write and read.
        async with _async_timeout(self.timeout):
            await slots.acquire()
            try:
                try:
                    return await self._command_async(conns, packed)
                except NoScriptError:
                    await self._command_async(conns, b"".join(self._pack(("SCRIPT", "LOAD", script))))
                    return await self._command_async(conns, packed)
            finally:
                slots.release()

    async def decide_async(
        self, entries: Sequence[Entry], tokens: int, slot_id: str | None, slot_ttl: float, *, charge: bool = True
    ) -> Outcome:
        packed = self._packed_decide(entries).pack(tokens, slot_id, slot_ttl, charge)
        return self._outcome(entries, await self._evalsha_async(self.decide_sha, DECIDE, [], packed))

    async def adjust_async(
        self,
        entries: Sequence[Entry],
        deltas: Sequence[float],
        window_starts: Sequence[float | None],
        slot_id: str | None,
    ) -> None:
        await self._evalsha_async(self.adjust_sha, ADJUST, self._adjust_call(entries, deltas, window_starts, slot_id))

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
