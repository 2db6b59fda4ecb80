"""Benchmark: the ``memo`` token counter through the litellm-accel guard versus stock
``litellm.token_counter``, interleaved in one process (A B A B ...), medians per call and the ratio.

Run from the repository root::

    LITELLM_LOCAL_MODEL_COST_MAP=True uv run --frozen python examples/accel-memo-tokens/benchmarks/bench_memo.py

Workloads: a short chat repeated (memo hit), a ~4k-token message repeated (memo hit), and a chat that
differs on every call (memo miss: stock's cost plus keying and storing).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

ROUNDS = 15
CALLS_PER_ROUND = 200


def per_call_ns(function: Callable[..., Any], calls: list[dict[str, Any]]) -> float:
    start = time.perf_counter_ns()
    for kwargs in calls:
        function(**kwargs)
    return (time.perf_counter_ns() - start) / len(calls)


def main() -> None:
    import accel_memo_tokens.hooks as hooks
    import litellm
    from litellm.litellm_core_utils import token_counter as inner

    import litellm_accel
    from litellm_accel.plugins import PluginManager
    from litellm_accel.settings import AccelSettings

    stock = inner.token_counter
    settings = AccelSettings(
        tokens={"implementation": "memo"},
        routing={"enabled": False},
        pool={"enabled": False},
        ratelimit={"enabled": False},
    )
    manager = PluginManager(settings, load_entry_points=False)
    manager.register(hooks, "memo_tokens")
    litellm_accel.install(settings, plugin_manager=manager)
    accelerated = litellm.token_counter
    assert accelerated is not stock

    chat = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is the weather like in Paris today?"},
        {"role": "assistant", "content": "I cannot browse, but Paris in spring is usually mild."},
    ]
    long_text = " ".join(f"token{i % 50} some filler words here" for i in range(800))
    workloads: dict[str, Callable[[int], list[dict[str, Any]]]] = {
        "short chat, repeated (hit)": lambda r: [{"model": "gpt-4o", "messages": chat}] * CALLS_PER_ROUND,
        "~4k-token message, repeated (hit)": lambda r: (
            [{"model": "gpt-4o", "messages": [{"role": "user", "content": long_text}]}] * (CALLS_PER_ROUND // 10)
        ),
        "short chat, unique (miss)": lambda r: [
            {"model": "gpt-4o", "messages": [*chat, {"role": "user", "content": f"round {r} call {i}"}]}
            for i in range(CALLS_PER_ROUND)
        ],
    }
    print(
        f"python {sys.version.split()[0]}, litellm {litellm_accel.installer.litellm_version()}, "
        f"{ROUNDS} rounds interleaved"
    )
    print(f"{'workload':38} {'stock µs':>10} {'memo µs':>10} {'ratio':>8}")
    for label, make in workloads.items():
        stock_times, accel_times = [], []
        for warm in (stock, accelerated):
            per_call_ns(warm, make(-1))
        for round_ in range(ROUNDS):
            # Both arms get calls built the same way; the miss workload builds fresh messages per arm.
            stock_times.append(per_call_ns(stock, make(2 * round_)))
            accel_times.append(per_call_ns(accelerated, make(2 * round_ + 1)))
        s, a = statistics.median(stock_times) / 1000, statistics.median(accel_times) / 1000
        print(f"{label:38} {s:10.1f} {a:10.1f} {s / a:7.1f}x")
    litellm_accel.uninstall()


if __name__ == "__main__":
    main()
