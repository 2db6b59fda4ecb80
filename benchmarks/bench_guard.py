"""Overhead of the host's guard per call, flag ``on`` (the fast path) and ``shadow``/``canary``.

Compares a trivial function called directly with the same function called through
``Guard.wrap``; rounds are interleaved (direct, guarded, direct, guarded, ...) and medians reported.

    uv run --frozen python benchmarks/bench_guard.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from litellm_accel.flags import FeatureFlag
from litellm_accel.guard import Guard
from litellm_accel.metrics import FeatureMetrics
from litellm_accel.settings import ErrorBudget


def trivial(a: int, b: int = 1) -> int:
    return a + b


def per_call_ns(fn: Callable[..., int], calls: int) -> float:
    start = time.perf_counter_ns()
    for i in range(calls):
        fn(i, b=2)
    return (time.perf_counter_ns() - start) / calls


def run(quick: bool = False) -> list[dict[str, float | str]]:
    rounds, calls = (7, 20_000) if quick else (21, 100_000)
    rows = []
    for state, percent in (("on", 100.0), ("canary", 100.0), ("off", 0.0)):
        guard = Guard(
            "bench", "trivial", FeatureFlag("bench", state, percent), FeatureMetrics("bench", "t"), ErrorBudget()
        )
        guarded = guard.wrap(trivial, trivial, key=lambda args, kwargs: None)
        direct, wrapped = [], []
        for _ in range(rounds):
            direct.append(per_call_ns(trivial, calls))
            wrapped.append(per_call_ns(guarded, calls))
        d, w = statistics.median(direct), statistics.median(wrapped)
        rows.append(
            {"flag": state, "direct_ns": round(d, 1), "guarded_ns": round(w, 1), "overhead_ns": round(w - d, 1)}
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print("| flag | direct call (ns) | through guard (ns) | guard overhead (ns) |")
    print("|---|---|---|---|")
    for row in run(args.quick):
        print(f"| {row['flag']} | {row['direct_ns']} | {row['guarded_ns']} | {row['overhead_ns']} |")


if __name__ == "__main__":
    main()
