"""Simple-shuffle: the accelerated pick has stock litellm's pick distribution (chi-square), sync and async."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from scipy.stats import chi2_contingency

from tests.routing.helpers import (
    accelerated_routing,
    count_picks,
    deployment,
    make_router,
    picked_id,
    put_cooldown,
    shuffle_list,
)

PICKS = 2000
ALPHA = 1e-4  # false-alarm rate per comparison; a real distribution difference gives p << 1e-10 here


def _weighted_mixed() -> list[dict]:
    # weight set on some deployments only: stock gives the others probability 0
    return [
        deployment("g", "openai/gpt-4o", "w3", weight=3, rpm=1),
        deployment("g", "openai/gpt-4o", "w1", weight=1, rpm=50),
        deployment("g", "openai/gpt-4o", "none", rpm=100),
        deployment("g", "openai/gpt-4o", "w6", weight=6),
    ]


MODEL_LISTS = {
    "rpm": lambda: shuffle_list(6, "rpm"),
    "tpm": lambda: shuffle_list(6, "tpm"),
    "weight": lambda: shuffle_list(6, "weight"),
    "uniform": lambda: shuffle_list(6, None),
    "weight-mixed": _weighted_mixed,
}


def _assert_same_distribution(stock: Counter[str], accel: Counter[str]) -> None:
    keys = sorted(set(stock) | set(accel))
    assert set(accel) <= set(stock) | set(accel)
    table = [[stock.get(k, 0) for k in keys], [accel.get(k, 0) for k in keys]]
    if len(keys) == 1:
        assert set(stock) == set(accel)
        return
    _, p_value, _, _ = chi2_contingency(table)
    assert p_value > ALPHA, (stock, accel, p_value)


@pytest.mark.parametrize("name", sorted(MODEL_LISTS))
def test_sync_pick_distribution_matches_stock(name: str) -> None:
    router = make_router(model_list=MODEL_LISTS[name]())
    stock = count_picks(lambda: router.get_available_deployment("g"), PICKS)
    with accelerated_routing() as impl:
        accel = count_picks(lambda: router.get_available_deployment("g"), PICKS)
        assert impl.metrics.accelerated >= PICKS
    _assert_same_distribution(stock, accel)
    if name == "weight-mixed":
        assert "none" not in accel and "none" not in stock


@pytest.mark.parametrize("name", ["rpm", "weight-mixed"])
def test_async_pick_distribution_matches_stock(name: str) -> None:
    router = make_router(model_list=MODEL_LISTS[name]())

    async def picks() -> Counter[str]:
        counts: Counter[str] = Counter()
        for _ in range(PICKS):
            counts[picked_id(await router.select("g", {}))] += 1
        return counts

    stock = asyncio.run(picks())
    with accelerated_routing() as impl:
        accel = asyncio.run(picks())
        assert impl.metrics.accelerated >= PICKS
    _assert_same_distribution(stock, accel)


def test_distribution_over_the_rest_when_weighted_deployments_cool_down() -> None:
    # With every weighted deployment cooling, stock falls back to rpm among the others.
    model_list = [
        deployment("g", "openai/gpt-4o", "w", weight=5, rpm=1),
        deployment("g", "openai/gpt-4o", "a", rpm=10),
        deployment("g", "openai/gpt-4o", "b", rpm=30),
    ]
    router = make_router(model_list=model_list)
    put_cooldown(router, "w")
    stock = count_picks(lambda: router.get_available_deployment("g"), PICKS)
    with accelerated_routing() as impl:
        accel = count_picks(lambda: router.get_available_deployment("g"), PICKS)
        assert impl.metrics.accelerated >= PICKS
    assert "w" not in stock and "w" not in accel
    _assert_same_distribution(stock, accel)


def test_alias_resolves_like_stock() -> None:
    router = make_router(model_list=shuffle_list(4, "rpm"), model_group_alias={"alias": "g"})
    stock = router.get_available_deployment("alias")
    with accelerated_routing() as impl:
        accel = router.get_available_deployment("alias")
        assert impl.metrics.accelerated >= 1
    assert accel["model_name"] == stock["model_name"] == "g"
    assert set(accel) == set(stock)
    assert accel["litellm_params"].keys() == stock["litellm_params"].keys()
