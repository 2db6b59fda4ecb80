"""Router integration: litellm's ``enforce_model_rate_limits`` check answered by the built-in limiter,
compared with the stock check on a corpus and a property test, and end to end through
``Router.acompletion`` with ``mock_response``."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from typing import Any

import litellm
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from litellm import DualCache, Router
from litellm.router_utils.pre_call_checks.model_rate_limit_check import ModelRateLimitingCheck

import litellm_accel
from litellm_accel.settings import AccelSettings
from litellm_accel_ratelimit import create_limiter
from litellm_accel_ratelimit.router import RouterLimits
from tests.ratelimit.stock import utc

START = 1_700_000_000.0  # 22:13:20 UTC


def deployment(model_id: str, rpm: int | None, tpm: int | None, where: str = "litellm_params") -> dict[str, Any]:
    params: dict[str, Any] = {"model": f"openai/{model_id}"}
    limits = {k: v for k, v in (("rpm", rpm), ("tpm", tpm)) if v is not None}
    d: dict[str, Any] = {"model_name": "g", "litellm_params": params, "model_info": {"id": model_id}}
    if where == "top":
        d.update(limits)
    else:
        d[where].update(limits)
    return d


def success_kwargs(d: dict[str, Any], tokens: int) -> dict[str, Any]:
    return {
        "standard_logging_object": {
            "model_id": d["model_info"]["id"],
            "total_tokens": tokens,
            "hidden_params": {"litellm_model_name": d["litellm_params"]["model"]},
        }
    }


class Pair:
    """Stock's check and ours on the same fake clock."""

    def __init__(self) -> None:
        self.t = START
        self.stock = ModelRateLimitingCheck(DualCache(), clock=lambda: utc(self.t))
        self.limiter = create_limiter({"router_algorithm": "fixed_window"}, clock=lambda: self.t)
        self.ours = RouterLimits(self.limiter)

    async def check(self, d: dict[str, Any], sync: bool) -> tuple[str, str]:
        return (await self._one(self.stock, d, sync, True), await self._one(self.ours, d, sync, False))

    async def _one(self, impl: Any, d: dict[str, Any], sync: bool, stock: bool) -> str:
        args = (d,) if stock else (None, d)
        try:
            if sync:
                impl.pre_call_check(*args)
            else:
                await impl.async_pre_call_check(*args, None) if stock else await impl.async_pre_call_check(
                    None, d, None
                )
        except litellm.RateLimitError as exc:
            head = str(exc).split(",")[0]
            assert exc.status_code == 429 and int(exc.response.headers["retry-after"]) > 0
            return "denied " + (head if "RPM" in head else "TPM")
        return "admitted"

    async def success(self, d: dict[str, Any], tokens: int) -> None:
        kwargs = success_kwargs(d, tokens)
        await self.stock.async_log_success_event(kwargs, None, None, None)
        await self.ours.record_success(kwargs)


async def run_case(rnd: random.Random) -> list[tuple[str, str]]:
    pair = Pair()
    pair.t = START + rnd.randint(0, 59)
    deployments = [
        deployment(
            f"d{i}",
            rnd.choice([None, rnd.randint(1, 6)]),
            rnd.choice([None, rnd.randint(20, 400)]),
            rnd.choice(["litellm_params", "model_info", "top"]),
        )
        for i in range(2)
    ]
    out = []
    for d in deployments:
        out.append(await pair.check(d, sync=False))
    for _ in range(30):
        d = rnd.choice(deployments)
        pair.t += rnd.choice([0, 0, 0, 1, 2, 7, 30, 60])
        if rnd.random() < 0.3:
            await pair.success(d, rnd.randint(1, 150))
        else:
            out.append(await pair.check(d, sync=rnd.random() < 0.3))
    return out


async def test_same_decisions_as_stock_check_on_a_corpus() -> None:
    decisions = 0
    for case in range(200):
        for stock, ours in await run_case(random.Random(case)):
            assert ours == stock, f"case {case}"
            decisions += 1
    assert decisions > 4000


@settings(max_examples=80, deadline=None)
@given(
    rpm=st.integers(1, 5),
    tpm=st.one_of(st.none(), st.integers(1, 300)),
    events=st.lists(
        st.tuples(st.sampled_from(["check", "sync", "success"]), st.integers(0, 70), st.integers(1, 200)),
        min_size=1,
        max_size=25,
    ),
)
def test_property_same_decisions_as_stock(rpm: int, tpm: int | None, events: list[tuple[str, int, int]]) -> None:
    async def main() -> None:
        pair = Pair()
        d = deployment("p", rpm, tpm)
        stock, ours = await pair.check(d, sync=False)
        assert ours == stock
        for kind, advance, tokens in events:
            pair.t += advance
            if kind == "success":
                await pair.success(d, tokens)
            else:
                stock, ours = await pair.check(d, sync=kind == "sync")
                assert ours == stock

    asyncio.run(main())


def test_daily_and_io_limits_are_left_to_stock() -> None:
    from litellm_accel.contracts import UseStock

    ours = RouterLimits(create_limiter({}))
    for extra in ({"rpd": 5}, {"tpd": 10}, {"itpm": 5}, {"otpm": 5}):
        d = deployment("x", 3, None)
        d["litellm_params"].update(extra)
        with pytest.raises(UseStock):
            ours.pre_call_check(None, d)
    bad = deployment("y", 0, None)  # stock denies everything with rpm=0; a scope cannot hold 0
    with pytest.raises(UseStock):
        ours.pre_call_check(None, bad)


_ROUTERS = itertools.count()


@pytest.fixture(autouse=True)
def _restore_litellm_callbacks() -> Any:
    """Routers register their checks in litellm's process-wide callback lists: put them back."""
    saved = {
        name: list(getattr(litellm, name))
        for name in (
            "callbacks",
            "success_callback",
            "failure_callback",
            "_async_success_callback",
            "_async_failure_callback",
        )
    }
    yield
    for name, value in saved.items():
        getattr(litellm, name)[:] = value


def _router(rpm: int | None = 2, tpm: int | None = None, n: int = 2) -> Router:
    """A router whose deployment ids are new (``d<k>-<i>``), so no earlier router's state applies."""
    k = next(_ROUTERS)
    model_list = []
    for i in range(n):
        params: dict[str, Any] = {"model": f"openai/m{i}", "api_key": "x", "mock_response": "hello there"}
        if rpm is not None:
            params["rpm"] = rpm
        if tpm is not None:
            params["tpm"] = tpm
        model_list.append({"model_name": "g", "litellm_params": params, "model_info": {"id": f"d{i}-{k}"}})
    return Router(model_list=model_list, optional_pre_call_checks=["enforce_model_rate_limits"])


async def _outcomes(router: Router, n: int) -> list[str]:
    out = []
    for _ in range(n):
        try:
            resp = await router.acompletion(model="g", messages=[{"role": "user", "content": "hi"}])
            out.append(str(resp._hidden_params.get("model_id")).split("-")[0])
        except litellm.RateLimitError as exc:
            assert exc.status_code == 429
            out.append("429:" + exc.response.headers["retry-after"])
        await asyncio.sleep(0.01)  # let success callbacks run
    return out


def _settings(**options: Any) -> AccelSettings:
    return AccelSettings(
        tokens={"enabled": False}, routing={"enabled": False}, pool={"enabled": False}, ratelimit={"options": options}
    )


async def test_router_skips_saturated_deployments_then_raises_with_retry_after() -> None:
    report = litellm_accel.install(_settings())
    assert report.features["ratelimit"].status == "active"
    outcomes = await _outcomes(_router(rpm=2), 6)
    assert sorted(outcomes[:4]) == ["d0", "d0", "d1", "d1"]  # stock would fail some of these at random
    for denied in outcomes[4:]:
        assert denied.startswith("429:") and 1 <= int(denied[4:]) <= 60
    assert litellm_accel.metrics()["ratelimit"]["accelerated"] > 0


async def _same_minute_pair(make: Any, n: int) -> tuple[list[str], list[str]]:
    for _ in range(3):
        minute = int(time.time() // 60)
        stock = await _outcomes(make(), n)
        litellm_accel.install(_settings(router_skip_saturated=False))
        try:
            accel = await _outcomes(make(), n)
        finally:
            litellm_accel.uninstall()
        if int(time.time() // 60) == minute:
            return stock, accel
    raise AssertionError("could not stay within one minute")


async def test_router_end_to_end_same_outcomes_as_stock_rpm_and_tpm() -> None:
    def norm(xs: list[str]) -> list[str]:
        return [x.split(":")[0] for x in xs]

    stock, accel = await _same_minute_pair(lambda: _router(rpm=3, n=1), 5)
    assert norm(accel) == norm(stock) == ["d0", "d0", "d0", "429", "429"]
    stock, accel = await _same_minute_pair(lambda: _router(rpm=None, tpm=15, n=1), 4)
    assert norm(accel) == norm(stock)
    assert "429" in norm(stock) and norm(stock)[0] == "d0"


def test_uninstall_restores_the_check_exactly() -> None:
    before = dict(ModelRateLimitingCheck.__dict__)
    litellm_accel.install(_settings())
    assert ModelRateLimitingCheck.__dict__["async_pre_call_check"] is not before["async_pre_call_check"]
    litellm_accel.uninstall()
    after = dict(ModelRateLimitingCheck.__dict__)
    assert after.keys() == before.keys()
    assert all(after[k] is before[k] for k in before)


async def test_shadow_mode_answers_with_stock_and_finds_no_mismatch() -> None:
    settings_ = AccelSettings(
        tokens={"enabled": False},
        routing={"enabled": False},
        pool={"enabled": False},
        ratelimit={"flag": "shadow", "options": {"router_skip_saturated": False}},
    )
    litellm_accel.install(settings_)
    outcomes = await _outcomes(_router(rpm=2, n=1), 4)
    assert [o.split(":")[0] for o in outcomes] == ["d0", "d0", "429", "429"]
    m = litellm_accel.metrics()["ratelimit"]
    assert m["shadow_runs"] >= 4 and m["shadow_mismatches"] == 0
