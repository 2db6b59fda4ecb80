"""A small log-linear latency histogram: constant-time record, approximate percentiles.

Buckets split every power of two of nanoseconds into four, so a reported percentile is within
about 19% of the true value, which is plenty to tell 2 µs from 40 µs and cheap enough
(one ``bit_length`` and one list increment) for a guard that must stay under a microsecond.
"""

from __future__ import annotations

_SUB_BITS = 2
_SUB = 1 << _SUB_BITS
_BUCKETS = 64 * _SUB


class Histogram:
    """Counts of observed durations in nanoseconds."""

    __slots__ = ("_counts", "count", "total_ns")

    def __init__(self) -> None:
        self._counts = [0] * _BUCKETS
        self.count = 0
        self.total_ns = 0

    def record(self, ns: int) -> None:
        """Add one observation of ``ns`` nanoseconds (negative values count as zero)."""
        if ns < 0:
            ns = 0
        bits = ns.bit_length()
        if bits > _SUB_BITS:
            index = (bits << _SUB_BITS) | ((ns >> (bits - 1 - _SUB_BITS)) & (_SUB - 1))
        else:
            index = ns
        self._counts[index] += 1
        self.count += 1
        self.total_ns += ns

    @staticmethod
    def _bucket_upper(index: int) -> float:
        bits, sub = index >> _SUB_BITS, index & (_SUB - 1)
        if bits <= _SUB_BITS:
            return float(index)
        base = 1 << (bits - 1)
        return base + (sub + 1) * (base >> _SUB_BITS)

    def percentile(self, q: float) -> float | None:
        """Approximate ``q``-th percentile (0-100) in nanoseconds, or ``None`` without data."""
        if self.count == 0:
            return None
        rank = max(1, round(q / 100.0 * self.count))
        seen = 0
        for index, n in enumerate(self._counts):
            seen += n
            if seen >= rank:
                return self._bucket_upper(index)
        return self._bucket_upper(_BUCKETS - 1)

    def summary(self) -> dict[str, float | int | None]:
        """Count, mean and p50/p95/p99 in microseconds."""

        def us(v: float | None) -> float | None:
            return None if v is None else round(v / 1000.0, 3)

        return {
            "count": self.count,
            "mean_us": us(self.total_ns / self.count) if self.count else None,
            "p50_us": us(self.percentile(50)),
            "p95_us": us(self.percentile(95)),
            "p99_us": us(self.percentile(99)),
        }
