"""Entry point of accel-memo-tokens (group ``litellm_accel``).

Thin on purpose: importing this module must be cheap (the host imports it when it discovers plugins),
so the implementation module, which imports litellm, is only imported inside the hooks.
"""

from __future__ import annotations

from typing import Any

from litellm_accel import hookimpl

#: The plugin API version this plugin was written against. The host loads the plugin when the major
#: numbers match and its own minor number is at least this one; otherwise it skips the plugin and
#: ``litellm-accel plugins`` says which version it needs.
LITELLM_ACCEL_API_VERSION = "1.0"


@hookimpl
def litellm_accel_token_counters() -> list[type[Any]]:
    """Register the ``memo`` token counter (select it with ``tokens.implementation = "memo"``)."""
    from accel_memo_tokens.counter import MemoTokenCounter

    return [MemoTokenCounter]


@hookimpl
def litellm_accel_health() -> list[Any]:
    """One ``litellm-accel doctor`` line per live memo: its size and hit ratio."""
    from accel_memo_tokens.counter import live_counters

    return [counter.health() for counter in live_counters()]
