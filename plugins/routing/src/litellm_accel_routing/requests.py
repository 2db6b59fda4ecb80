"""Which pick requests the accelerated path serves: the request shapes whose eligibility it reproduces.

Anything else (request-scoped routing controls, images, embedding batches, request-level strategy
overrides, unknown keys) is answered by stock litellm through ``UseStock``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Request keys that do not change which deployments are eligible, or whose effect is reproduced
#: (``allowed_model_region``, ``messages`` for the context-window check).
SAFE_REQUEST_KEYS = frozenset(
    {
        "messages",
        "input",
        "metadata",
        "litellm_metadata",
        "allowed_model_region",
        "stream",
        "litellm_call_id",
        "model",
        "temperature",
        "max_tokens",
        "max_completion_tokens",
        "top_p",
        "n",
        "stop",
        "seed",
        "user",
    }
)
#: Metadata keys containing one of these fragments may steer routing (tags, teams, affinity, pins, the
#: caller's auth object whose allowed models narrow the group).
ROUTING_METADATA_FRAGMENTS = (
    "auth",
    "tag",
    "team",
    "affinity",
    "session",
    "deployment",
    "order",
    "pin",
    "rout",
    "model_group",
    "prompt_cach",
    "compaction",
    "previous_response",
    "weight",
)


def request_reason(request: Mapping[str, Any]) -> str | None:
    """Why this request is served by stock (``None`` when the accelerated pick can serve it)."""
    for key in request:
        if key not in SAFE_REQUEST_KEYS:
            return f"request key {key!r}"
    for bucket in ("metadata", "litellm_metadata"):
        if bucket not in request:
            continue
        metadata = request[bucket]
        if metadata is None:
            continue
        if not isinstance(metadata, Mapping):
            return f"{bucket} is not a mapping"
        for key in metadata:
            lowered = str(key).lower()
            if any(fragment in lowered for fragment in ROUTING_METADATA_FRAGMENTS):
                return f"{bucket} key {key!r}"
    return None


def message_chars(messages: Any) -> int:
    """Approximate prompt size in characters (decides inline vs. offloaded token counting)."""
    total = 0
    if isinstance(messages, list):
        for message in messages:
            if isinstance(message, Mapping):
                content = message.get("content")
                if isinstance(content, str):
                    total += len(content)
                else:
                    total += len(repr(content))
            else:
                total += len(repr(message))
    return total
