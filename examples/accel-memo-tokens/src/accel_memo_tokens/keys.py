"""Memo keys: a hashable value that is equal for two calls only when stock litellm must give them the
same count.

Only plain JSON-like values are keyed: ``str``, ``int``, ``float``, ``bool``, ``None``, ``list`` and
``dict`` with ``str`` keys, of exactly these types (no subclasses, tuples or pydantic objects, whose
handling by litellm this plugin has not proven). Anything else raises :class:`Unkeyable` and the call
goes to stock litellm. Scalars other than ``str`` carry their type (``1``, ``1.0`` and ``True`` are
equal in Python but may be counted differently), floats are keyed by ``repr`` (``0.0`` and ``-0.0``
print differently), and dict order is kept (litellm reads dicts in order).
"""

from __future__ import annotations

from typing import Any

#: Parameter names of stock ``token_counter`` in order (positional arguments map onto these).
PARAMETERS = (
    "model",
    "custom_tokenizer",
    "text",
    "messages",
    "count_response_tokens",
    "tools",
    "tool_choice",
    "use_default_image_token_count",
    "default_token_count",
)


class Unkeyable(Exception):
    """The call's arguments cannot be keyed safely; compute it with stock litellm."""


def freeze(value: Any) -> Any:
    """A hashable, type-exact image of a JSON-like value (raises :class:`Unkeyable` otherwise)."""
    kind = type(value)
    if kind is str:
        return value
    if kind is dict:
        items = []
        for key, item in value.items():
            if type(key) is not str:
                raise Unkeyable(f"dict key of type {type(key).__name__}")
            items.append((key, freeze(item)))
        return ("d", *items)
    if kind is list:
        return ("l", *[freeze(item) for item in value])
    if kind is float:
        return ("float", repr(value))
    if kind is int or kind is bool or value is None:
        return (kind.__name__, value)
    raise Unkeyable(f"value of type {kind.__name__}")


def call_key(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """The memo key of one ``token_counter(*args, **kwargs)`` call."""
    if len(args) > len(PARAMETERS):
        raise Unkeyable("too many positional arguments")
    named = dict(zip(PARAMETERS, args, strict=False))
    for name, value in kwargs.items():
        if name not in PARAMETERS or name in named:
            raise Unkeyable(f"unexpected argument {name!r}")
        named[name] = value
    if named.get("custom_tokenizer") is not None:
        raise Unkeyable("custom tokenizers are objects, not values")
    # Sorted by parameter name: the same call spelled positionally or by keyword gets the same key.
    return tuple((name, freeze(named[name])) for name in sorted(named))
