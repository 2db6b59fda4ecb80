"""Timing one arm's batch of operations: run for a time budget, report the mean cost per operation.

Operations are run in chunks that double in size (1, 2, 4, ... up to 64) and the clock is read only
between chunks, so the loop's own overhead stays far below a microsecond per operation.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

MAX_CHUNK = 64


@dataclass
class Sample:
    """One arm's measurement in one round.

    ``value`` is the mean cost per operation in microseconds (latency scenarios) or the requests per
    second (throughput scenarios); ``ops`` how many operations it covered; ``extra`` scenario data
    (latencies, failures, feature call counts).
    """

    value: float
    ops: int
    extra: dict[str, Any] = field(default_factory=dict)


def time_sync(op: Callable[[], object], budget_s: float, *, min_ops: int = 3, max_ops: int = 1_000_000) -> Sample:
    """Call ``op()`` until ``budget_s`` seconds passed (and at least ``min_ops`` calls); µs per call."""
    clock = time.perf_counter
    count = 0
    chunk = 1
    start = clock()
    while True:
        for _ in range(chunk):
            op()
        count += chunk
        elapsed = clock() - start
        if (elapsed >= budget_s and count >= min_ops) or count >= max_ops:
            break
        chunk = min(chunk * 2, MAX_CHUNK, max_ops - count)
    return Sample(elapsed / count * 1e6, count)


async def time_async(
    op: Callable[[], Awaitable[object]], budget_s: float, *, min_ops: int = 3, max_ops: int = 1_000_000
) -> Sample:
    """Await ``op()`` one call after the other until ``budget_s`` passed; µs per call."""
    clock = time.perf_counter
    count = 0
    chunk = 1
    start = clock()
    while True:
        for _ in range(chunk):
            await op()
        count += chunk
        elapsed = clock() - start
        if (elapsed >= budget_s and count >= min_ops) or count >= max_ops:
            break
        chunk = min(chunk * 2, MAX_CHUNK, max_ops - count)
    return Sample(elapsed / count * 1e6, count)
