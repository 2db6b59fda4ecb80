"""The built-in :class:`~litellm_accel.contracts.ConnectionPool`: shared, bounded HTTP connection pools.

One endpoint pool exists per (scheme, host, port, TLS settings) per event loop (plus one per endpoint
for synchronous clients). Every ``httpx.AsyncClient`` / ``httpx.Client`` handed out by
:meth:`BuiltinConnectionPool.async_client` / :meth:`sync_client` routes its requests into those pools,
so all litellm calls and all Router deployments that target the same endpoint share its sockets,
whatever their API key, timeout or retry settings.

Lifecycle, in the order things happen:

* An event loop's pools are created on the first request made in that loop and closed when the loop
  shuts down (``asyncio.run`` and ``asyncio.Runner`` call ``loop.shutdown_asyncgens()``, which runs a
  sentinel async generator's ``finally``), so no pool outlives its loop with open sockets.
* :meth:`close` (called by ``litellm_accel.uninstall()`` and at interpreter exit) closes every pool:
  in the loop that owns it when that loop runs in another thread, by running the loop when it is idle,
  or as a task when called from inside the loop itself (sockets are closed once the caller yields).
* After ``os.fork()`` the child forgets every pool it inherited (never sending on, nor closing, the
  parent's connections) and opens its own on first use.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import ssl
import threading
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx

from litellm_accel.contracts import ImplementationContext, UseStock
from litellm_accel_pool.endpoint import AsyncEndpointPool, SyncEndpointPool
from litellm_accel_pool.errors import PoolClosedError
from litellm_accel_pool.options import PoolOptions, parse_options
from litellm_accel_pool.stats import PoolMetrics
from litellm_accel_pool.tls import http2_verify

logger = logging.getLogger("litellm_accel.pool")

EndpointKey = tuple[int, str, str, "int | None"]
#: Seconds to wait for a pool owned by a loop in another thread to close.
CROSS_THREAD_CLOSE_TIMEOUT = 5.0


@dataclass(eq=False)
class TlsProfile:
    """The TLS settings of a family of endpoint pools (``verify`` as httpx takes it, client ``cert``)."""

    ident: int
    verify: Any
    cert: Any


@dataclass(eq=False)
class LoopPools:
    """Every endpoint pool of one event loop."""

    loop: asyncio.AbstractEventLoop
    endpoints: dict[EndpointKey, AsyncEndpointPool] = field(default_factory=dict)
    sentinel: Any = None
    closed: bool = False


async def _loop_sentinel(pool: BuiltinConnectionPool, state: LoopPools) -> AsyncIterator[None]:
    """Suspended for the loop's lifetime; ``loop.shutdown_asyncgens()`` runs the ``finally``."""
    try:
        yield
    finally:
        state.sentinel = None
        await pool._close_loop(state)


class PooledAsyncTransport(httpx.AsyncBaseTransport):
    """Routes each request to its endpoint pool in the running event loop. Shared by many clients,
    so closing a client does not close it; :meth:`BuiltinConnectionPool.close` does."""

    def __init__(self, pool: BuiltinConnectionPool, profile: TlsProfile) -> None:
        self._pool = pool
        self._profile = profile

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        pool = self._pool
        loop = asyncio.get_running_loop()
        state = pool._loops.get(loop)
        if state is None or state.closed:
            state = await pool._open_loop(loop, request)
        url = request.url
        # TLS settings only tell https endpoints apart; every plain-http client shares one pool per endpoint
        key = (self._profile.ident if url.scheme == "https" else -1, url.scheme, url.host, url.port)
        endpoint = state.endpoints.get(key)
        if endpoint is None:
            endpoint = pool._new_async_endpoint(state, key, self._profile)
        return await endpoint.handle(request)

    async def aclose(self) -> None:
        """Closing one client leaves the shared pools open."""


class PooledSyncTransport(httpx.BaseTransport):
    """Synchronous counterpart of :class:`PooledAsyncTransport` (pools shared by every thread)."""

    def __init__(self, pool: BuiltinConnectionPool, profile: TlsProfile) -> None:
        self._pool = pool
        self._profile = profile

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        key = (self._profile.ident if url.scheme == "https" else -1, url.scheme, url.host, url.port)
        endpoint = self._pool._sync.get(key)
        if endpoint is None:
            endpoint = self._pool._new_sync_endpoint(key, self._profile, request)
        return endpoint.handle(request)

    def close(self) -> None:
        """Closing one client leaves the shared pools open."""


_LIVE_POOLS: weakref.WeakSet[BuiltinConnectionPool] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for pool in list(_LIVE_POOLS):
        pool._forget_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _litellm_default_verify() -> Any:
    """The TLS setting litellm's OpenAI-SDK clients use (``True`` when litellm does not say)."""
    try:
        from litellm.llms.custom_httpx.http_handler import get_ssl_configuration

        return get_ssl_configuration()
    except Exception:
        return True


class BuiltinConnectionPool:
    """Shared per-endpoint, per-event-loop connection pools behind httpx's client API.

    Options (``pool.options``, validated by :class:`~litellm_accel_pool.options.PoolOptions`):
    ``max_connections``, ``max_keepalive``, ``keepalive_expiry``, ``pool_timeout``, ``transport``
    (``"aiohttp"`` or ``"httpx"``), ``http2``, ``prewarm``, ``prewarm_urls``, ``retry_stale``.
    """

    name: ClassVar[str] = "builtin"

    def __init__(self, context: ImplementationContext | None = None, *, options: PoolOptions | None = None) -> None:
        if options is None:
            options = parse_options(context.options if context is not None else {})
        self.options = options
        self._metrics = PoolMetrics(context.metrics if context is not None else None)
        self._lock = threading.RLock()
        self._profiles: dict[Any, TlsProfile] = {}
        self._async_transports: dict[int, PooledAsyncTransport] = {}
        self._sync_transports: dict[int, PooledSyncTransport] = {}
        self._loops: dict[asyncio.AbstractEventLoop, LoopPools] = {}
        self._sync: dict[EndpointKey, SyncEndpointPool] = {}
        self._orphans: list[Any] = []  # pools inherited across fork or left on closed loops: never touched
        self._closing_tasks: set[asyncio.Task[None]] = set()
        self._prewarmed_loops: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()
        self._closed = False
        self._pid = os.getpid()
        _LIVE_POOLS.add(self)
        atexit.register(self._close_at_exit)
        self._schedule_install_prewarm()

    # ------------------------------------------------------------------------------------ clients
    def _profile(self, verify: Any, cert: Any) -> TlsProfile:
        if self.options.http2:
            # httpcore writes ALPN into the context: never into litellm's shared HTTP/1.1 one
            verify = http2_verify(verify)
        verify_key = ("ctx", id(verify)) if isinstance(verify, ssl.SSLContext) else ("verify", verify)
        cert_key = tuple(cert) if isinstance(cert, (list, tuple)) else cert
        key = (verify_key, cert_key)
        profile = self._profiles.get(key)
        if profile is None:
            with self._lock:
                profile = self._profiles.get(key)
                if profile is None:
                    profile = TlsProfile(len(self._profiles), verify, cert)
                    self._profiles[key] = profile
        return profile

    def async_transport(self, *, verify: Any = True, cert: Any = None) -> PooledAsyncTransport:
        """The shared transport for these TLS settings (the same object for equal settings)."""
        profile = self._profile(verify, cert)
        transport = self._async_transports.get(profile.ident)
        if transport is None:
            transport = self._async_transports.setdefault(profile.ident, PooledAsyncTransport(self, profile))
        return transport

    def sync_transport(self, *, verify: Any = True, cert: Any = None) -> PooledSyncTransport:
        profile = self._profile(verify, cert)
        transport = self._sync_transports.get(profile.ident)
        if transport is None:
            transport = self._sync_transports.setdefault(profile.ident, PooledSyncTransport(self, profile))
        return transport

    def _check(self, cert: Any, http2: bool, asynchronous: bool) -> None:
        if self._closed:
            raise PoolClosedError("litellm-accel pool is closed")
        if http2 and not self.options.http2:
            raise UseStock  # stock litellm's HTTP/2 client; enable pool.options.http2 to pool it
        if cert is not None and asynchronous and self.options.transport == "aiohttp":
            raise UseStock  # client certificates: httpx transport only

    def async_client(
        self, *, verify: Any = True, cert: Any = None, http2: bool = False, **client_kwargs: Any
    ) -> httpx.AsyncClient:
        """A new, cheap ``httpx.AsyncClient`` whose requests go through the shared pools.

        ``client_kwargs`` are ``httpx.AsyncClient`` arguments (timeout, headers, event_hooks,
        follow_redirects, cookies...). Closing the client does not close the pools. Raises
        :class:`~litellm_accel.contracts.UseStock` when ``http2`` is asked for but not configured, or for
        a client certificate with the aiohttp transport.
        """
        self._check(cert, http2, True)
        client_kwargs.setdefault("trust_env", False)
        return httpx.AsyncClient(transport=self.async_transport(verify=verify, cert=cert), **client_kwargs)

    def sync_client(
        self, *, verify: Any = True, cert: Any = None, http2: bool = False, **client_kwargs: Any
    ) -> httpx.Client:
        """A new ``httpx.Client`` whose requests go through the shared synchronous pools."""
        self._check(cert, http2, False)
        client_kwargs.setdefault("trust_env", False)
        return httpx.Client(transport=self.sync_transport(verify=verify, cert=cert), **client_kwargs)

    def owns(self, client: Any) -> bool:
        """Whether ``client`` (an httpx client) sends through this pool."""
        transport = getattr(client, "_transport", None)
        return isinstance(transport, (PooledAsyncTransport, PooledSyncTransport)) and transport._pool is self

    # ------------------------------------------------------------------------------------ pools
    async def _open_loop(self, loop: asyncio.AbstractEventLoop, request: httpx.Request) -> LoopPools:
        if self._closed:
            raise PoolClosedError("litellm-accel pool is closed", request=request)
        with self._lock:
            state = self._loops.get(loop)
            if state is not None and not state.closed:
                return state
            for other in [s for s in self._loops.values() if s.loop.is_closed()]:
                # A loop closed without shutdown_asyncgens(): its sockets cannot be closed any more.
                logger.debug("litellm-accel pool: dropping pools of a loop closed without shutdown")
                self._orphans.append(other)
                del self._loops[other.loop]
            state = LoopPools(loop)
            self._loops[loop] = state
        sentinel = _loop_sentinel(self, state)
        state.sentinel = sentinel
        await sentinel.__anext__()  # runs to its yield at once; registers with the loop's asyncgen hooks
        self._schedule_prewarm(loop)
        return state

    def _new_async_endpoint(self, state: LoopPools, key: EndpointKey, profile: TlsProfile) -> AsyncEndpointPool:
        if state.closed or self._closed:
            raise PoolClosedError("litellm-accel pool is closed")
        endpoint = state.endpoints.get(key)
        if endpoint is None:
            endpoint = AsyncEndpointPool(key[1:], self.options, profile.verify, profile.cert, self._metrics)
            state.endpoints[key] = endpoint
        return endpoint

    def _new_sync_endpoint(self, key: EndpointKey, profile: TlsProfile, request: httpx.Request) -> SyncEndpointPool:
        with self._lock:
            if self._closed:
                raise PoolClosedError("litellm-accel pool is closed", request=request)
            endpoint = self._sync.get(key)
            if endpoint is None:
                endpoint = SyncEndpointPool(key[1:], self.options, profile.verify, profile.cert, self._metrics)
                self._sync[key] = endpoint
            return endpoint

    async def _shutdown_loop(self, state: LoopPools) -> None:
        """Close one loop's pools and finish its sentinel (nothing left for the garbage collector)."""
        await self._close_loop(state)
        sentinel, state.sentinel = state.sentinel, None
        if sentinel is not None:
            await sentinel.aclose()

    async def _close_loop(self, state: LoopPools) -> None:
        """Close one loop's pools; runs in that loop."""
        state.closed = True
        with self._lock:
            if self._loops.get(state.loop) is state:
                del self._loops[state.loop]
        endpoints = list(state.endpoints.values())
        state.endpoints.clear()
        for endpoint in endpoints:
            try:
                await endpoint.aclose()
            except Exception as exc:  # closing must go on for the other endpoints
                logger.debug("litellm-accel pool: closing %s failed: %s", endpoint.stats.endpoint, exc)

    # ------------------------------------------------------------------------------------ prewarm
    def _schedule_install_prewarm(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop yet: the first request in each loop pre-warms it
        self._schedule_prewarm(loop)

    def _schedule_prewarm(self, loop: asyncio.AbstractEventLoop) -> None:
        """Pre-warm ``prewarm_urls`` once per event loop, in the background."""
        if not (self.options.prewarm and self.options.prewarm_urls) or loop in self._prewarmed_loops:
            return
        self._prewarmed_loops.add(loop)
        task = loop.create_task(self._prewarm_all())
        self._closing_tasks.add(task)
        task.add_done_callback(self._closing_tasks.discard)

    async def _prewarm_all(self) -> None:
        for url in self.options.prewarm_urls:
            await self.prewarm(url, self.options.prewarm)

    async def prewarm(self, url: str, connections: int, *, verify: Any = None) -> int:
        """Open up to ``connections`` keep-alive connections to ``url``'s endpoint in this loop.

        Sends that many concurrent ``HEAD url`` requests (any status is fine: only the connection
        matters). ``verify`` defaults to litellm's own TLS configuration, so the connections land in the
        pool litellm's calls use. Returns how many succeeded; failures are logged, never raised.
        """
        if verify is None:
            verify = _litellm_default_verify()
        async with httpx.AsyncClient(transport=self.async_transport(verify=verify), trust_env=False) as client:
            results = await asyncio.gather(
                *(client.head(url, timeout=10.0) for _ in range(connections)), return_exceptions=True
            )
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            logger.warning(
                "litellm-accel pool: pre-warming %s: %d of %d failed (%s)", url, len(failures), connections, failures[0]
            )
        return connections - len(failures)

    # ------------------------------------------------------------------------------------ inspection
    def stats(self) -> dict[str, Any]:
        """Per-endpoint counters of the open pools and the totals (see ``docs/pool.md``)."""
        endpoints: list[dict[str, Any]] = []
        for state in list(self._loops.values()):
            for endpoint in list(state.endpoints.values()):
                self._metrics.sync_open(endpoint.stats, endpoint.open_connections())
                endpoints.append({**endpoint.stats.as_dict(), "mode": "async"})
        for sync_endpoint in list(self._sync.values()):
            self._metrics.sync_open(sync_endpoint.stats, sync_endpoint.open_connections())
            endpoints.append({**sync_endpoint.stats.as_dict(), "mode": "sync"})
        totals: dict[str, Any] = {}
        for row in endpoints:
            for name, value in row.items():
                if isinstance(value, (int, float)) and name != "max_wait_ms":
                    totals[name] = totals.get(name, 0) + value
        return {"endpoints": endpoints, "totals": totals, "loops": len(self._loops)}

    # ------------------------------------------------------------------------------------ closing
    def close(self) -> None:
        """Close every pool and socket (idempotent). See the module docstring for where it runs."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self._close_at_exit)
        with self._lock:
            states = list(self._loops.values())
            sync_endpoints = list(self._sync.values())
            self._sync.clear()
        for endpoint in sync_endpoints:
            try:
                endpoint.close()
            except Exception as exc:
                logger.debug("litellm-accel pool: closing %s failed: %s", endpoint.stats.endpoint, exc)
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        for state in states:
            self._close_loop_from_outside(state, current)

    def _close_loop_from_outside(self, state: LoopPools, current: asyncio.AbstractEventLoop | None) -> None:
        loop = state.loop
        if state.closed:
            return
        if loop.is_closed():
            state.closed = True
            self._orphans.append(state)
            return
        if loop is current:
            # Inside the loop: mark closed now (no new requests), close the sockets as soon as we yield.
            state.closed = True
            task = loop.create_task(self._shutdown_loop(state))
            self._closing_tasks.add(task)
            task.add_done_callback(self._closing_tasks.discard)
            return
        if loop.is_running():
            future = asyncio.run_coroutine_threadsafe(self._shutdown_loop(state), loop)
            try:
                future.result(CROSS_THREAD_CLOSE_TIMEOUT)
            except Exception as exc:
                logger.warning("litellm-accel pool: could not close the pools of a loop in another thread: %s", exc)
            return
        try:
            loop.run_until_complete(self._shutdown_loop(state))
        except Exception as exc:
            logger.warning("litellm-accel pool: could not close the pools of an idle loop: %s", exc)

    async def aclose(self) -> None:
        """Close every pool, awaiting the running loop's sockets (use inside async code)."""
        current = asyncio.get_running_loop()
        state = self._loops.get(current)
        self.close()
        if state is not None:
            await self._shutdown_loop(state)
        pending = [t for t in self._closing_tasks if t.get_loop() is current]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    def _close_at_exit(self) -> None:
        try:
            self.close()
        except Exception as exc:  # never fail interpreter exit
            logger.debug("litellm-accel pool: close at exit failed: %s", exc)

    def _forget_after_fork(self) -> None:
        """In a forked child: never use (nor close) the parent's connections; start empty."""
        if self._pid == os.getpid():
            return
        self._pid = os.getpid()
        self._lock = threading.RLock()
        self._orphans.extend(self._loops.values())
        for endpoint in self._sync.values():
            # Plain sockets of synchronous pools: closing the child's copy sends nothing to the peer
            # while the parent still holds its own, and frees the descriptor.
            for sock in endpoint.inherited_sockets():
                try:
                    sock.close()
                except OSError:
                    pass
            self._orphans.append(endpoint)
        self._loops = {}
        self._sync = {}
        self._closing_tasks = set()
        self._prewarmed_loops = weakref.WeakSet()
