"""Errors raised by the pool. They subclass httpx's so litellm and the OpenAI SDK map them as usual
(a queue timeout becomes ``openai.APITimeoutError`` and then ``litellm.Timeout``)."""

from __future__ import annotations

import httpx


class PoolTimeoutError(httpx.PoolTimeout):
    """No connection to the endpoint became free within ``pool_timeout`` seconds."""


class PoolClosedError(httpx.TransportError):
    """The pool was closed (``uninstall()`` or interpreter exit) while a request wanted a connection."""
