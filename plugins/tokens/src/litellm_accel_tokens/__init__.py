"""litellm-accel-tokens: exact LiteLLM token counts at a fraction of the cost.

The plugin registers the ``builtin`` token counter with litellm-accel (see :mod:`.hooks`). It also
offers a small user API that works with or without ``litellm_accel.install()``:

* :func:`count_many` counts many message lists in one call;
* :func:`acount` is an ``async`` ``token_counter`` that counts long inputs in a worker thread.

Importing this package is cheap: litellm is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from litellm_accel_tokens.api import acount, count, count_many
    from litellm_accel_tokens.counter import BuiltinTokenCounter
    from litellm_accel_tokens.options import TokenOptions

_LAZY = {
    "acount": "litellm_accel_tokens.api",
    "count": "litellm_accel_tokens.api",
    "count_many": "litellm_accel_tokens.api",
    "BuiltinTokenCounter": "litellm_accel_tokens.counter",
    "TokenOptions": "litellm_accel_tokens.options",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'litellm_accel_tokens' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value
