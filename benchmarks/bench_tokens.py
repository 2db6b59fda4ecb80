"""Token counting: stock ``litellm.token_counter`` against the installed litellm-accel tokens plugin.

Method: both arms run in one process on the same machine. Stock is the original function object
captured before ``litellm_accel.install()``; the accelerated arm is the patched function litellm's own
callers reach (guard included). Calls are interleaved one by one (A B, then B A, ...), each timed with
``perf_counter_ns``; the table shows each arm's median µs per call and the ratio of the medians
(stock / accelerated). Inputs with "distinct content" use fresh strings on every call for both arms (the
memo is cold for every message); every count is checked against stock before timing.

    LITELLM_LOCAL_MODEL_COST_MAP=True uv run --frozen python benchmarks/bench_tokens.py [--quick]

``run(quick)`` returns the rows (``scenario``, ``stock_us``, ``accel_us``, ``ratio`` and extra
details) for ``litellm-accel bench``.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

MODEL = "gpt-4o"
_WORDS = [
    "the",
    "model",
    "router",
    "token",
    "deployment",
    "latency",
    "budget",
    "request",
    "stream",
    "cache",
    "prompt",
    "answer",
    "system",
    "user",
    "assistant",
    "context",
    "window",
    "function",
    "tool",
    "call",
    "result",
    "error",
    "retry",
    "limit",
    "count",
    "message",
    "turn",
    "reply",
    "analysis",
    "summary",
    "question",
    "paris",
    "france",
    "capital",
    "europe",
    "river",
    "city",
    "museum",
    "history",
    "science",
    "data",
]


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words)) + f" {rng.randrange(10**9)}."


def _chat(rng: random.Random) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": "You are a helpful assistant. " + _sentence(rng, 4)},
        {"role": "user", "content": _sentence(rng, 10)},
        {"role": "assistant", "content": _sentence(rng, 14)},
    ]


_CAPITALS = [("France", "Paris"), ("Japan", "Tokyo"), ("Peru", "Lima"), ("Kenya", "Nairobi"), ("Chile", "Santiago")]


def _short_chat(rng: random.Random) -> list[dict[str, str]]:
    """Three short messages (about 10 tokens each), all distinct from every earlier call."""
    n = rng.randrange(10**9)
    country, capital = rng.choice(_CAPITALS)
    return [
        {"role": "system", "content": f"You are a helpful assistant, session {n}."},
        {"role": "user", "content": f"What is the capital of {country}? ({n})"},
        {"role": "assistant", "content": f"The capital of {country} is {capital}. ({n})"},
    ]


def _conversation(rng: random.Random, turns: int) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": "You are a helpful assistant. " + _sentence(rng, 6)}]
    for turn in range(turns):
        messages.append({"role": "user" if turn % 2 == 0 else "assistant", "content": _sentence(rng, 25)})
    return messages


def _long_text(rng: random.Random, tokens: int = 4000) -> str:
    # About one token per word plus punctuation and numbers in this vocabulary.
    return " ".join(_sentence(rng, 11) for _ in range(tokens // 14))


def _median_interleaved(
    arms: dict[str, Callable[[Any], object]], make_input: Callable[[], Any], rounds: int, batch: int
) -> dict[str, float]:
    """Median µs per call of each arm, arms interleaved call by call.

    Each round makes ``batch`` inputs per arm, then times single calls alternating between the arms
    (A B, then B A, ...). The machine is shared: a call that gets preempted is an outlier on one arm,
    and the per-call median over ``rounds * batch`` calls ignores it.
    """
    samples: dict[str, list[float]] = {name: [] for name in arms}
    order = list(arms.items())
    clock = time.perf_counter_ns
    for _ in range(rounds):
        inputs = {name: [make_input() for _ in range(batch)] for name in arms}
        gc.collect()
        for index in range(batch):
            for name, fn in order if index % 2 == 0 else reversed(order):
                item = inputs[name][index]
                start = clock()
                fn(item)
                samples[name].append((clock() - start) / 1000)
    return _summaries(samples)


def _summaries(samples: dict[str, list[float]]) -> dict[str, float]:
    """``{arm: median}`` plus ``{arm + "_p10": 10th percentile}`` (the p10 shows the quiet-machine cost)."""
    result = {}
    for name, values in samples.items():
        result[name] = statistics.median(values)
        result[name + "_p10"] = statistics.quantiles(values, n=10)[0]
    return result


def _conversation_medians(
    stock: Callable[..., int], accel: Callable[..., int], rng: random.Random, conversations: int
) -> dict[str, float]:
    """Per arm: the median time of each turn's recount (over ``conversations`` fresh conversations),
    averaged over the 20 turns, i.e. the typical cost per turn of a conversation."""
    arms = {"stock": stock, "accel": accel}
    times: dict[str, list[list[float]]] = {name: [[] for _ in range(20)] for name in arms}
    clock = time.perf_counter_ns
    for number in range(conversations):
        own = {name: _conversation(rng, 20) for name in arms}
        gc.collect()
        for turn in range(20):
            order = ("stock", "accel") if (number + turn) % 2 == 0 else ("accel", "stock")
            for name in order:
                messages = own[name][: turn + 2]
                start = clock()
                arms[name](model=MODEL, messages=messages)
                times[name][turn].append((clock() - start) / 1000)
    result = {}
    for name, turns in times.items():
        result[name] = statistics.mean(statistics.median(turn) for turn in turns)
        result[name + "_p10"] = statistics.mean(statistics.quantiles(turn, n=10)[0] for turn in turns)
    return result


def _row(scenario: str, stock_us: float, accel_us: float, **extra: Any) -> dict[str, Any]:
    rounded = {key: round(value, 2) if isinstance(value, float) else value for key, value in extra.items()}
    return {
        "scenario": scenario,
        "stock_us": round(stock_us, 2),
        "accel_us": round(accel_us, 2),
        "ratio": round(stock_us / accel_us, 2) if accel_us else None,
        **rounded,
    }


def _p10(medians: dict[str, float], stock: str = "stock", accel: str = "accel") -> dict[str, float]:
    return {
        "stock_p10_us": medians[stock + "_p10"],
        "accel_p10_us": medians[accel + "_p10"],
        "ratio_p10": medians[stock + "_p10"] / medians[accel + "_p10"],
    }


def _check(stock: Callable[..., int], accel: Callable[..., int], **kwargs: Any) -> None:
    expected, got = stock(**kwargs), accel(**kwargs)
    if expected != got:
        raise AssertionError(f"parity broken: stock={expected} accelerated={got}")


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Measure every scenario; returns one row per scenario (see the module docstring)."""
    import litellm.litellm_core_utils.token_counter as token_counter_module

    import litellm_accel
    from litellm_accel.settings import AccelSettings

    rounds = 9 if quick else 31
    scale = 1 if quick else 4
    rng = random.Random(1234)
    stock = token_counter_module.token_counter
    was_installed = litellm_accel.is_installed()
    if not was_installed:
        # Only the tokens feature: the other features do not touch token counting.
        off = {"enabled": False}
        litellm_accel.install(AccelSettings(routing=off, pool=off, ratelimit=off))
    try:
        accel = token_counter_module.token_counter
        if accel is stock:
            raise RuntimeError("the tokens feature is not active: " + str(litellm_accel.metrics()))
        implementation = litellm_accel.get_implementation("tokens")
        rows: list[dict[str, Any]] = []

        # 1. three distinct messages per call: the memo never hits a message.
        chat = _chat(rng)
        _check(stock, accel, model=MODEL, messages=chat)
        _check(stock, accel, model=MODEL, messages=_short_chat(rng))
        for label, make_chat in (
            ("3 short messages (~10 tokens each), gpt-4o, distinct content (memo cold)", _short_chat),
            ("3 longer messages (10-25 words each), gpt-4o, distinct content (memo cold)", _chat),
        ):
            medians = _median_interleaved(
                {
                    "stock": lambda m: stock(model=MODEL, messages=m),
                    "accel": lambda m: accel(model=MODEL, messages=m),
                },
                lambda make_chat=make_chat: make_chat(rng),
                rounds,
                100 * scale,
            )
            rows.append(_row(label, medians["stock"], medians["accel"], **_p10(medians)))

        # 2. the same chat counted again and again.
        medians = _median_interleaved(
            {
                "stock": lambda m: stock(model=MODEL, messages=m),
                "accel": lambda m: accel(model=MODEL, messages=m),
            },
            lambda: chat,
            rounds,
            200 * scale,
        )
        rows.append(_row("same 3-message chat repeated", medians["stock"], medians["accel"], **_p10(medians)))

        # 3. a fresh 20-turn conversation re-counted after every turn: each arm gets its own
        # conversations; turn t of one arm is timed right next to turn t of the other.
        conversation = _conversation(rng, 20)
        for end in range(2, len(conversation) + 1):
            _check(stock, accel, model=MODEL, messages=conversation[:end])
        per_turn = _conversation_medians(stock, accel, rng, rounds * scale)
        rows.append(
            _row(
                "20-turn conversation re-counted after each turn (mean per turn)",
                per_turn["stock"],
                per_turn["accel"],
                **_p10(per_turn),
            )
        )

        # 4. one ~4k-token message, distinct each call, against stock and against raw tiktoken.
        encoding = token_counter_module.openai_tokenizer_encoding(MODEL)
        sample_text = _long_text(rng)
        _check(stock, accel, model=MODEL, messages=[{"role": "user", "content": sample_text}])
        medians = _median_interleaved(
            {
                "stock": lambda t: stock(model=MODEL, messages=[{"role": "user", "content": t}]),
                "accel": lambda t: accel(model=MODEL, messages=[{"role": "user", "content": t}]),
                "raw": lambda t: len(encoding.encode(t, disallowed_special=())),
            },
            lambda: _long_text(rng),
            rounds,
            5 * scale,
        )
        tokens = len(encoding.encode(sample_text, disallowed_special=()))
        rows.append(
            _row(f"one ~{tokens}-token message (distinct text)", medians["stock"], medians["accel"], **_p10(medians))
        )
        rows.append(
            _row(
                f"one ~{tokens}-token message vs raw tiktoken encode (stock_us = raw encode)",
                medians["raw"],
                medians["accel"],
                baseline="raw tiktoken encode",
                **_p10(medians, stock="raw"),
            )
        )

        # 5. memo memory at the default cap.
        if implementation is not None and hasattr(implementation, "memo"):
            rows.append(_memo_memory_row(implementation, accel, rng, quick))
        return rows
    finally:
        if not was_installed:
            litellm_accel.uninstall()


def _memo_memory_row(implementation: Any, accel: Callable[..., int], rng: random.Random, quick: bool) -> dict[str, Any]:
    """Fill the memo to its fullest state (old generation full, young one about to rotate) with distinct
    conversations; report its estimate and the memory tracemalloc sees freed when it is cleared."""
    memo = implementation.memo
    implementation.clear()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    evictions_before = memo.evictions

    def conversations() -> Iterator[list[dict[str, str]]]:
        # Until one generation was dropped and the young one is within 2% of rotating again.
        while memo.evictions == evictions_before or memo.young_bytes < 0.98 * memo.generation_bytes:
            yield _conversation(rng, 10)

    for conversation in conversations():
        accel(model=MODEL, messages=conversation)
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before  # the memo's entries (the callers' lists are gone)
    entries, estimated = len(memo), memo.bytes
    implementation.clear()
    gc.collect()
    released = held - (tracemalloc.get_traced_memory()[0] - before)
    tracemalloc.stop()
    return {
        "scenario": "memo memory at the default cap",
        "stock_us": None,
        "accel_us": None,
        "ratio": None,
        "memo_max_bytes": memo.max_bytes,
        "memo_estimated_bytes": estimated,
        "memo_traced_bytes_released_on_clear": released,
        "memo_entries": entries,
    }


def _format(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| scenario | stock median (µs) | accelerated median (µs) | ratio of medians | ratio of p10s |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        if row["ratio"] is None:
            detail = (
                f"cap {row['memo_max_bytes'] / 2**20:.1f} MiB; when fullest: {row['memo_entries']} messages, "
                f"estimate {row['memo_estimated_bytes'] / 2**20:.2f} MiB, "
                f"{row['memo_traced_bytes_released_on_clear'] / 2**20:.2f} MiB freed by clearing it (tracemalloc)"
            )
            lines.append(f"| {row['scenario']} | - | - | {detail} | |")
        else:
            lines.append(
                f"| {row['scenario']} | {row['stock_us']} | {row['accel_us']} | {row['ratio']}x "
                f"| {row.get('ratio_p10', '-')}x |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and smaller batches")
    args = parser.parse_args()
    print(_format(run(args.quick)))


if __name__ == "__main__":
    main()
