"""Deployment picks: ``Router.get_available_deployment`` (sync) and ``await Router.select`` (async).

Embedded configuration: one Router per strategy and size (10 or 100 deployments of one model group)
with the embedded router settings (pre-call checks on). ``--config``: one Router from the user's file,
one scenario per model group (up to four), with the file's own settings. Every pick carries a fresh
short chat (the context-window check counts its tokens) and must return a deployment of the group.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from litellm_accel.bench.arms import ARMS
from litellm_accel.bench.defaults import ROUTING_SIZES, ROUTING_STRATEGIES, deployment
from litellm_accel.bench.scenarios.base import BenchContext, Scenario
from litellm_accel.bench.scenarios.routers import build_router, deployment_ids, picked_id, retire_router
from litellm_accel.bench.scenarios.tokens import short_chat
from litellm_accel.bench.timing import Sample, time_async, time_sync

MAX_USER_GROUPS = 4


class RoutingPick(Scenario):
    group = "routing"
    features = ("routing", "tokens")

    def __init__(
        self,
        name: str,
        title: str,
        *,
        mode: str,
        strategy: str | None = None,
        size: int | None = None,
        model_group: str | None = None,
    ) -> None:
        super().__init__(name, title)
        self.mode = mode  # "sync" or "async"
        self.strategy = strategy
        self.size = size
        self.model_group = model_group
        self.routers: dict[str, Any] = {}
        self.model_list: list[dict[str, Any]] = []
        self.valid_ids: set[str] = set()
        self.bad_picks: dict[str, int] = dict.fromkeys(ARMS, 0)
        self.picks: dict[str, int] = dict.fromkeys(ARMS, 0)
        self._serial = itertools.count(1)

    def setup(self, ctx: BenchContext) -> None:
        config = ctx.config
        if self.model_group is None:  # embedded: one group of `size` deployments
            group = config.model_groups[0]
            model = str(config.deployments_of(group)[0]["litellm_params"]["model"])
            api_base = str(config.deployments_of(group)[0]["litellm_params"]["api_base"])
            self.model_group = group
            self.model_list = [deployment(group, model, i, api_base) for i in range(self.size or 10)]
            self.settings = {**config.router_settings, "routing_strategy": self.strategy}
        else:
            self.model_list = [dict(d) for d in config.model_list]
            self.settings = dict(config.router_settings)
        self.valid_ids = deployment_ids(self.model_list, self.model_group)

    def _router(self, arm: str, ctx: BenchContext) -> Any:
        # One Router per arm, reused across rounds: a pick runs no logging callbacks, so the other
        # arm's live Router does not touch this one's path.
        router = self.routers.get(arm)
        if router is None:
            router = build_router(ctx, self.model_list, self.settings)
            self.routers[arm] = router
        return router

    def _check(self, arm: str, picked: Any) -> None:
        self.picks[arm] += 1
        ident = picked_id(picked)
        if self.valid_ids and ident not in self.valid_ids:
            self.bad_picks[arm] += 1

    def measure(self, arm: str, ctx: BenchContext) -> Sample:
        router = self._router(arm, ctx)
        group = self.model_group
        assert group is not None
        size = 300 if ctx.workload.quick else 3_000
        feed = iter([short_chat(next(self._serial)) for _ in range(size)])
        check = self._check
        if self.mode == "sync":

            def op() -> None:
                check(arm, router.get_available_deployment(model=group, messages=next(feed)))

            return time_sync(op, ctx.workload.budget_s, min_ops=1, max_ops=size)

        async def aop() -> None:
            messages = next(feed)
            check(arm, await router.select(group, {"messages": messages}, messages=messages))

        return ctx.run(time_async(aop, ctx.workload.budget_s, min_ops=1, max_ops=size))

    def verify(self) -> list[str]:
        return [
            f"{self.name}: {count} {arm} picks returned a deployment outside model group {self.model_group!r}"
            for arm, count in self.bad_picks.items()
            if count
        ]

    def details(self) -> dict[str, Any]:
        return {
            "model_group": self.model_group,
            "deployments": len(self.valid_ids),
            "routing_strategy": self.settings.get("routing_strategy", "simple-shuffle"),
            "enable_pre_call_checks": bool(self.settings.get("enable_pre_call_checks", False)),
            "picks": dict(self.picks),
            "bad_picks": dict(self.bad_picks),
        }

    def teardown(self, ctx: BenchContext) -> None:
        for router in self.routers.values():
            retire_router(router)
        self.routers.clear()


QUICK_STRATEGIES = ("simple-shuffle", "usage-based-routing-v2")


def scenarios(ctx_config_is_embedded: bool, groups: list[str], *, quick: bool = False) -> list[Callable[[], Scenario]]:
    """Factories of the routing scenarios for the embedded configuration or a user's model groups."""
    factories: list[Callable[[], Scenario]] = []
    strategies = QUICK_STRATEGIES if quick else ROUTING_STRATEGIES
    for mode in ("sync", "async"):
        call = "get_available_deployment" if mode == "sync" else "await select"
        if ctx_config_is_embedded:
            for strategy, size in itertools.product(strategies, ROUTING_SIZES):
                factories.append(
                    lambda mode=mode, strategy=strategy, size=size, call=call: RoutingPick(
                        f"routing.{mode}.{strategy}.{size}",
                        f"{call}, {strategy}, {size} deployments",
                        mode=mode,
                        strategy=strategy,
                        size=size,
                    )
                )
        else:
            for group in groups[:MAX_USER_GROUPS]:
                factories.append(
                    lambda mode=mode, group=group, call=call: RoutingPick(
                        f"routing.{mode}.{group}", f"{call}, model group {group}", mode=mode, model_group=group
                    )
                )
    return factories
