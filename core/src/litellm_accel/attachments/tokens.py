"""Token counting: replaces litellm's ``token_counter`` everywhere litellm callers can reach it.

In litellm 1.110.2 there are two objects:

* the *inner* function ``litellm.litellm_core_utils.token_counter.token_counter`` (the real counter);
* a *wrapper* ``litellm.utils.token_counter`` (kept for backwards compatibility), which checks
  ``litellm.disable_token_counter`` and then calls the inner function, looked up at call time through
  ``litellm._lazy_imports.get_token_counter_new()``. ``litellm.token_counter`` is a lazy attribute that
  resolves to the wrapper.

Callers reach them in three ways, and all are covered:

1. attribute lookup at call time: ``litellm.token_counter(...)`` (usage-based routing through
   ``embedding_aware_token_count``, the budget manager, provider transformations), the router's
   pre-call checks (``PythonHost.invoke("token_counter")`` is ``getattr(litellm, "token_counter")``),
   function-level ``from ... import token_counter`` (streaming usage), ``get_token_counter_new()``;
2. module-level ``from litellm.utils import token_counter`` / ``from litellm import token_counter``
   bindings made before ``install()``: each such module attribute is patched too;
3. such bindings made *while* installed pick up the guarded function; ``detach`` puts the stock object
   back into them, since the patcher cannot know about bindings created after it ran.

Every patch goes through the :class:`~litellm_accel.patching.Patcher`; ``problems()`` refuses to attach
when the attachment points do not look like the ones described above.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from typing import Any

from litellm_accel.attachments.base import Attachment
from litellm_accel.guard import Guard
from litellm_accel.patching import Patcher

INNER_MODULE = "litellm.litellm_core_utils.token_counter"
WRAPPER_MODULE = "litellm.utils"
LAZY_IMPORTS_MODULE = "litellm._lazy_imports"
ATTRIBUTE = "token_counter"
EXPECTED_PARAMETERS = (
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


def _parameters(function: Any) -> tuple[str, ...] | None:
    try:
        return tuple(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return None


def _is_litellm_module(name: str) -> bool:
    return name == "litellm" or name.startswith("litellm.")


class TokenCounterAttachment(Attachment):
    feature = "tokens"

    def __init__(self) -> None:
        self._inner: Any = None
        self._wrapper: Any = None
        self._guarded_inner: Any = None
        self._guarded_wrapper: Any = None

    # -- checks -----------------------------------------------------------------------------------
    def _points(self) -> tuple[Any, Any, Any]:
        inner_module = importlib.import_module(INNER_MODULE)
        wrapper_module = importlib.import_module(WRAPPER_MODULE)
        lazy = importlib.import_module(LAZY_IMPORTS_MODULE)
        return inner_module, wrapper_module, lazy

    def problems(self) -> list[str]:
        try:
            inner_module, wrapper_module, lazy = self._points()
            inner = getattr(inner_module, ATTRIBUTE)
            wrapper = getattr(wrapper_module, ATTRIBUTE)
        except (ImportError, AttributeError) as exc:
            return [f"litellm's token_counter attachment points are missing ({exc})"]
        problems: list[str] = []
        if hasattr(inner, "__litellm_accel_guard__") or hasattr(wrapper, "__litellm_accel_guard__"):
            problems.append("litellm's token_counter is already replaced by litellm-accel")
        params = _parameters(inner)
        if params != EXPECTED_PARAMETERS:
            problems.append(
                f"{INNER_MODULE}.token_counter signature changed: {list(params or ())} "
                f"(expected {list(EXPECTED_PARAMETERS)})"
            )
        if wrapper is not inner:
            if _parameters(wrapper) != EXPECTED_PARAMETERS:
                problems.append(f"{WRAPPER_MODULE}.token_counter signature changed")
            code = getattr(wrapper, "__code__", None)
            if code is None or "get_token_counter_new" not in code.co_names:
                problems.append(f"{WRAPPER_MODULE}.token_counter no longer delegates to get_token_counter_new()")
        resolver = getattr(lazy, "get_token_counter_new", None)
        if resolver is None:
            problems.append(f"{LAZY_IMPORTS_MODULE}.get_token_counter_new is missing")
        elif resolver() is not inner:
            problems.append(
                f"{LAZY_IMPORTS_MODULE}.get_token_counter_new() does not return {INNER_MODULE}.token_counter"
            )
        import litellm

        public = getattr(litellm, ATTRIBUTE, None)
        if public is not wrapper and public is not inner:
            problems.append("litellm.token_counter is neither litellm.utils.token_counter nor the inner function")
        return problems

    # -- attach / detach ----------------------------------------------------------------------------
    def attach(self, implementation: Any, guard: Guard, patcher: Patcher) -> None:
        inner_module, wrapper_module, _ = self._points()
        inner = getattr(inner_module, ATTRIBUTE)
        wrapper = getattr(wrapper_module, ATTRIBUTE)
        # Both replacements fall back to the inner function: the wrapper adds nothing but the
        # disable_token_counter check, which the inner function makes too. Falling back to the wrapper
        # would route through get_token_counter_new() into the replacement again.
        guarded_inner = guard.wrap(implementation.count, inner)
        guarded_wrapper = guard.wrap(implementation.count, inner) if wrapper is not inner else guarded_inner
        self._inner, self._wrapper = inner, wrapper
        self._guarded_inner, self._guarded_wrapper = guarded_inner, guarded_wrapper
        replacements = {id(inner): guarded_inner, id(wrapper): guarded_wrapper}
        patcher.set(inner_module, ATTRIBUTE, guarded_inner)
        patcher.set(wrapper_module, ATTRIBUTE, guarded_wrapper)
        import litellm

        # litellm.token_counter is lazy: patching it whether or not it was resolved yet is exact, since
        # restore() deletes an attribute that was absent and the lazy lookup then resolves it again.
        patcher.set(litellm, ATTRIBUTE, guarded_wrapper)
        done = {id(inner_module), id(wrapper_module), id(litellm)}
        for name, module in list(sys.modules.items()):
            if module is None or id(module) in done or not _is_litellm_module(name):
                continue
            current = getattr(module, "__dict__", {}).get(ATTRIBUTE)
            if current is not None and id(current) in replacements and (current is inner or current is wrapper):
                patcher.set(module, ATTRIBUTE, replacements[id(current)])

    def detach(self, implementation: Any) -> None:
        """Put the stock object back into litellm modules that bound the replacement while installed."""
        originals = {id(self._guarded_inner): self._inner, id(self._guarded_wrapper): self._wrapper}
        if self._guarded_inner is None:
            return
        for name, module in list(sys.modules.items()):
            if module is None or not _is_litellm_module(name):
                continue
            current = getattr(module, "__dict__", {}).get(ATTRIBUTE)
            if current is not None and (current is self._guarded_inner or current is self._guarded_wrapper):
                # Modules the patcher patched are restored by it right after this; setting the same
                # original first is harmless. Modules imported while installed are only fixed here.
                setattr(module, ATTRIBUTE, originals[id(current)])
        self._guarded_inner = self._guarded_wrapper = None
