"""Per-feature attachment points into litellm (imported lazily: they import litellm)."""

from __future__ import annotations

import importlib

from litellm_accel.attachments.base import Attachment, NotYetAvailable

#: feature -> "module:Class" of its attachment.
ATTACHMENT_CLASSES: dict[str, str] = {
    "tokens": "litellm_accel.attachments.tokens:TokenCounterAttachment",
    "ratelimit": "litellm_accel.attachments.ratelimit:RateLimitAttachment",
    "routing": "litellm_accel.attachments.routing:RoutingAttachment",
    "pool": "litellm_accel.attachments.pool:ConnectionPoolAttachment",
}


def attachment_for(feature: str) -> Attachment:
    """A fresh attachment object for ``feature``."""
    target = ATTACHMENT_CLASSES.get(feature)
    if target is None:
        return NotYetAvailable(feature)
    module_name, _, class_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls()  # type: ignore[no-any-return]


__all__ = ["ATTACHMENT_CLASSES", "Attachment", "NotYetAvailable", "attachment_for"]
