"""What a scenario is and what it is given."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from litellm_accel.bench.arms import Arms
    from litellm_accel.bench.server import FakeServerProcess
    from litellm_accel.bench.timing import Sample
    from litellm_accel.bench.userconfig import BenchConfig


@dataclass
class Workload:
    """How much each sample does. ``budget_s`` is the time one arm spends on one latency sample;
    ``requests`` and ``concurrency`` shape one end-to-end sample."""

    rounds: int
    budget_s: float
    requests: int
    concurrency: int
    quick: bool


@dataclass
class BenchContext:
    """Everything a scenario may use. ``loop`` is the one event loop of the whole run (routers and
    connection pools bind to a loop, so both arms use the same one)."""

    arms: Arms
    config: BenchConfig
    workload: Workload
    loop: asyncio.AbstractEventLoop
    server: FakeServerProcess | None = None
    redis_url: str | None = None
    notes: list[str] = field(default_factory=list)

    def run(self, coro: Any) -> Any:
        """Run a coroutine to completion on the bench's event loop."""
        return self.loop.run_until_complete(coro)


class Scenario(ABC):
    """One measured operation, run for both arms in interleaved rounds.

    ``features`` lists the features that can change the operation's cost; the scenario runs when at
    least one of them is active, and shows "not installed" (or the feature's status) otherwise.
    ``higher_is_better`` is False for times (``unit`` µs/op) and True for throughputs (req/s).
    """

    group: ClassVar[str]
    features: ClassVar[tuple[str, ...]]
    unit: ClassVar[str] = "µs/op"
    higher_is_better: ClassVar[bool] = False

    def __init__(self, name: str, title: str) -> None:
        self.name = name
        self.title = title

    def gate(self, ctx: BenchContext) -> str | None:
        """Why this scenario cannot run (``"not installed"`` or the features' statuses), else None.
        Default: at least one of :attr:`features` must be active."""
        from litellm_accel.bench.runner import feature_gate

        return feature_gate(self.features, ctx.arms)

    def setup(self, ctx: BenchContext) -> None:  # noqa: B027 - optional hook
        """Prepare shared inputs (runs once, in the stock arm, untimed)."""

    @abstractmethod
    def measure(self, arm: str, ctx: BenchContext) -> Sample:
        """Time one batch in ``arm`` (litellm is already switched to it)."""

    def verify(self) -> list[str]:
        """Problems found in the results after all rounds (wrong answers, failed requests)."""
        return []

    def details(self) -> dict[str, Any]:
        """Scenario-specific facts for the JSON output (checked counts, latency percentiles, ...)."""
        return {}

    def teardown(self, ctx: BenchContext) -> None:  # noqa: B027 - optional hook
        """Release what :meth:`setup` and :meth:`measure` built."""
