"""Proxy hook: limits by key/user/team/model from ``UserAPIKeyAuth``, answers with litellm's own 429
(``ProxyRateLimitError``), compared with litellm's proxy limiter (parallel_request_limiter_v3) on a
corpus, and releases slots / reconciles tokens through litellm's real success and failure callbacks."""

from __future__ import annotations

import asyncio
import math
import random
from typing import Any

import litellm
import pytest
from fastapi import HTTPException
from hypothesis import given, settings
from hypothesis import strategies as st
from litellm.proxy._types import UserAPIKeyAuth

from litellm_accel_ratelimit import create_limiter
from litellm_accel_ratelimit.proxy import RateLimitProxyHook
from tests.ratelimit.stock import stock_v3_admits, stock_v3_hook

START = 1_700_000_000.0


async def admits(hook: RateLimitProxyHook, auth: UserAPIKeyAuth, data: dict[str, Any] | None = None) -> bool:
    try:
        await hook.async_pre_call_hook(auth, None, dict(data or {"model": "gpt-4o"}), "acompletion")
    except HTTPException as exc:
        assert exc.status_code == 429
        return False
    return True


def proxy_pair(t: list[float]) -> tuple[Any, RateLimitProxyHook]:
    stock = stock_v3_hook(lambda: t[0])
    ours = RateLimitProxyHook(
        create_limiter({"algorithm": "fixed_window", "window_alignment": "first_request"}, clock=lambda: t[0])
    )
    return stock, ours


async def test_denial_is_litellms_own_429_with_the_same_headers() -> None:
    t = [START]
    stock, ours = proxy_pair(t)
    auth = UserAPIKeyAuth(api_key="k", rpm_limit=1)
    assert await stock_v3_admits(stock, auth) and await admits(ours, auth)
    errors = []
    for hook in (stock, ours):
        with pytest.raises(Exception) as caught:
            await hook.async_pre_call_hook(auth, None, {"model": "gpt-4o"}, "acompletion")
        errors.append(caught.value)
    stock_error, our_error = errors
    assert type(our_error) is type(stock_error)
    assert isinstance(our_error, HTTPException) and isinstance(our_error, litellm.RateLimitError)
    assert our_error.status_code == stock_error.status_code == 429
    assert our_error.headers.keys() == stock_error.headers.keys()
    assert our_error.headers["rate_limit_type"] == stock_error.headers["rate_limit_type"] == "requests"
    # At the instant the window filled both say the whole window (60 s) ...
    assert int(our_error.headers["retry-after"]) == int(stock_error.headers["retry-after"]) == 60
    assert "api_key: k" in str(our_error.detail)
    # ... later, ours is the real remaining wait (rounded up) where stock still says the whole window.
    t[0] += 17.5
    with pytest.raises(HTTPException) as later:
        await ours.async_pre_call_hook(auth, None, {"model": "gpt-4o"}, "acompletion")
    assert int(later.value.headers["retry-after"]) == math.ceil(60 - 17.5)


async def test_same_decisions_as_stock_proxy_limiter_for_one_limited_scope() -> None:
    """Corpus: each case limits one scope kind (key, user or team) by rpm; requests arrive over less
    than one window (stock keeps its counters with real-time TTLs, so a fake clock cannot cross its
    window; window timing is tested on our side with the injectable clock)."""
    decisions = 0
    for case in range(120):
        rnd = random.Random(case)
        t = [START + rnd.randint(0, 30)]
        stock, ours = proxy_pair(t)
        kind = rnd.choice(["api_key", "user", "team"])
        limits = [rnd.randint(1, 6) for _ in range(3)]  # one limit per scope id, as a proxy's keys have
        auths = []
        for i in range(3):
            fields: dict[str, Any] = {"api_key": f"k{case}-{i}", "user_id": f"u{case}-{i % 2}", "team_id": f"t{case}"}
            scope_index = {"api_key": i, "user": i % 2, "team": 0}[kind]
            fields[{"api_key": "rpm_limit", "user": "user_rpm_limit", "team": "team_rpm_limit"}[kind]] = limits[
                scope_index
            ]
            auths.append(UserAPIKeyAuth(**fields))
        for _ in range(20):
            auth = rnd.choice(auths)
            t[0] += rnd.choice([0, 0, 1])
            assert await admits(ours, auth) == await stock_v3_admits(stock, auth), f"case {case}"
            decisions += 1
    assert decisions == 2400


@settings(max_examples=40, deadline=None)
@given(
    kind=st.sampled_from(["api_key", "user", "team"]),
    limits=st.lists(st.integers(1, 6), min_size=2, max_size=2),
    steps=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), min_size=1, max_size=20),
)
def test_property_same_decisions_as_stock_proxy_limiter(
    kind: str, limits: list[int], steps: list[tuple[int, int]]
) -> None:
    """Any sequence of requests from three keys (two users, one team) within one window, one scope kind
    limited: the admitted/denied sequence equals stock's."""
    field = {"api_key": "rpm_limit", "user": "user_rpm_limit", "team": "team_rpm_limit"}[kind]

    async def main() -> None:
        t = [START]
        stock, ours = proxy_pair(t)
        auths = []
        for i in range(3):
            scope_index = {"api_key": i % 2, "user": i % 2, "team": 0}[kind]
            auths.append(
                UserAPIKeyAuth(api_key=f"k{i % 2}", user_id=f"u{i % 2}", team_id="t", **{field: limits[scope_index]})
            )
        for who, advance in steps:
            t[0] += advance
            assert await admits(ours, auths[who]) == await stock_v3_admits(stock, auths[who])

    asyncio.run(main())


async def test_multi_scope_requests_never_exceed_any_limit() -> None:
    """With key, user and team limits together, every scope admits at most its limit. (Stock charges
    the other scopes of a denied request; this limiter charges all or nothing, so it may admit a
    request stock would deny; see docs/ratelimit.md.)"""
    for case in range(40):
        rnd = random.Random(1000 + case)
        _, ours = proxy_pair([START])
        user_limit, team_limit = rnd.randint(2, 8), rnd.randint(3, 10)
        auths = [
            UserAPIKeyAuth(
                api_key=f"k{i}",
                rpm_limit=rnd.randint(1, 5),
                user_id=f"u{i % 2}",
                user_rpm_limit=user_limit,
                team_id="t",
                team_rpm_limit=team_limit,
            )
            for i in range(4)
        ]
        per: dict[str, int] = {}
        for _ in range(40):
            auth = rnd.choice(auths)
            if await admits(ours, auth):
                for name in (auth.api_key, auth.user_id, "t"):
                    per[name] = per.get(name, 0) + 1
        assert per.get("t", 0) <= team_limit
        for auth in auths:
            assert per.get(auth.api_key, 0) <= auth.rpm_limit
            assert per.get(auth.user_id, 0) <= user_limit


async def _wait_released(hook: RateLimitProxyHook) -> None:
    for _ in range(200):
        if not hook._leases:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the lease was not released by litellm's callbacks")


@pytest.fixture
def registered() -> Any:
    hooks: list[Any] = []

    def register(hook: Any) -> None:
        litellm.callbacks.append(hook)
        hooks.append(hook)

    yield register
    for hook in hooks:
        if hook in litellm.callbacks:
            litellm.callbacks.remove(hook)


async def test_slot_released_and_tokens_reconciled_through_litellm_callbacks(registered: Any) -> None:
    hook = RateLimitProxyHook(create_limiter({"algorithm": "fixed_window"}))
    registered(hook)
    auth = UserAPIKeyAuth(api_key="k", max_parallel_requests=1, tpm_limit=1000)
    messages = [{"role": "user", "content": "hello"}]
    data: dict[str, Any] = {"model": "gpt-4o", "messages": messages, "max_tokens": 900, "litellm_call_id": "call-1"}
    await hook.async_pre_call_hook(auth, None, data, "acompletion")
    assert not await admits(hook, auth, {"model": "gpt-4o", "messages": messages, "max_tokens": 10})
    response = await litellm.acompletion(
        model="gpt-4o", messages=messages, mock_response="hi", litellm_call_id=data["litellm_call_id"]
    )
    await _wait_released(hook)
    used = response.usage.total_tokens
    # The 900+ token reservation was reconciled down to the real usage: 1000 - used remain.
    ok: dict[str, Any] = {"model": "gpt-4o", "max_tokens": 1000 - used - 1, "litellm_call_id": "call-2"}
    await hook.async_pre_call_hook(auth, None, ok, "acompletion")
    with pytest.raises(Exception) as failed:
        await litellm.acompletion(
            model="gpt-4o", messages=messages, mock_response=Exception("provider down"), litellm_call_id="call-2"
        )
    assert "provider down" in str(failed.value)
    await _wait_released(hook)  # failure: slot freed and the reservation refunded
    again: dict[str, Any] = {"model": "gpt-4o", "max_tokens": 1000 - used - 1, "litellm_call_id": "call-3"}
    await hook.async_pre_call_hook(auth, None, again, "acompletion")
    await hook.async_post_call_failure_hook(again, RuntimeError("client went away"), auth)
    assert not hook._leases


async def test_model_limits_and_configured_scopes() -> None:
    hook = RateLimitProxyHook(
        create_limiter(
            {
                "algorithm": "fixed_window",
                "model_limits": {"gpt-4o": {"rpm": 2}},
                "scopes": {"team:acme": {"rpm": 3}},
            }
        )
    )
    auth = UserAPIKeyAuth(api_key="k", team_id="acme")
    assert [await admits(hook, auth) for _ in range(3)] == [True, True, False]
    assert await admits(hook, auth, {"model": "other"})
    assert not await admits(hook, auth, {"model": "other"})  # team:acme's 3 are used


async def test_proxy_hook_on_redis(redis_url: str) -> None:
    hook = RateLimitProxyHook(create_limiter({"redis_timeout_ms": 3000}, redis_url=redis_url))
    auth = UserAPIKeyAuth(api_key="k", rpm_limit=3, user_id="u", user_rpm_limit=10, team_id="t", team_rpm_limit=10)
    results = await asyncio.gather(*(admits(hook, auth) for _ in range(20)))
    assert sum(results) == 3


async def test_hook_errors_admit_the_request() -> None:
    class Broken:
        options = create_limiter({}).options
        metrics = create_limiter({}).metrics

        def entries_for(self, scopes: Any) -> Any:
            raise RuntimeError("bug")

    hook = RateLimitProxyHook(Broken())  # type: ignore[arg-type]
    assert await admits(hook, UserAPIKeyAuth(api_key="k", rpm_limit=1))
    assert Broken.metrics.counter_value("hook_errors") == 1


async def test_through_the_proxys_callbacks_setting_and_pre_call_dispatch(registered: Any) -> None:
    """``callbacks: ["litellm_accel_ratelimit.proxy.proxy_handler_instance"]`` as the proxy resolves it,
    run by the proxy's own pre-call dispatcher (``ProxyLogging.pre_call_hook``)."""
    from litellm import DualCache
    from litellm.proxy.types_utils.utils import get_instance_fn
    from litellm.proxy.utils import ProxyLogging

    import litellm_accel_ratelimit.proxy as proxy_module

    resolved = get_instance_fn("litellm_accel_ratelimit.proxy.proxy_handler_instance")
    assert resolved is proxy_module.proxy_handler_instance
    resolved._limiter = create_limiter({"algorithm": "fixed_window"})  # this test's own limits
    registered(resolved)
    proxy_logging = ProxyLogging(user_api_key_cache=DualCache())
    auth = UserAPIKeyAuth(api_key="sk-proxy", rpm_limit=2)
    outcomes = []
    for i in range(3):
        data = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "litellm_call_id": f"p{i}"}
        try:
            await proxy_logging.pre_call_hook(user_api_key_dict=auth, data=data, call_type="acompletion")
            outcomes.append("ok")
        except HTTPException as exc:
            outcomes.append(f"{exc.status_code}:{exc.headers['retry-after']}")
    assert outcomes[:2] == ["ok", "ok"]
    status, retry = outcomes[2].split(":")
    assert status == "429" and 1 <= int(retry) <= 60
    resolved._limiter = None
