"""Contract for routing implementations (owned by the routing feature; may gain members)."""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, runtime_checkable

from litellm_accel.contracts.common import ImplementationContext


@runtime_checkable
class RoutingStrategy(Protocol):
    """Picks a deployment for a ``litellm.Router`` request with stock's eligibility rules.

    The attachment binds three members in place of the router core's own methods; each receives the
    router core (``router._core``, litellm's ``RustCore``) first, then the same arguments as the stock
    method of the same name, and returns what stock returns (a deployment dict):

    - ``get_available_deployment(core, model, messages=None, input=None, specific_deployment=False,
      request_kwargs=None)``: the sync pick;
    - ``select(core, model, request_kwargs=None, *, kind="pick", specific_deployment=None, messages=None,
      input=None, ...)``: the async pick (``Router.select`` and the deprecated
      ``Router.async_get_available_deployment``); kinds other than ``"pick"`` should raise ``UseStock``;
    - ``async_get_available_deployment(core, model, request_kwargs=None, ...)``: the same pick under its
      older name.

    A pick is a random choice: it must keep stock's *distribution* over the eligible deployments, and
    the eligible set must equal stock's (model groups and aliases, cooldowns, tags, pre-call checks).
    For a router setting, request or outcome the implementation does not reproduce (including a pick
    that would fail: stock then raises its own error), it raises
    :class:`~litellm_accel.contracts.UseStock` before any side effect.

    ``compare(accelerated, stock) -> bool`` (optional) is the shadow-mode comparison: whether the
    accelerated pick is consistent with stock's pick for the same request (eligibility, not identity).
    ``cooldowns`` (optional) is notified of every cooldown litellm records (see the routing attachment).
    ``shared_state`` (optional, ``None`` when off) merges the stateful strategies' reads with other
    instances' state: ``merge_counts(cache, keys, local)``, ``merge_usage(cache, keys, values)`` and
    ``merge_latency(cache, key, own)``, each returning the merged input without I/O (see docs/routing.md).
    """

    name: ClassVar[str]

    def __init__(self, context: ImplementationContext) -> None: ...

    def get_available_deployment(self, core: Any, *args: Any, **kwargs: Any) -> Any: ...

    async def select(self, core: Any, *args: Any, **kwargs: Any) -> Any: ...

    async def async_get_available_deployment(self, core: Any, *args: Any, **kwargs: Any) -> Any: ...

    def close(self) -> None: ...
