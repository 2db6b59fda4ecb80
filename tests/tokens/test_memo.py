"""The memo: bounded, correct after eviction, never answers for different content."""

from __future__ import annotations

import gc
import random
import tracemalloc
from typing import Any

from litellm_accel_tokens.freeze import Unfreezable, freeze
from litellm_accel_tokens.memo import CountMemo
from tests.tokens.cases import sentence
from tests.tokens.helpers import stock_token_counter


def small_counter(max_bytes: int, **options: Any) -> Any:
    from litellm_accel_tokens.counter import BuiltinTokenCounter

    return BuiltinTokenCounter(options={"memo_max_bytes": max_bytes, **options})


def conversation(rng: random.Random, turns: int) -> list[dict[str, str]]:
    roles = ["user", "assistant"]
    return [{"role": "system", "content": "You are terse."}] + [
        {"role": roles[i % 2], "content": sentence(rng, 3, 30)} for i in range(turns)
    ]


def test_counts_stay_stock_while_the_memo_evicts() -> None:
    stock = stock_token_counter()
    counter = small_counter(30_000)
    rng = random.Random(5)
    conversations = [conversation(rng, 12) for _ in range(40)]
    for _ in range(2):  # the second pass meets evicted and surviving entries alike
        for messages in conversations:
            for end in range(1, len(messages) + 1):
                assert counter.count(model="gpt-4o", messages=messages[:end]) == stock(
                    model="gpt-4o", messages=messages[:end]
                )
    stats = counter.stats()["memo"]
    assert stats["evictions"] > 0 and stats["hits"] > 0
    assert stats["bytes"] <= 30_000


def test_the_estimate_never_exceeds_the_cap_and_bounds_real_memory() -> None:
    counter = small_counter(400_000)
    memo = counter.memo
    rng = random.Random(8)
    gc.collect()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        for i in range(3000):
            messages = [{"role": "user", "content": f"{i} " + sentence(rng, 5, 60)}]
            counter.count(model="gpt-4o", messages=messages)
            assert memo.bytes <= memo.max_bytes
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - start
        counter.clear()
        gc.collect()
        released = held - (tracemalloc.get_traced_memory()[0] - start)
    finally:
        tracemalloc.stop()
    assert memo.evictions > 0
    # What clearing the memo gives back is what it held: within the cap (the estimate is conservative).
    assert 0 < released <= memo.max_bytes


def test_equal_hashes_with_different_content_never_share_a_count() -> None:
    memo = CountMemo(10_000, 5_000)
    assert hash(-1) == hash(-2)  # CPython: a guaranteed collision
    memo.put(("ns", -1), 11)
    assert memo.peek(("ns", -2)) is None
    assert memo.peek(("ns", -1)) == 11


def test_near_identical_messages_get_their_own_counts(counter: Any) -> None:
    stock = stock_token_counter()
    variants = [
        [{"role": "user", "content": "Hello world"}],
        [{"role": "user", "content": "Hello world!"}],
        [{"role": "user", "content": "Hello world", "name": "bob"}],
        [{"role": "assistant", "content": "Hello world"}],
        [{"content": "Hello world", "role": "user"}],
        [{"role": "user", "content": "Hello world", "extra": 1}],
        [{"role": "user", "content": ["Hello world"]}],
        [{"role": "user", "content": [{"type": "text", "text": "Hello world"}]}],
        [{"role": "user", "content": "Hello world", "name": None}],
    ]
    for model in ("gpt-4o", "gpt-4", "gpt-3.5-turbo-0301", "claude-sonnet-4-5", "deepseek-chat"):
        for _ in range(2):
            for messages in variants:
                assert counter.count(model=model, messages=messages) == stock(model=model, messages=messages), (
                    model,
                    messages,
                )


def test_tools_memo_distinguishes_equal_but_differently_rendered_values(counter: Any) -> None:
    stock = stock_token_counter()
    messages = [{"role": "user", "content": "weather?"}]
    enums = [[1], [1.0], [True], ["1"], [0.0], [-0.0]]
    for _ in range(2):
        for enum in enums:
            tools = [
                {
                    "type": "function",
                    "function": {
                        "name": "f",
                        "parameters": {"type": "object", "properties": {"x": {"type": "number", "enum": enum}}},
                    },
                }
            ]
            assert counter.count(model="gpt-4o", messages=messages, tools=tools) == stock(
                model="gpt-4o", messages=messages, tools=tools
            )


def test_freeze_is_type_exact() -> None:
    assert freeze({"a": [1, "x", None]}) == freeze({"a": [1, "x", None]})
    assert freeze({"a": 1}) != freeze({"a": True}) != freeze({"a": 1.0})
    assert freeze(0.0) != freeze(-0.0)
    assert freeze({"a": 1, "b": 2}) != freeze({"b": 2, "a": 1})  # order is rendered, so it is kept
    for value in ({1: "x"}, ("tuple",), {"a": object()}):
        try:
            freeze(value)
        except Unfreezable:
            continue
        raise AssertionError(f"{value!r} must not freeze")


def test_entries_larger_than_the_entry_cap_are_not_kept() -> None:
    counter = small_counter(1_000_000, memo_max_entry_bytes=2_000)
    big = [{"role": "user", "content": "word " * 2_000}]
    assert counter.count(model="gpt-4o", messages=big) == stock_token_counter()(model="gpt-4o", messages=big)
    assert len(counter.memo) == 0


def test_concurrent_threads_get_stock_counts() -> None:
    import threading

    stock = stock_token_counter()
    counter = small_counter(40_000)  # small: generations rotate while threads read and write
    rng = random.Random(12)
    shared = [conversation(rng, 8) for _ in range(6)]
    expected = {
        id(messages): [stock(model="gpt-4o", messages=messages[:end]) for end in range(1, 10)] for messages in shared
    }
    failures: list[Any] = []

    def worker(seed: int) -> None:
        local = random.Random(seed)
        for _ in range(150):
            messages = local.choice(shared)
            end = local.randint(1, 9)
            got = counter.count(model="gpt-4o", messages=messages[:end])
            if got != expected[id(messages)][end - 1]:
                failures.append((end, got))

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert counter.memo.bytes <= counter.memo.max_bytes
