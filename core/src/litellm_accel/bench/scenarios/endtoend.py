"""End to end: ``Router.acompletion`` through the fake OpenAI server at a fixed concurrency.

One sample is ``requests`` calls run by ``concurrency`` workers after an untimed warm-up of
``concurrency`` calls (at most 16 with ``--quick``); its value is requests per second, and every
call's latency is kept for the p50/p99 over all rounds. Every response, warm-up included, must
succeed and carry the fake server's reply; the server's own request counter must match what the arm
sent. Failures are counted per arm and make the run fail.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from typing import Any

from litellm_accel.bench.arms import ARMS
from litellm_accel.bench.scenarios.base import BenchContext, Scenario
from litellm_accel.bench.scenarios.routers import build_router, retire_router
from litellm_accel.bench.scenarios.tokens import short_chat
from litellm_accel.bench.stats import percentile
from litellm_accel.bench.timing import Sample

MAX_REPORTED_ERRORS = 3
#: A request that takes longer fails the check instead of hanging the run.
REQUEST_TIMEOUT_S = 60.0


class EndToEnd(Scenario):
    group = "e2e"
    features = ("tokens", "routing", "ratelimit", "pool")
    unit = "req/s"
    higher_is_better = True

    def __init__(self, name: str, title: str, *, expected_reply: str) -> None:
        super().__init__(name, title)
        self.expected_reply = expected_reply
        self.groups: list[str] = []
        self.latencies_ms: dict[str, list[float]] = {arm: [] for arm in ARMS}
        self.sent: dict[str, int] = dict.fromkeys(ARMS, 0)
        self.succeeded: dict[str, int] = dict.fromkeys(ARMS, 0)
        self.failed: dict[str, int] = dict.fromkeys(ARMS, 0)
        self.wrong_content: dict[str, int] = dict.fromkeys(ARMS, 0)
        self.server_requests: dict[str, int] = dict.fromkeys(ARMS, 0)
        self.connections: dict[str, int] = dict.fromkeys(ARMS, 0)  # TCP connections the server accepted
        self.errors: dict[str, list[str]] = {arm: [] for arm in ARMS}
        self._serial = itertools.count(1)

    def setup(self, ctx: BenchContext) -> None:
        self.groups = ctx.config.model_groups

    async def _one(self, arm: str, router: Any, serial: int, latencies: list[float] | None) -> None:
        group = self.groups[serial % len(self.groups)]
        self.sent[arm] += 1
        start = time.perf_counter()
        try:
            response = await router.acompletion(model=group, messages=short_chat(serial), timeout=REQUEST_TIMEOUT_S)
        except Exception as exc:
            self.failed[arm] += 1
            if len(self.errors[arm]) < MAX_REPORTED_ERRORS:
                self.errors[arm].append(f"{type(exc).__name__}: {str(exc)[:200]}")
            return
        elapsed_ms = (time.perf_counter() - start) * 1000.0
        try:
            content = response.choices[0].message.content
        except (AttributeError, IndexError, TypeError):
            content = None
        if content != self.expected_reply:
            self.wrong_content[arm] += 1
            if len(self.errors[arm]) < MAX_REPORTED_ERRORS:
                self.errors[arm].append(f"unexpected content {str(content)[:80]!r}")
            return
        self.succeeded[arm] += 1
        if latencies is not None:
            latencies.append(elapsed_ms)

    async def _batch(self, arm: str, router: Any, count: int, concurrency: int, latencies: list[float] | None) -> float:
        serials = iter([next(self._serial) for _ in range(count)])

        async def worker() -> None:
            for serial in serials:
                await self._one(arm, router, serial, latencies)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(min(concurrency, count))))
        return time.perf_counter() - start

    def measure(self, arm: str, ctx: BenchContext) -> Sample:
        # A fresh Router per sample, retired right after: only one Router's callbacks are registered in
        # litellm at any time, as in a real process, and each is built under its own arm's litellm.
        router = build_router(ctx, ctx.config.model_list, ctx.config.router_settings)
        try:
            return self._measure(arm, router, ctx)
        finally:
            retire_router(router)

    def _measure(self, arm: str, router: Any, ctx: BenchContext) -> Sample:
        workload = ctx.workload
        before = ctx.server.stats() if ctx.server is not None else {}
        sent_before = self.sent[arm]
        warm_up = min(workload.concurrency, 16) if workload.quick else workload.concurrency
        ctx.run(self._batch(arm, router, warm_up, workload.concurrency, None))
        latencies: list[float] = []
        elapsed = ctx.run(self._batch(arm, router, workload.requests, workload.concurrency, latencies))
        if ctx.server is not None:
            after = ctx.server.stats()
            self.server_requests[arm] += after["requests"] - before["requests"]
            self.connections[arm] += after["connections_accepted"] - before["connections_accepted"]
        self.latencies_ms[arm].extend(latencies)
        sent = self.sent[arm] - sent_before
        extra = {"p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99)}
        return Sample(workload.requests / elapsed, sent, extra)

    def verify(self) -> list[str]:
        problems = []
        for arm in ARMS:
            if self.sent[arm] == 0:
                continue
            if self.failed[arm] or self.wrong_content[arm]:
                problems.append(
                    f"{self.name}: {arm} arm: {self.failed[arm]} of {self.sent[arm]} requests failed, "
                    f"{self.wrong_content[arm]} returned other content than the fake server's"
                    + (f" (first: {self.errors[arm][0]})" if self.errors[arm] else "")
                )
            elif self.server_requests[arm] and self.server_requests[arm] != self.sent[arm]:
                problems.append(
                    f"{self.name}: {arm} arm sent {self.sent[arm]} requests but the fake server saw "
                    f"{self.server_requests[arm]}"
                )
        return problems

    def details(self) -> dict[str, Any]:
        per_arm = {}
        for arm in ARMS:
            lat = self.latencies_ms[arm]
            per_arm[arm] = {
                "sent": self.sent[arm],
                "succeeded": self.succeeded[arm],
                "failed": self.failed[arm],
                "wrong_content": self.wrong_content[arm],
                "server_requests": self.server_requests[arm],
                "connections_opened": self.connections[arm],
                "p50_ms": percentile(lat, 50) if lat else None,
                "p99_ms": percentile(lat, 99) if lat else None,
                "errors": list(self.errors[arm]),
            }
        return {"model_groups": list(self.groups), "arms": per_arm}


def scenarios(concurrency: int, expected_reply: str) -> list[Callable[[], Scenario]]:
    return [
        lambda: EndToEnd(
            "e2e.acompletion",
            f"Router.acompletion via fake server, concurrency {concurrency}",
            expected_reply=expected_reply,
        )
    ]
