"""Summaries of benchmark samples: median, quartiles, extremes, percentiles."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    if len(ordered) == 1:
        return float(ordered[0])
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = math.ceil(position)
    if low == high:
        return float(ordered[low])
    return float(ordered[low] + (ordered[high] - ordered[low]) * (position - low))


@dataclass(frozen=True)
class Summary:
    """Median and spread of one arm's samples (one sample per round)."""

    median: float
    q1: float
    q3: float
    minimum: float
    maximum: float
    count: int

    @classmethod
    def of(cls, samples: Sequence[float]) -> Summary:
        return cls(
            median=percentile(samples, 50),
            q1=percentile(samples, 25),
            q3=percentile(samples, 75),
            minimum=float(min(samples)) if samples else math.nan,
            maximum=float(max(samples)) if samples else math.nan,
            count=len(samples),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "median": _finite(self.median),
            "q1": _finite(self.q1),
            "q3": _finite(self.q3),
            "min": _finite(self.minimum),
            "max": _finite(self.maximum),
            "rounds": self.count,
        }


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else value


def speedup(stock: float, accelerated: float, *, higher_is_better: bool) -> float | None:
    """How many times better accelerated is than stock (> 1: accelerated is better).

    For times (lower is better) that is ``stock / accelerated``; for throughputs ``accelerated / stock``.
    """
    if math.isnan(stock) or math.isnan(accelerated) or stock <= 0 or accelerated <= 0:
        return None
    return accelerated / stock if higher_is_better else stock / accelerated
