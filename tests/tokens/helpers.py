"""Shared helpers of the tokens tests: run stock and the builtin counter on the same input."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from litellm_accel.contracts import UseStock


def stock_token_counter() -> Any:
    """The genuine stock function (these tests run uninstalled; the conftest fixture guarantees it)."""
    from litellm.litellm_core_utils import token_counter as module

    function = module.token_counter
    assert not hasattr(function, "__litellm_accel_guard__"), "tests must start uninstalled"
    return function


def fresh(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A copy of the arguments whose containers neither side can see the other side change.

    ``custom_tokenizer`` is passed as is: a tokenizer object is large and never mutated.
    """
    return {key: value if key == "custom_tokenizer" else copy.deepcopy(value) for key, value in kwargs.items()}


def outcome(function: Any, kwargs: dict[str, Any]) -> tuple[str, Any]:
    """("ok", count) or ("raised", exception type), on a fresh copy of the arguments."""
    try:
        return ("ok", function(**fresh(kwargs)))
    except Exception as exc:
        return ("raised", type(exc))


@dataclass
class Compared:
    stock: tuple[str, Any]
    accelerated: tuple[str, Any]
    delegated: bool
    reason: str = ""

    @property
    def same(self) -> bool:
        return self.stock == self.accelerated


def compare(counter: Any, kwargs: dict[str, Any]) -> Compared:
    """Stock's outcome and the counter's; a delegated call is answered by stock, as the guard does."""
    stock = outcome(stock_token_counter(), kwargs)
    try:
        accelerated: tuple[str, Any] = ("ok", counter.count(**fresh(kwargs)))
    except UseStock as signal:
        return Compared(stock, outcome(stock_token_counter(), kwargs), True, str(signal))
    except Exception as exc:
        accelerated = ("raised", type(exc))
    return Compared(stock, accelerated, False)
