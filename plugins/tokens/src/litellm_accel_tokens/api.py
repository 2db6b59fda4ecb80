"""User API: batch and async token counting with stock litellm's results.

Every function here answers exactly what ``litellm.token_counter`` answers. When litellm-accel is
installed with a tokens implementation, they call the installed (guarded) function, so flags, fallback
and metrics apply; otherwise they use a process-wide standalone :class:`BuiltinTokenCounter`, which
hands inputs it does not cover to stock litellm.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from litellm_accel_tokens.options import TokenOptions

logger = logging.getLogger("litellm_accel.tokens")

STOCK_MODULE = "litellm.litellm_core_utils.token_counter"

_standalone_lock = threading.Lock()
_standalone: Any = None
_DEFAULT_OPTIONS = TokenOptions()


def _standalone_counter() -> Any:
    """The standalone counter (created once), or ``None`` when it cannot start on this litellm."""
    global _standalone
    if _standalone is None:
        with _standalone_lock:
            if _standalone is None:
                from litellm_accel_tokens.counter import BuiltinTokenCounter

                try:
                    _standalone = BuiltinTokenCounter()
                except RuntimeError as exc:
                    logger.warning("litellm-accel tokens: standalone counter unavailable (%s); using stock", exc)
                    _standalone = False
    return _standalone or None


def _active() -> tuple[Callable[..., int], TokenOptions]:
    """The function to count with and the options that govern offloading."""
    from litellm_accel.installer import get_implementation

    implementation = get_implementation("tokens")
    if implementation is not None:
        stock_module = importlib.import_module(STOCK_MODULE)
        options = getattr(implementation, "options", None)
        return stock_module.token_counter, options if isinstance(options, TokenOptions) else _DEFAULT_OPTIONS
    standalone = _standalone_counter()
    if standalone is not None:
        return standalone.count_or_stock, standalone.options
    stock_module = importlib.import_module(STOCK_MODULE)
    return stock_module.token_counter, _DEFAULT_OPTIONS


def count(*args: Any, **kwargs: Any) -> int:
    """``litellm.token_counter(*args, **kwargs)``, accelerated (same signature, same result)."""
    counter, _ = _active()
    return counter(*args, **kwargs)


def count_many(message_lists: Iterable[Sequence[Any]], model: str = "", **kwargs: Any) -> list[int]:
    """Token counts of many message lists for one model: ``[token_counter(model, messages=m, **kwargs) ...]``.

    ``kwargs`` are the other ``token_counter`` arguments (``tools``, ``tool_choice``,
    ``count_response_tokens``, ...), applied to every list. Message lists that share messages (the
    turns of one conversation) share the memo, so each shared message is encoded once. An input on which
    stock raises raises the same exception here.
    """
    counter, _ = _active()
    return [counter(model=model, messages=messages, **kwargs) for messages in message_lists]


def text_size(text: Any = None, messages: Any = None) -> int:
    """Characters of text in a ``token_counter`` input (strings and text blocks, one level deep).

    Cheap by design: it decides whether counting is worth a thread, it is not a count.
    """
    if isinstance(text, str):
        return len(text)
    if isinstance(text, list):
        return sum(len(t) for t in text if isinstance(t, str))
    size = 0
    if isinstance(messages, (list, tuple)):
        for message in messages:
            values = message.values() if isinstance(message, dict) else (getattr(message, "content", None),)
            for value in values:
                if isinstance(value, str):
                    size += len(value)
                elif isinstance(value, list):
                    for block in value:
                        if isinstance(block, str):
                            size += len(block)
                        elif isinstance(block, dict):
                            block_text = block.get("text")
                            if isinstance(block_text, str):
                                size += len(block_text)
    return size


async def acount(
    model: Any = "",
    custom_tokenizer: Any = None,
    text: Any = None,
    messages: Any = None,
    count_response_tokens: Any = False,
    tools: Any = None,
    tool_choice: Any = None,
    use_default_image_token_count: Any = False,
    default_token_count: Any = None,
) -> int:
    """``await``-able ``token_counter`` (same arguments, same result) that never blocks the loop long.

    Inputs with at least ``tokens.options.async_offload_threshold_chars`` characters of text (or
    ``async_offload_threshold_tokens`` estimated tokens) are counted in a worker thread with
    :func:`asyncio.to_thread`; short ones are counted inline, where a thread hop would cost more than
    the count.
    """
    counter, options = _active()
    arguments = {
        "model": model,
        "custom_tokenizer": custom_tokenizer,
        "text": text,
        "messages": messages,
        "count_response_tokens": count_response_tokens,
        "tools": tools,
        "tool_choice": tool_choice,
        "use_default_image_token_count": use_default_image_token_count,
        "default_token_count": default_token_count,
    }
    if options.offloads(text_size(text, messages)):
        return await asyncio.to_thread(counter, **arguments)
    return counter(**arguments)
