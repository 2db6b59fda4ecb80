"""Contract for HTTP connection-pool implementations (owned by the pool feature)."""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, runtime_checkable

from litellm_accel.contracts.common import ImplementationContext


@runtime_checkable
class ConnectionPool(Protocol):
    """Hands out httpx clients whose requests share pools per provider endpoint and event loop.

    * ``async_client(verify=..., cert=..., **httpx_client_kwargs)`` returns an ``httpx.AsyncClient``
      (``sync_client`` an ``httpx.Client``) usable wherever litellm and the OpenAI SDK take one.
      ``verify``/``cert`` are the TLS settings as httpx takes them; together with the request URL's
      scheme, host and port they identify the endpoint pool. Clients are cheap; closing one must not
      close the shared pools. Raise :class:`~litellm_accel.contracts.UseStock` for settings the
      implementation cannot honour (the attachment then builds stock litellm's client).
    * ``owns(client)`` tells whether a client sends through this pool (used to evict litellm's cached
      clients on uninstall).
    * ``stats()`` returns a JSON-serialisable snapshot (per-endpoint counters and totals).
    * ``close()`` closes every connection it opened, in whichever event loop owns it; idempotent. It
      is also the implementation's job to close at interpreter exit and never to reuse a parent's
      sockets after ``fork``.
    """

    name: ClassVar[str]

    def __init__(self, context: ImplementationContext) -> None: ...

    def async_client(self, *, verify: Any = True, cert: Any = None, http2: bool = False, **kwargs: Any) -> Any: ...

    def sync_client(self, *, verify: Any = True, cert: Any = None, http2: bool = False, **kwargs: Any) -> Any: ...

    def owns(self, client: Any) -> bool: ...

    def stats(self) -> dict[str, Any]: ...

    def close(self) -> None: ...
