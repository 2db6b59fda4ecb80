"""TLS settings for HTTP/2 endpoint pools.

httpcore sets the ALPN protocols (``http/1.1`` and ``h2``) on the ``ssl.SSLContext`` it is given, before
every connect. litellm caches one context per CA bundle and hands the same object to every HTTP/1.1 client,
including its aiohttp transport, which cannot speak HTTP/2; if an HTTP/2 pool connected with that object,
every later stock litellm connection would offer ``h2`` too (and fail against a server that picks it).
litellm keeps a separate cached context for HTTP/2 clients (``get_ssl_configuration(..., http2=True)``);
:func:`http2_verify` swaps litellm's HTTP/1.1 context for that twin.
"""

from __future__ import annotations

import logging
import ssl
from typing import Any

logger = logging.getLogger("litellm_accel.pool")


def http2_verify(verify: Any) -> Any:
    """``verify`` to give an HTTP/2 httpx transport in place of ``verify``.

    ``True``, ``False`` and CA bundle paths are returned unchanged (httpx builds a new context from them
    for each transport). litellm's cached HTTP/1.1 context is replaced by litellm's HTTP/2 context for the
    same CA bundle, security level and ECDH curve (created and cached the way litellm does when missing).
    Any other ``SSLContext`` is the caller's own and is returned unchanged: httpx sets ALPN on it, as
    stock litellm's own HTTP/2 client does.
    """
    if not isinstance(verify, ssl.SSLContext):
        return verify
    try:
        from litellm.llms.custom_httpx import http_handler

        cache: dict[Any, ssl.SSLContext] = http_handler._ssl_context_cache
        create = http_handler._create_ssl_context
    except (ImportError, AttributeError):  # another litellm version: nothing cached to protect
        return verify
    for key, context in list(cache.items()):
        if context is not verify:
            continue
        if not (isinstance(key, tuple) and len(key) == 4 and key[3] is False):
            return verify  # already litellm's HTTP/2 context, or a cache layout this module does not know
        cafile, security_level, ecdh_curve, _ = key
        twin_key = (cafile, security_level, ecdh_curve, True)
        twin = cache.get(twin_key)
        if twin is None:
            twin = cache.setdefault(
                twin_key, create(cafile=cafile, ssl_security_level=security_level, ssl_ecdh_curve=ecdh_curve)
            )
        logger.debug("litellm-accel pool: HTTP/2 endpoints use litellm's HTTP/2 TLS context for %s", cafile)
        return twin
    return verify
