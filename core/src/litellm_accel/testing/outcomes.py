"""Comparing one call's outcome between an implementation and stock litellm."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from litellm_accel.contracts import UseStock


@dataclass(frozen=True)
class Outcome:
    """What one call did: returned ``value``, raised ``error`` (its type), or ``delegated`` (UseStock)."""

    value: Any = None
    error: type[BaseException] | None = None
    delegated: bool = False

    def describe(self) -> str:
        if self.delegated:
            return "UseStock"
        if self.error is not None:
            return f"raised {self.error.__name__}"
        return repr(self.value)


def run(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Outcome:
    """Call ``function`` and capture its outcome (``UseStock`` is recorded as delegation)."""
    try:
        return Outcome(value=function(*args, **kwargs))
    except UseStock:
        return Outcome(delegated=True)
    except Exception as exc:
        return Outcome(error=type(exc))


def conforms(implementation: Outcome, stock: Outcome) -> bool:
    """An implementation's outcome conforms when it delegated, or matches stock's value and type, or
    raised the same exception type stock raised."""
    if implementation.delegated:
        return True
    if stock.error is not None or implementation.error is not None:
        return implementation.error is stock.error
    return type(implementation.value) is type(stock.value) and implementation.value == stock.value
