"""One endpoint's pool in one event loop: a bounded queue in front of a transport, stale-connection
retry, and per-request accounting.

The queue is a :class:`~litellm_accel_pool.slots.SlotQueue` of ``max_connections`` slots: with
HTTP/1.1 a request holds one connection from send until its response is closed, so at most
``max_connections`` sockets exist and the transport underneath never queues itself. Waiting for a
slot longer than ``pool_timeout`` raises :class:`~litellm_accel_pool.errors.PoolTimeoutError` (an
``httpx.PoolTimeout``), naming the endpoint and the limit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from litellm_accel_pool.aiohttp_transport import AiohttpTransport, AttemptTrace
from litellm_accel_pool.errors import PoolClosedError, PoolTimeoutError
from litellm_accel_pool.options import PoolOptions
from litellm_accel_pool.slots import SlotQueue
from litellm_accel_pool.stats import EndpointStats, PoolMetrics

logger = logging.getLogger("litellm_accel.pool")

#: Failures that mean "the connection was gone", as opposed to a slow or misbehaving server.
CONNECTION_GONE = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
#: Open sockets are counted (for ``connections_open`` / ``connections_closed``) every this many releases.
OPEN_COUNT_EVERY = 64


def describe_endpoint(key: tuple[str, str, int | None]) -> str:
    scheme, host, port = key
    return f"{scheme}://{host}" + (f":{port}" if port is not None else "")


def may_retry_stale(options: PoolOptions, request: httpx.Request, trace: AttemptTrace, exc: BaseException) -> bool:
    """Whether a failed attempt may be re-sent once on another connection.

    Only for a *reused* keep-alive connection that failed with a connection-gone error before any
    response byte arrived (the response was never returned) and a request body held in memory.
    ``retry_stale="unsent"`` additionally requires that the request headers were never written.
    """
    if options.retry_stale == "never" or not isinstance(exc, CONNECTION_GONE):
        return False
    if not trace.reused_connection or trace.fresh_connection:
        return False
    if options.retry_stale == "unsent" and trace.headers_sent:
        return False
    return isinstance(request.stream, httpx.ByteStream)


class _HttpcoreTrace:
    """httpcore's ``trace`` extension callback filling an :class:`AttemptTrace` (chains a caller's)."""

    __slots__ = ("attempt", "inner")

    def __init__(self, attempt: AttemptTrace, inner: Any) -> None:
        self.attempt = attempt
        self.inner = inner

    def _note(self, name: str) -> None:
        if name.startswith("connection.connect_tcp.complete") or name.startswith(
            "connection.connect_unix_socket.complete"
        ):
            self.attempt.fresh_connection = True
        elif name.endswith("send_request_headers.started"):
            if not self.attempt.fresh_connection:
                self.attempt.reused_connection = True
        elif name.endswith("send_request_headers.complete"):
            self.attempt.headers_sent = True

    async def __call__(self, name: str, info: dict[str, Any]) -> None:
        self._note(name)
        if self.inner is not None:
            await self.inner(name, info)

    def sync(self, name: str, info: dict[str, Any]) -> None:
        self._note(name)
        if self.inner is not None:
            self.inner(name, info)


class _ClosingStream(httpx.AsyncByteStream):
    """A response body whose one-shot transport is closed with it."""

    def __init__(self, inner: Any, transport: Any) -> None:
        self._inner = inner
        self._transport = transport

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            await self._transport.aclose()


class _ReleasingStream(httpx.AsyncByteStream):
    """A response body that gives the pool slot back exactly once when closed."""

    __slots__ = ("_inner", "_release")

    def __init__(self, inner: Any, release: Callable[[], None]) -> None:
        self._inner = inner
        self._release: Callable[[], None] | None = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()


def _httpx_limits(options: PoolOptions) -> httpx.Limits:
    return httpx.Limits(
        max_connections=options.max_connections,
        max_keepalive_connections=options.keepalive_limit,
        keepalive_expiry=options.keepalive_expiry,
    )


class _EndpointPoolBase:
    """What both endpoint pools keep: the endpoint, its options and TLS settings, stats and metrics."""

    def __init__(
        self,
        key: tuple[str, str, int | None],
        options: PoolOptions,
        verify: Any,
        cert: Any,
        metrics: PoolMetrics,
    ) -> None:
        self.key = key
        self.options = options
        self.stats = EndpointStats(describe_endpoint(key))
        self._metrics = metrics
        self._closed = False
        self._http2 = options.http2 and key[0] == "https"
        self._verify = verify
        self._cert = cert


class AsyncEndpointPool(_EndpointPoolBase):
    """Connections to one endpoint from one event loop."""

    def __init__(
        self,
        key: tuple[str, str, int | None],
        options: PoolOptions,
        verify: Any,
        cert: Any,
        metrics: PoolMetrics,
    ) -> None:
        _EndpointPoolBase.__init__(self, key, options, verify, cert, metrics)
        self._releases = 0
        # With HTTP/2 many requests share a connection, so httpcore's own pool does the limiting.
        self._slots = None if self._http2 else SlotQueue(options.max_connections)
        if options.transport == "aiohttp":
            self._aiohttp: AiohttpTransport | None = AiohttpTransport(
                limit=options.max_connections,
                keepalive_expiry=options.keepalive_expiry,
                ssl_setting=_aiohttp_ssl(verify),
            )
            self._httpx: httpx.AsyncHTTPTransport | None = None
        else:
            self._aiohttp = None
            self._httpx = httpx.AsyncHTTPTransport(
                verify=verify, cert=cert, http2=self._http2, limits=_httpx_limits(options)
            )
        metrics.endpoint_created()

    # -------------------------------------------------------------------------------- queue
    def _pool_timeout(self, request: httpx.Request) -> float | None:
        if self.options.pool_timeout is not None:
            return self.options.pool_timeout
        timeout = request.extensions.get("timeout") or {}
        return timeout.get("pool")

    async def _acquire(self, request: httpx.Request) -> None:
        slots = self._slots
        if slots is None or slots.take():
            return
        limit = self._pool_timeout(request)
        self._metrics.wait_started(self.stats)
        started = time.perf_counter()
        timed_out = False
        try:
            await slots.wait(limit)
        except TimeoutError:
            timed_out = True
            if self.stats.pool_timeouts == 0:
                logger.warning(
                    "litellm-accel pool: %s: requests waited more than %ss for a connection (max_connections=%d)",
                    self.stats.endpoint,
                    limit,
                    self.options.max_connections,
                )
            raise PoolTimeoutError(
                f"litellm-accel pool: no connection to {self.stats.endpoint} became free within {limit:g}s "
                f"(max_connections={self.options.max_connections}, {self.stats.in_use} in use, "
                f"{slots.waiting} more waiting); raise pool.options.max_connections or "
                f"pool_timeout, or send fewer concurrent requests",
                request=request,
            ) from None
        finally:
            self._metrics.wait_ended(self.stats, time.perf_counter() - started, timed_out)
        if self._closed:
            slots.give_back()
            raise PoolClosedError("litellm-accel pool was closed", request=request)

    def _release(self) -> None:
        if self._slots is not None:
            self._slots.give_back()
        self._metrics.released(self.stats)
        self._releases += 1
        if self._releases % OPEN_COUNT_EVERY == 0 or self.stats.in_use == 0:
            # counting open sockets walks the pool: done now and then, and whenever the pool goes idle
            self._metrics.sync_open(self.stats, self.open_connections())

    # -------------------------------------------------------------------------------- sending
    async def _send_once(self, request: httpx.Request, attempt: AttemptTrace) -> httpx.Response:
        if self._aiohttp is not None:
            response = await self._aiohttp.send(request, attempt, self._release)
        else:
            assert self._httpx is not None
            previous = request.extensions.get("trace")
            request.extensions["trace"] = _HttpcoreTrace(attempt, previous)
            try:
                response = await self._httpx.handle_async_request(request)
            finally:
                if previous is None:
                    request.extensions.pop("trace", None)
                else:
                    request.extensions["trace"] = previous
            response.stream = _ReleasingStream(response.stream, self._release)
        if attempt.fresh_connection:
            self._metrics.connection_opened(self.stats)
        else:
            self._metrics.connection_reused(self.stats)
        return response

    async def _send(self, request: httpx.Request) -> httpx.Response:
        attempt = AttemptTrace()
        try:
            return await self._send_once(request, attempt)
        except CONNECTION_GONE as exc:
            if attempt.fresh_connection:
                self._metrics.connection_opened(self.stats)
            elif attempt.reused_connection:
                self._metrics.connection_reused(self.stats)
            if not may_retry_stale(self.options, request, attempt, exc):
                raise
            self._metrics.stale_retry(self.stats)
            logger.debug(
                "litellm-accel pool: %s: stale keep-alive connection (%s); retrying once on a fresh one",
                self.stats.endpoint,
                exc,
            )
        return await self._send_fresh(request)

    async def _send_fresh(self, request: httpx.Request) -> httpx.Response:
        """Send on a connection opened for this request alone (closed with its response).

        Other idle connections of the pool may have been closed by the same server timer, so the
        retry must not take one of them. The request still holds its slot, so the socket count stays
        within ``max_connections``.
        """
        one_shot: Any
        if self._aiohttp is not None:
            one_shot = AiohttpTransport(limit=1, keepalive_expiry=1.0, ssl_setting=self._aiohttp._ssl, force_close=True)
            sender = one_shot.send(request, AttemptTrace())
        else:
            one_shot = httpx.AsyncHTTPTransport(
                verify=self._verify,
                cert=self._cert,
                http2=self._http2,
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=0),
            )
            sender = one_shot.handle_async_request(request)
        try:
            response = await sender
        except BaseException:
            await one_shot.aclose()
            raise
        self._metrics.connection_opened(self.stats)
        response.stream = _ReleasingStream(_ClosingStream(response.stream, one_shot), self._release)
        return response

    async def handle(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through this endpoint's pool; the slot is held until the response closes."""
        if self._closed:
            raise PoolClosedError("litellm-accel pool was closed", request=request)
        await self._acquire(request)
        self._metrics.acquired(self.stats)
        try:
            # the response's stream gives the slot back when it is closed
            return await self._send(request)
        except BaseException:
            self._release()
            raise

    # -------------------------------------------------------------------------------- lifecycle
    def open_connections(self) -> int:
        if self._aiohttp is not None:
            return self._aiohttp.open_connections()
        pool = getattr(self._httpx, "_pool", None)
        try:
            return sum(1 for conn in pool.connections if not conn.is_closed())  # type: ignore[union-attr]
        except (AttributeError, TypeError):
            return 0

    async def aclose(self) -> None:
        """Close every socket of this endpoint (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._aiohttp is not None:
                await self._aiohttp.aclose()
            elif self._httpx is not None:
                await self._httpx.aclose()
        finally:
            self._metrics.endpoint_closed(self.stats)

    def inherited_sockets(self) -> list[Any]:
        """Socket objects of the open connections (used after ``fork`` in the child)."""
        found: list[Any] = []
        try:
            if self._aiohttp is not None and self._aiohttp._session is not None:
                connector = self._aiohttp._session.connector
                protos = [p for conns in connector._conns.values() for p, _ in conns]  # type: ignore[union-attr]
                protos += list(connector._acquired)  # type: ignore[union-attr]
                for proto in protos:
                    transport = getattr(proto, "transport", None)
                    if transport is not None:
                        found.append(transport.get_extra_info("socket"))
            elif self._httpx is not None:
                for conn in self._httpx._pool.connections:
                    inner = getattr(conn, "_connection", None)
                    stream = getattr(inner, "_network_stream", None)
                    if stream is not None:
                        found.append(stream.get_extra_info("socket"))
        except (AttributeError, TypeError):
            pass
        return [s for s in found if s is not None]


def _aiohttp_ssl(verify: Any) -> Any:
    """aiohttp's ``ssl=`` for httpx's ``verify`` (an SSLContext, False, True or a CA bundle path)."""
    import ssl

    if isinstance(verify, ssl.SSLContext) or verify is False:
        return verify
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    return True


class _SyncClosingStream(httpx.SyncByteStream):
    """A synchronous response body whose one-shot transport is closed with it."""

    def __init__(self, inner: Any, transport: httpx.HTTPTransport) -> None:
        self._inner = inner
        self._transport = transport

    def __iter__(self) -> Any:
        yield from self._inner

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._transport.close()


class SyncEndpointPool(_EndpointPoolBase):
    """Connections to one endpoint for synchronous clients (shared by every thread of the process)."""

    def __init__(
        self,
        key: tuple[str, str, int | None],
        options: PoolOptions,
        verify: Any,
        cert: Any,
        metrics: PoolMetrics,
    ) -> None:
        _EndpointPoolBase.__init__(self, key, options, verify, cert, metrics)
        self._transport = httpx.HTTPTransport(
            verify=verify, cert=cert, http2=self._http2, limits=_httpx_limits(options)
        )
        metrics.endpoint_created()

    def _send_once(self, request: httpx.Request, attempt: AttemptTrace) -> httpx.Response:
        previous = request.extensions.get("trace")
        tracer = _HttpcoreTrace(attempt, previous)
        request.extensions["trace"] = tracer.sync
        timeout = dict(request.extensions.get("timeout") or {})
        if self.options.pool_timeout is not None:
            timeout["pool"] = self.options.pool_timeout
            request.extensions["timeout"] = timeout
        try:
            response = self._transport.handle_request(request)
        except httpx.PoolTimeout:
            self._metrics.pool_timeout(self.stats)
            raise PoolTimeoutError(
                f"litellm-accel pool: no connection to {self.stats.endpoint} became free within "
                f"{timeout.get('pool')}s (max_connections={self.options.max_connections})",
                request=request,
            ) from None
        finally:
            if previous is None:
                request.extensions.pop("trace", None)
            else:
                request.extensions["trace"] = previous
        if attempt.fresh_connection:
            self._metrics.connection_opened(self.stats)
        else:
            self._metrics.connection_reused(self.stats)
        return response

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise PoolClosedError("litellm-accel pool was closed", request=request)
        self.stats.requests += 1
        attempt = AttemptTrace()
        try:
            return self._send_once(request, attempt)
        except CONNECTION_GONE as exc:
            if attempt.fresh_connection:
                self._metrics.connection_opened(self.stats)
            if not may_retry_stale(self.options, request, attempt, exc):
                raise
            self._metrics.stale_retry(self.stats)
        return self._send_fresh(request)

    def _send_fresh(self, request: httpx.Request) -> httpx.Response:
        """Send on a connection opened for this request alone (see the async pool)."""
        one_shot = httpx.HTTPTransport(
            verify=self._verify,
            cert=self._cert,
            http2=self._http2,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=0),
        )
        try:
            response = one_shot.handle_request(request)
        except BaseException:
            one_shot.close()
            raise
        self._metrics.connection_opened(self.stats)
        response.stream = _SyncClosingStream(response.stream, one_shot)
        return response

    def open_connections(self) -> int:
        try:
            return sum(1 for conn in self._transport._pool.connections if not conn.is_closed())
        except (AttributeError, TypeError):
            return 0

    def inherited_sockets(self) -> list[Any]:
        """Socket objects of the open connections (used after ``fork`` in the child)."""
        found: list[Any] = []
        try:
            for conn in self._transport._pool.connections:
                stream = getattr(getattr(conn, "_connection", None), "_network_stream", None)
                if stream is not None:
                    found.append(stream.get_extra_info("socket"))
        except (AttributeError, TypeError):
            pass
        return [s for s in found if s is not None]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._transport.close()
        finally:
            self._metrics.endpoint_closed(self.stats)
