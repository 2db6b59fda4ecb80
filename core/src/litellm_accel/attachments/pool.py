"""Connection pools: litellm's HTTP clients are built around the selected pool's shared transports.

litellm builds its HTTP clients in two places, both looked up at call time:

* ``BaseOpenAILLM._get_async_http_client`` / ``_get_sync_http_client`` (static methods): the httpx
  client handed to every ``AsyncOpenAI`` / ``OpenAI`` SDK client (OpenAI, Azure and every
  OpenAI-compatible provider), which litellm then caches in ``litellm.in_memory_llm_clients_cache``.
* ``AsyncHTTPHandler.create_client`` / ``HTTPHandler.create_client``: the httpx client of litellm's own
  handlers (``get_async_httpx_client``), used by the providers litellm speaks to directly.

Both are replaced (through the patcher, inside the guard) by functions that return the pool's client
with the same TLS settings, headers, cookies, timeouts and redirect policy stock would use. Whatever
a caller or a Router deployment chose explicitly still wins, because those inputs are handed to stock:
a user-set ``litellm.aclient_session`` / ``client_session``, a ``shared_session`` (aiohttp) passed per
call or in a deployment's ``litellm_params``, a handler built with its own transport, and a ``client=``
(which never reaches these functions). Environment proxies, ``litellm.force_ipv4``, client
certificates' absence of support and HTTP/2 requests the pool is not configured for go to stock too.

Cached clients: on attach, litellm-built clients already in ``in_memory_llm_clients_cache`` are evicted
(litellm closes evicted clients itself after a grace window) so new calls reach the pool; on detach,
every cached client that sends through the pool is evicted before the pool closes.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
from typing import Any

from litellm_accel.attachments.base import Attachment
from litellm_accel.contracts.common import UseStock
from litellm_accel.guard import Guard
from litellm_accel.patching import Patcher

logger = logging.getLogger("litellm_accel.pool")

OPENAI_MODULE = "litellm.llms.openai.common_utils"
HANDLER_MODULE = "litellm.llms.custom_httpx.http_handler"
#: Helpers of the handler module the replacement needs (stock's own values are reused).
HANDLER_HELPERS = (
    "get_ssl_configuration",
    "get_default_headers",
    "blocked_cookie_jar",
    "http2_enabled",
    "get_environment_proxies",
    "_DEFAULT_TIMEOUT",
)
EXPECTED = {
    ("BaseOpenAILLM", "_get_async_http_client"): ("shared_session",),
    ("BaseOpenAILLM", "_get_sync_http_client"): (),
    ("AsyncHTTPHandler", "create_client"): ("self", "timeout", "event_hooks", "ssl_verify", "shared_session"),
    ("HTTPHandler", "create_client"): ("self",),
}


def _same_kind(accel: Any, stock: Any) -> bool:
    """Shadow-mode comparison: both answers are clients of the same httpx class."""
    return type(accel) is type(stock)


class ConnectionPoolAttachment(Attachment):
    feature = "pool"

    def problems(self) -> list[str]:
        problems: list[str] = []
        try:
            openai_utils = importlib.import_module(OPENAI_MODULE)
            handler_module = importlib.import_module(HANDLER_MODULE)
        except ImportError as exc:
            return [f"litellm HTTP client modules not importable ({exc})"]
        owners = {"BaseOpenAILLM": openai_utils, "AsyncHTTPHandler": handler_module, "HTTPHandler": handler_module}
        for (class_name, attribute), params in EXPECTED.items():
            cls = getattr(owners[class_name], class_name, None)
            raw = None if cls is None else cls.__dict__.get(attribute)
            function = raw.__func__ if isinstance(raw, staticmethod) else raw
            if not inspect.isfunction(function):
                problems.append(f"{class_name}.{attribute} not found")
                continue
            found = tuple(inspect.signature(function).parameters)
            if found != params:
                problems.append(f"{class_name}.{attribute} signature changed: {list(found)} (expected {list(params)})")
            if class_name == "BaseOpenAILLM" and not isinstance(raw, staticmethod):
                problems.append(f"{class_name}.{attribute} is no longer a staticmethod")
        for helper in HANDLER_HELPERS:
            if not hasattr(handler_module, helper):
                problems.append(f"{HANDLER_MODULE}.{helper} not found")
        import litellm

        for setting in ("aclient_session", "client_session", "force_ipv4", "in_memory_llm_clients_cache"):
            if not hasattr(litellm, setting):
                problems.append(f"litellm.{setting} not found")
        return problems

    # ------------------------------------------------------------------------------------------
    def attach(self, implementation: Any, guard: Guard, patcher: Patcher) -> None:
        import litellm

        openai_utils = importlib.import_module(OPENAI_MODULE)
        hh = importlib.import_module(HANDLER_MODULE)
        base = openai_utils.BaseOpenAILLM
        async_handler, sync_handler = hh.AsyncHTTPHandler, hh.HTTPHandler
        pool = implementation

        def stock_only_reason(want_http2: bool) -> str | None:
            if litellm.force_ipv4:
                return "force_ipv4"
            if hh.get_environment_proxies():
                return "environment proxies"
            if want_http2 or hh.http2_enabled():
                return "http2"  # the pool raises UseStock itself unless configured for HTTP/2
            return None

        def client_cert() -> Any:
            return os.getenv("SSL_CERTIFICATE", litellm.ssl_certificate)

        def openai_async_http_client(shared_session: Any = None) -> Any:
            if shared_session is not None or litellm.aclient_session is not None:
                raise UseStock  # the caller's / deployment's session wins
            if getattr(litellm, "network_mock", False):
                raise UseStock
            reason = stock_only_reason(False)
            if reason not in (None, "http2"):
                raise UseStock
            return pool.async_client(verify=hh.get_ssl_configuration(), follow_redirects=True, http2=reason == "http2")

        def openai_sync_http_client() -> Any:
            if litellm.client_session is not None or getattr(litellm, "network_mock", False):
                raise UseStock
            reason = stock_only_reason(False)
            if reason not in (None, "http2"):
                raise UseStock
            return pool.sync_client(verify=hh.get_ssl_configuration(), follow_redirects=True, http2=reason == "http2")

        def handler_create_client(
            handler: Any, timeout: Any, event_hooks: Any, ssl_verify: Any = None, shared_session: Any = None
        ) -> Any:
            if handler.transport is not None or shared_session is not None:
                raise UseStock
            reason = stock_only_reason(bool(handler.http2))
            if reason not in (None, "http2"):
                raise UseStock
            http2 = reason == "http2"
            return pool.async_client(
                verify=hh.get_ssl_configuration(ssl_verify, http2=http2),
                cert=client_cert(),
                http2=http2,
                timeout=timeout if timeout is not None else hh._DEFAULT_TIMEOUT,
                event_hooks=event_hooks,
                headers=hh.get_default_headers(),
                cookies=hh.blocked_cookie_jar(),
                follow_redirects=handler.follow_redirects,
            )

        def sync_handler_create_client(handler: Any) -> Any:
            reason = stock_only_reason(False)
            if reason not in (None, "http2"):
                raise UseStock
            http2 = reason == "http2"
            return pool.sync_client(
                verify=hh.get_ssl_configuration(handler.ssl_verify, http2=http2),
                cert=client_cert(),
                http2=http2,
                timeout=handler.timeout if handler.timeout is not None else hh._DEFAULT_TIMEOUT,
                headers=hh.get_default_headers() if not handler.disable_default_headers else None,
                cookies=hh.blocked_cookie_jar(),
                follow_redirects=handler.follow_redirects,
            )

        stock_async = base.__dict__["_get_async_http_client"].__func__
        stock_sync = base.__dict__["_get_sync_http_client"].__func__
        patcher.set(
            base,
            "_get_async_http_client",
            staticmethod(guard.wrap(openai_async_http_client, stock_async, compare=_same_kind)),
        )
        patcher.set(
            base,
            "_get_sync_http_client",
            staticmethod(guard.wrap(openai_sync_http_client, stock_sync, compare=_same_kind)),
        )
        patcher.set(
            async_handler,
            "create_client",
            guard.wrap(handler_create_client, async_handler.__dict__["create_client"], compare=_same_kind),
        )
        patcher.set(
            sync_handler,
            "create_client",
            guard.wrap(sync_handler_create_client, sync_handler.__dict__["create_client"], compare=_same_kind),
        )
        evicted = _evict_cached_clients(lambda client: not pool.owns(client))
        if evicted:
            logger.info("litellm-accel pool: evicted %d cached litellm client(s) so they use the pool", evicted)

    def detach(self, implementation: Any) -> None:
        _evict_cached_clients(implementation.owns)


def _http_client_of(value: Any) -> Any:
    """The httpx client inside a cached OpenAI SDK client or litellm handler (``None`` if none)."""
    import httpx

    client = getattr(value, "_client", None)
    return client if isinstance(client, (httpx.AsyncClient, httpx.Client)) else None


def _evict_cached_clients(matches: Any) -> int:
    """Evict ``litellm.in_memory_llm_clients_cache`` entries whose httpx client ``matches``."""
    import litellm

    cache = getattr(litellm, "in_memory_llm_clients_cache", None)
    cache_dict = getattr(cache, "cache_dict", None)
    if cache is None or not isinstance(cache_dict, dict):
        return 0
    evicted = 0
    for key, value in list(cache_dict.items()):
        client = _http_client_of(value)
        if client is not None and matches(client):
            cache.delete_cache(key)
            evicted += 1
    return evicted
