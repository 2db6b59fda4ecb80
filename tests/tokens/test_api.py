"""The user API: count_many and acount, standalone and installed, and the options model."""

from __future__ import annotations

import asyncio
import random
import threading
from typing import Any

import pytest

import litellm_accel
from litellm_accel.settings import AccelSettings
from litellm_accel_tokens import api
from litellm_accel_tokens.options import TokenOptions, parse_options
from tests.tokens.cases import sentence
from tests.tokens.helpers import stock_token_counter

ONLY_TOKENS = {"routing": {"enabled": False}, "pool": {"enabled": False}, "ratelimit": {"enabled": False}}


def turns(rng: random.Random, n: int) -> list[list[dict[str, str]]]:
    messages = [{"role": "system", "content": "You are terse."}]
    lists = []
    for i in range(n):
        messages = [*messages, {"role": "user" if i % 2 == 0 else "assistant", "content": sentence(rng)}]
        lists.append(messages)
    return lists


def test_count_many_equals_stock_standalone() -> None:
    stock = stock_token_counter()
    lists = turns(random.Random(1), 15)
    tools = [{"type": "function", "function": {"name": "f"}}]
    assert api.count_many(lists, model="gpt-4o") == [stock(model="gpt-4o", messages=m) for m in lists]
    assert api.count_many(lists, model="deepseek-chat", tools=tools) == [
        stock(model="deepseek-chat", messages=m, tools=tools) for m in lists
    ]
    assert api.count_many([], model="gpt-4o") == []


def test_count_many_uses_the_installed_implementation() -> None:
    stock = stock_token_counter()
    lists = turns(random.Random(2), 10)
    expected = [stock(model="gpt-4o", messages=m) for m in lists]
    litellm_accel.install(AccelSettings(**ONLY_TOKENS))
    assert api.count_many(lists, model="gpt-4o") == expected
    assert litellm_accel.metrics()["tokens"]["accelerated"] == 10


def test_count_many_raises_what_stock_raises() -> None:
    with pytest.raises(TypeError):
        stock_token_counter()(model="gpt-4o", messages=[["not", "a", "dict"]])
    with pytest.raises(TypeError):
        api.count_many([[{"role": "user", "content": "ok"}], [["not", "a", "dict"]]], model="gpt-4o")


async def test_acount_short_input_inline_and_long_input_in_a_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    stock = stock_token_counter()
    threads: list[int] = []
    real_to_thread = asyncio.to_thread

    async def spying_to_thread(function: Any, /, *args: Any, **kwargs: Any) -> Any:
        def run() -> Any:
            threads.append(threading.get_ident())
            return function(*args, **kwargs)

        return await real_to_thread(run)

    monkeypatch.setattr(api.asyncio, "to_thread", spying_to_thread)
    short = [{"role": "user", "content": "hi"}]
    assert await api.acount(model="gpt-4o", messages=short) == stock(model="gpt-4o", messages=short)
    assert threads == []
    long_text = "lorem ipsum dolor sit amet " * 3000  # 81k characters, above the 32k default
    assert await api.acount(model="gpt-4o", text=long_text) == stock(model="gpt-4o", text=long_text)
    assert len(threads) == 1 and threads[0] != threading.get_ident()


async def test_acount_keeps_the_event_loop_responsive() -> None:
    """While a ~200k-token prompt is counted, other coroutines keep running."""
    text = " ".join(sentence(random.Random(4), 900, 900) for _ in range(200))
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    result = await api.acount(model="gpt-4o", messages=[{"role": "user", "content": text}])
    done.set()
    await task
    assert result == stock_token_counter()(model="gpt-4o", messages=[{"role": "user", "content": text}])
    assert ticks > 1  # the loop ran the ticker during the count


async def test_acount_uses_installed_options_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    messages = [{"role": "user", "content": "just over five"}]
    expected = stock_token_counter()(model="gpt-4o", messages=messages)
    litellm_accel.install(AccelSettings(tokens={"options": {"async_offload_threshold_chars": 5}}, **ONLY_TOKENS))
    calls: list[Any] = []
    real_to_thread = asyncio.to_thread

    async def spying_to_thread(function: Any, /, *args: Any, **kwargs: Any) -> Any:
        calls.append(function)
        return await real_to_thread(function, *args, **kwargs)

    monkeypatch.setattr(api.asyncio, "to_thread", spying_to_thread)
    assert await api.acount(model="gpt-4o", messages=messages) == expected
    assert len(calls) == 1
    assert litellm_accel.metrics()["tokens"]["accelerated"] == 1


def test_options_validation_and_offload_rule() -> None:
    assert parse_options(None) == TokenOptions()
    with pytest.raises(ValueError, match=r"unknown option tokens\.options\.memo_bytes"):
        parse_options({"memo_bytes": 1})
    with pytest.raises(ValueError, match="memo_max_bytes"):
        parse_options({"memo_max_bytes": -1})
    options = parse_options({"async_offload_threshold_chars": 100, "async_offload_threshold_tokens": 10})
    assert not options.offloads(39) and options.offloads(40) and options.offloads(100)
    assert not TokenOptions().offloads(32_767) and TokenOptions().offloads(32_768)


def test_untested_litellm_version_refuses_to_start_unless_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    from litellm_accel_tokens import counter as counter_module

    monkeypatch.setattr(counter_module.metadata, "version", lambda name: "9.9.9")
    with pytest.raises(RuntimeError, match="allow_untested_litellm"):
        counter_module.BuiltinTokenCounter()
    instance = counter_module.BuiltinTokenCounter(options={"allow_untested_litellm": True})
    assert instance.count(model="gpt-4o", text="hello") == stock_token_counter()(model="gpt-4o", text="hello")
