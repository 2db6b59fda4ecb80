"""Contract for token-counting implementations."""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, runtime_checkable

from litellm_accel.contracts.common import ImplementationContext


@runtime_checkable
class TokenCounter(Protocol):
    """Counts tokens exactly as stock litellm does.

    ``count`` takes the full signature of stock
    ``litellm.litellm_core_utils.token_counter.token_counter`` (the host passes the caller's
    arguments through unchanged) and must return the same ``int``. For any input the implementation
    has not proven equal, it raises :class:`~litellm_accel.contracts.UseStock`; any other exception
    is treated as an implementation error and the call is answered by stock litellm.
    """

    name: ClassVar[str]

    def __init__(self, context: ImplementationContext) -> None: ...

    def count(self, *args: Any, **kwargs: Any) -> int:
        """Return the token count stock litellm returns for the same arguments."""
        ...

    def close(self) -> None:
        """Release caches and resources. Called by ``uninstall()``."""
        ...
