"""Hashable, type-exact snapshots of JSON-like values (tool definitions, tool_choice, content blocks).

Two values freeze to equal keys only if they are equal *and* of the same types all the way down, so a
memo keyed by a frozen value can only return a count computed for identical input: ``1``, ``1.0`` and
``True`` (equal in Python, rendered differently by litellm's tool formatting) freeze differently, and
dict order is kept (litellm renders keys in insertion order).
"""

from __future__ import annotations

from typing import Any

_MAX_DEPTH = 32


class Unfreezable(Exception):
    """The value holds something other than dict/list/str/int/float/bool/None (or is too deep)."""


def freeze(value: Any, depth: int = 0) -> Any:
    """A hashable key equal to another frozen key only for the same types and values."""
    kind = type(value)
    if kind is str:
        return value
    if value is None:
        return None
    if depth >= _MAX_DEPTH:
        raise Unfreezable("too deep")
    if kind is dict:
        items = []
        for key, item in value.items():
            if type(key) is not str:
                raise Unfreezable("non-str key")
            items.append((key, freeze(item, depth + 1)))
        return ("d", tuple(items))
    if kind is list:
        return ("l", tuple(freeze(item, depth + 1) for item in value))
    if kind is float:
        return ("float", repr(value))  # 0.0 == -0.0 but they render differently
    if kind is int or kind is bool:
        return (kind.__name__, value)
    raise Unfreezable(kind.__name__)
