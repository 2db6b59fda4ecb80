"""Interleaved rounds: the method behind every figure ``litellm-accel bench`` reports.

For each scenario: one untimed warm-up sample per arm, then ``rounds`` rounds; round *r* measures the
two arms in the order stock, accelerated when *r* is even and accelerated, stock when it is odd
(A B, B A, ...), so slow drifts of a shared machine hit both arms alike. Each sample is one value
(µs per operation, or requests per second); an arm's figure is the median over its rounds, its spread
the quartiles and the extremes, and the ratio is ``stock / accelerated`` for times and
``accelerated / stock`` for throughputs (above 1: accelerated is better).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from litellm_accel.bench.arms import ACCELERATED, ARMS, STOCK, Arms
from litellm_accel.bench.scenarios import BenchContext, Scenario
from litellm_accel.bench.stats import Summary, speedup
from litellm_accel.bench.timing import Sample
from litellm_accel.errors import ConfigError
from litellm_accel.installer import ACTIVE, NOT_INSTALLED

logger = logging.getLogger("litellm_accel.bench")

OK, NOT_RUN, INACTIVE, ERROR, FAILED = "ok", "not installed", "not active", "error", "failed"

#: Share of an implementation's guarded calls handed to stock (UseStock) above which a row is flagged.
DELEGATION_WARNING_SHARE = 0.10

#: Progress callback: (scenario name, arm or "", steps done so far).
Progress = Callable[[str, str], None]


@dataclass
class ArmResult:
    samples: list[float] = field(default_factory=list)
    ops: int = 0
    feature_calls: dict[str, dict[str, int]] = field(default_factory=dict)
    extra: list[dict[str, Any]] = field(default_factory=list)

    def add(self, sample: Sample, calls: dict[str, dict[str, int]]) -> None:
        self.samples.append(sample.value)
        self.ops += sample.ops
        if sample.extra:
            self.extra.append(sample.extra)
        for feature, counters in calls.items():
            total = self.feature_calls.setdefault(feature, {})
            for name, value in counters.items():
                total[name] = total.get(name, 0) + value

    def as_dict(self) -> dict[str, Any]:
        data = Summary.of(self.samples).as_dict() if self.samples else {}
        data["samples"] = list(self.samples)
        data["ops"] = self.ops
        data["feature_calls"] = self.feature_calls
        return data


@dataclass
class ScenarioResult:
    name: str
    title: str
    group: str
    unit: str
    higher_is_better: bool
    features: tuple[str, ...]
    status: str = OK
    reason: str = ""
    arms: dict[str, ArmResult] = field(default_factory=lambda: {arm: ArmResult() for arm in ARMS})
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0

    def median(self, arm: str) -> float | None:
        samples = self.arms[arm].samples
        return Summary.of(samples).median if samples else None

    @property
    def ratio(self) -> float | None:
        stock, accel = self.median(STOCK), self.median(ACCELERATED)
        if stock is None or accel is None:
            return None
        return speedup(stock, accel, higher_is_better=self.higher_is_better)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "group": self.group,
            "unit": self.unit,
            "higher_is_better": self.higher_is_better,
            "features": list(self.features),
            "status": self.status,
            "reason": self.reason,
            "stock": self.arms[STOCK].as_dict(),
            "accelerated": self.arms[ACCELERATED].as_dict(),
            "ratio": self.ratio,
            "problems": list(self.problems),
            "warnings": list(self.warnings),
            "details": self.details,
            "elapsed_s": round(self.elapsed_s, 3),
        }


def feature_gate(features: tuple[str, ...], arms: Arms) -> str | None:
    """Why a scenario over ``features`` cannot compare anything (none of them is active), else None:
    :data:`NOT_INSTALLED` or the features' statuses."""
    statuses = {f: arms.status(f) for f in features}
    if any(status == ACTIVE for status in statuses.values()):
        return None
    if all(status == NOT_INSTALLED for status in statuses.values()):
        return NOT_INSTALLED
    return ", ".join(f"{f} {s}" for f, s in statuses.items())


def steps_per_scenario(rounds: int) -> int:
    """Samples taken per runnable scenario (warm-up included), for the progress bar."""
    return 2 * (rounds + 1)


def run_scenario(scenario: Scenario, ctx: BenchContext, progress: Progress | None = None) -> ScenarioResult:
    """Measure one scenario for both arms; never raises for a failure inside the scenario."""
    result = ScenarioResult(
        scenario.name, scenario.title, scenario.group, scenario.unit, scenario.higher_is_better, scenario.features
    )
    gate = scenario.gate(ctx)
    if gate is not None:
        result.status = NOT_RUN if gate == NOT_INSTALLED else INACTIVE
        result.reason = gate if gate != NOT_INSTALLED else f"no {'/'.join(scenario.features)} plugin installed"
        result.details = {"feature_status": {f: ctx.arms.status(f) for f in scenario.features}}
        return result
    started = time.perf_counter()
    rounds = ctx.workload.rounds
    try:
        ctx.arms.switch(STOCK)
        scenario.setup(ctx)
        for index in range(rounds + 1):
            order = (STOCK, ACCELERATED) if index % 2 == 0 else (ACCELERATED, STOCK)
            for arm in order:
                ctx.arms.switch(arm)
                before = ctx.arms.counters()
                sample = scenario.measure(arm, ctx)
                calls = Arms.delta(before, ctx.arms.counters())
                if index > 0:  # round 0 is the warm-up
                    result.arms[arm].add(sample, calls)
                elif arm == STOCK and calls:
                    result.arms[arm].feature_calls.update(calls)
                if progress is not None:
                    progress(scenario.name, arm)
        result.problems.extend(scenario.verify())
    except ConfigError:
        raise
    except Exception as exc:
        logger.debug("scenario %s failed", scenario.name, exc_info=True)
        result.status = ERROR
        result.reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
    finally:
        try:
            result.details = scenario.details()
        except Exception as exc:  # details are informative only
            logger.debug("details of %s failed: %s", scenario.name, exc)
        ctx.arms.switch(STOCK)
        try:
            scenario.teardown(ctx)
        except Exception as exc:
            logger.debug("teardown of %s failed: %s", scenario.name, exc)
    result.elapsed_s = time.perf_counter() - started
    _check_arms_ran(result, ctx)
    if result.status == OK and result.problems:
        result.status = FAILED
    return result


def _check_arms_ran(result: ScenarioResult, ctx: BenchContext) -> None:
    """The stock arm must never reach an implementation; the accelerated arm should, for at least one
    of the scenario's features (a measurement where it never did compares stock with stock)."""
    if result.status != OK:
        return
    stock_calls = {f: c for f, c in result.arms[STOCK].feature_calls.items() if c.get("calls")}
    if stock_calls:
        result.problems.append(
            f"{result.name}: the stock arm reached accelerated code ({', '.join(sorted(stock_calls))}); "
            "uninstall() did not restore litellm"
        )
    served = result.arms[ACCELERATED].feature_calls
    for feature, counters in sorted(served.items()):
        calls = counters.get("calls", 0)
        handed = counters.get("delegated", 0)
        failed = counters.get("fallbacks", 0)
        # Handing a few inputs to stock is by design; a large share means the row mostly measures stock.
        if calls and handed >= DELEGATION_WARNING_SHARE * calls:
            result.warnings.append(f"{feature}: {handed} of {calls} guarded calls handed to stock (UseStock)")
        if calls and failed:
            result.warnings.append(f"{feature}: {failed} of {calls} guarded calls failed and were answered by stock")
    if result.group == "ratelimit":
        return  # measured on its own implementation instance, not through the guard
    if not any(served.get(f, {}).get("calls") for f in result.features if ctx.arms.status(f) == ACTIVE):
        active = [f for f in result.features if ctx.arms.status(f) == ACTIVE]
        result.warnings.append(
            f"the accelerated arm never reached the active {'/'.join(active)} implementation on this path"
        )
