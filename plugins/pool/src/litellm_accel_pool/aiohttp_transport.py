"""An httpx transport that sends requests through one aiohttp ``ClientSession`` (HTTP/1.1).

httpx's client API stays in front (litellm and the OpenAI SDK keep calling ``httpx.AsyncClient``),
while aiohttp's C-accelerated HTTP parser and connector do the I/O, which serves several times more
requests per second than httpcore on the same loop. Response bodies are handed back undecoded
(``auto_decompress=False``) so httpx applies ``Content-Encoding`` exactly as it does for its own
transport. aiohttp errors are mapped to the httpx exception httpx would raise for the same failure.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx

_HTTP11 = b"HTTP/1.1"


@dataclass
class AttemptTrace:
    """What happened to the connection of one request attempt (filled by aiohttp's trace signals)."""

    fresh_connection: bool = False
    reused_connection: bool = False
    headers_sent: bool = False


async def _on_create_end(_s: Any, ctx: Any, _p: Any) -> None:
    trace = ctx.trace_request_ctx
    if isinstance(trace, AttemptTrace):
        trace.fresh_connection = True


async def _on_reuse(_s: Any, ctx: Any, _p: Any) -> None:
    trace = ctx.trace_request_ctx
    if isinstance(trace, AttemptTrace):
        trace.reused_connection = True


async def _on_headers_sent(_s: Any, ctx: Any, _p: Any) -> None:
    trace = ctx.trace_request_ctx
    if isinstance(trace, AttemptTrace):
        trace.headers_sent = True


def _trace_config() -> aiohttp.TraceConfig:
    config = aiohttp.TraceConfig()
    config.on_connection_create_end.append(_on_create_end)
    config.on_connection_reuseconn.append(_on_reuse)
    config.on_request_headers_sent.append(_on_headers_sent)
    config.freeze()
    return config


class AiohttpResponseStream(httpx.AsyncByteStream):
    """The body of an aiohttp response, read as it arrives; closing it returns the connection."""

    __slots__ = ("_on_close", "_request", "_response")

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request, on_close: Any = None) -> None:
        self._response = response
        self._request = request
        self._on_close = on_close

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except BaseException as exc:
            mapped = map_aiohttp_error(exc, self._request, reading=True)
            if mapped is exc:
                raise
            raise mapped from exc

    async def aclose(self) -> None:
        # release() keeps the connection for reuse when the body was read to the end, else closes it.
        try:
            self._response.release()
        finally:
            on_close, self._on_close = self._on_close, None
            if on_close is not None:
                on_close()


def map_aiohttp_error(exc: BaseException, request: httpx.Request, *, reading: bool = False) -> BaseException:
    """The httpx exception httpx's own transport raises for the failure ``exc`` (or ``exc`` itself)."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(str(exc) or "connect timed out", request=request)
    if isinstance(exc, (aiohttp.ServerTimeoutError, asyncio.TimeoutError, TimeoutError)):
        return httpx.ReadTimeout(str(exc) or "read timed out", request=request)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(str(exc), request=request)
    if isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError)):
        return httpx.RemoteProtocolError(str(exc) or "Server disconnected", request=request)
    if isinstance(exc, aiohttp.ClientResponseError):
        return httpx.RemoteProtocolError(str(exc), request=request)
    if isinstance(exc, (aiohttp.ClientOSError, ConnectionError)):
        error_type = httpx.ReadError if reading else httpx.WriteError
        return error_type(str(exc), request=request)
    if isinstance(exc, aiohttp.ClientError):
        return httpx.TransportError(str(exc), request=request)
    return exc


_TIMEOUTS: dict[tuple[Any, Any], aiohttp.ClientTimeout] = {}


def _timeout(request: httpx.Request) -> aiohttp.ClientTimeout:
    """httpx's per-request timeouts as aiohttp's (the pool wait is enforced by the endpoint pool)."""
    spec = request.extensions.get("timeout") or {}
    key = (spec.get("connect"), spec.get("read"))
    timeout = _TIMEOUTS.get(key)
    if timeout is None:
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=key[0], sock_read=key[1])
        if len(_TIMEOUTS) < 256:  # a handful of distinct timeouts in practice
            _TIMEOUTS[key] = timeout
    return timeout


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One endpoint's aiohttp session behind httpx's transport interface.

    Create and use it inside one event loop; the session is created on first use. ``limit`` bounds
    the sockets, ``keepalive_expiry`` how long idle sockets are kept.
    """

    def __init__(
        self,
        *,
        limit: int,
        keepalive_expiry: float,
        ssl_setting: bool | ssl.SSLContext,
        force_close: bool = False,
    ) -> None:
        self._limit = limit
        self._force_close = force_close
        self._keepalive_expiry = keepalive_expiry
        self._ssl = ssl_setting
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    def _new_session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._limit,
            limit_per_host=0,
            keepalive_timeout=None if self._force_close else self._keepalive_expiry,
            force_close=self._force_close,
            ssl=self._ssl,
            ttl_dns_cache=300,
        )
        return aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept", "Content-Type"),
            # aiohttp's trace signals (a few µs per request) tell fresh from reused connections exactly
            trace_configs=[_trace_config()],
            timeout=aiohttp.ClientTimeout(total=None),
        )

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            if self._closed:
                raise httpx.TransportError("transport is closed")
            self._session = self._new_session()
        return self._session

    def open_connections(self) -> int:
        """Sockets the connector holds (idle plus in use); aiohttp internals, 0 when unknown."""
        session = self._session
        if session is None:
            return 0
        connector = session.connector
        try:
            idle = sum(len(conns) for conns in connector._conns.values())  # type: ignore[union-attr]
            return idle + len(connector._acquired)  # type: ignore[union-attr]
        except (AttributeError, TypeError):
            return 0

    async def send(self, request: httpx.Request, trace: AttemptTrace, on_close: Any = None) -> httpx.Response:
        """Send ``request`` once; ``trace`` records whether the connection was fresh or reused.

        ``on_close`` is called once when the response is closed.
        """
        body = await request.aread()
        try:
            response = await self.session.request(
                request.method,
                str(request.url),
                headers=request.headers.multi_items(),
                data=body if body else None,
                allow_redirects=False,
                compress=None,
                timeout=_timeout(request),
                trace_request_ctx=trace,
            )
        except BaseException as exc:
            mapped = map_aiohttp_error(exc, request)
            if mapped is exc:
                raise
            raise mapped from exc
        return httpx.Response(
            status_code=response.status,
            headers=list(response.raw_headers),
            stream=AiohttpResponseStream(response, request, on_close),
            extensions={"http_version": _HTTP11, "reason_phrase": (response.reason or "").encode("latin-1")},
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.send(request, AttemptTrace())

    async def aclose(self) -> None:
        self._closed = True
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()
