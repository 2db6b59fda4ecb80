"""Routing and rate limiting installed together on a router with ``enforce_model_rate_limits``.

litellm runs that check on the picked deployment inside ``completion``/``acompletion``; the rate-limit
plugin also gives it a deployment filter (saturated deployments are skipped on async picks). The
accelerated async pick runs stock's own filter pipeline over its eligible set, so it never returns a
saturated deployment, exactly like stock's async pick with the same plugins; whole requests keep their
outcomes.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import litellm_accel
from litellm_accel.settings import AccelSettings
from tests.ratelimit.test_router import _outcomes, _router


def both(**routing: Any) -> AccelSettings:
    return AccelSettings(tokens={"enabled": False}, pool={"enabled": False}, routing=routing)


async def picks(router: Any, n: int = 60) -> Counter[str]:
    found = [str((await router.select("g", {}))["model_info"]["id"]).split("-")[0] for _ in range(n)]
    return Counter(found)


async def test_async_picks_skip_saturated_deployments_like_stock() -> None:
    litellm_accel.install(both())
    try:
        router = _router(rpm=2, n=3)
        try:
            assert set(await picks(router)) == {"d0", "d1", "d2"}
            outcomes: list[str] = []
            while len({o for o, c in Counter(outcomes).items() if c == 2}) < 2:  # two reach their rpm of 2
                outcomes += await _outcomes(router, 1)
                assert len(outcomes) <= 5 and not outcomes[-1].startswith("429"), outcomes
            saturated = {o for o, count in Counter(outcomes).items() if count == 2}
            before = litellm_accel.metrics()["routing"]["accelerated"]
            accelerated = await picks(router)
            assert set(accelerated).isdisjoint(saturated) and sum(accelerated.values()) == 60
            assert litellm_accel.metrics()["routing"]["accelerated"] - before == 60  # served, not delegated
            litellm_accel.set_flag("routing", "off")
            stock = await picks(router)
            assert set(stock) == set(accelerated)  # stock's async pick filters the same deployments
        finally:
            router.retire()
    finally:
        litellm_accel.uninstall()


async def test_whole_requests_keep_their_outcomes_with_routing_installed() -> None:
    litellm_accel.install(both())
    try:
        router = _router(rpm=2)
        try:
            outcomes = await _outcomes(router, 6)
        finally:
            router.retire()
    finally:
        litellm_accel.uninstall()
    assert sorted(outcomes[:4]) == ["d0", "d0", "d1", "d1"]
    assert all(o.startswith("429:") for o in outcomes[4:])


def test_sync_picks_are_served_with_the_rate_limit_check_configured() -> None:
    litellm_accel.install(both())
    try:
        router = _router(rpm=2)
        try:
            assert {router.get_available_deployment("g")["model_info"]["id"].split("-")[0] for _ in range(40)} == {
                "d0",
                "d1",
            }
            assert litellm_accel.metrics()["routing"]["delegated"] == 0
        finally:
            router.retire()
    finally:
        litellm_accel.uninstall()
