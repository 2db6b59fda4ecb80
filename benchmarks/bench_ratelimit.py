"""Rate-limit decisions: litellm's own limiters against the litellm-accel ratelimit plugin.

Scenarios (same limits on both sides, limits high enough that every call is admitted):

- ``memory-key+user+team``: litellm's proxy limiter (``parallel_request_limiter_v3``) pre-call hook in
  memory, against the plugin's proxy hook (``RateLimitProxyHook``) and its direct ``acquire_sync``.
- ``memory-router-check``: the Router's ``enforce_model_rate_limits`` check
  (``ModelRateLimitingCheck.async_pre_call_check``) stock, against the same method after
  ``litellm_accel.install()`` (guard included).
- ``redis-key+user+team``: on one redis-server, litellm's proxy hook against the plugin's async
  ``acquire``; plus one bare ``EVALSHA`` (a script returning 1) as the round-trip floor.

Method: both arms in one process; rounds alternate A B A B ...; each round times a batch of calls
with ``perf_counter_ns`` and records the mean per call; the table shows medians over rounds and the
ratio stock / accelerated (the last column: the accelerated arm's fastest round, the least disturbed
by other load on a shared machine). Without ``--redis-url`` a redis-server is started on a free loopback port
(if ``redis-server`` is installed).

    LITELLM_LOCAL_MODEL_COST_MAP=True uv run --frozen python benchmarks/bench_ratelimit.py [--quick] [--redis-url URL]

``run(quick, redis_url)`` returns the rows (``scenario``, ``stock_us``, ``accel_us``, ``ratio`` and
details) for ``litellm-accel bench``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_LOG", "ERROR")

BIG = 10**9  # limits no benchmark call reaches


# -- timing ------------------------------------------------------------------------------------------
async def _time_async(fn: Callable[[], Awaitable[Any]], calls: int) -> float:
    t0 = time.perf_counter_ns()
    for _ in range(calls):
        await fn()
    return (time.perf_counter_ns() - t0) / calls / 1000


def _time_sync(fn: Callable[[], Any], calls: int) -> float:
    t0 = time.perf_counter_ns()
    for _ in range(calls):
        fn()
    return (time.perf_counter_ns() - t0) / calls / 1000


async def _interleaved(
    arms: dict[str, Callable[[], Any]], rounds: int, calls: int, is_async: set[str]
) -> dict[str, float]:
    """Median per-call microseconds of each arm, rounds interleaved A B C A B C ..."""
    samples: dict[str, list[float]] = {name: [] for name in arms}
    for name, fn in arms.items():  # warm-up
        if name in is_async:
            await _time_async(fn, max(1, calls // 5))
        else:
            _time_sync(fn, max(1, calls // 5))
    for _ in range(rounds):
        for name, fn in arms.items():
            if name in is_async:
                samples[name].append(await _time_async(fn, calls))
            else:
                samples[name].append(_time_sync(fn, calls))
    for name, v in samples.items():
        BEST[name] = min(v)
    return {name: statistics.median(v) for name, v in samples.items()}


#: Fastest round per arm of the last ``_interleaved`` call (the least disturbed by other load on a
#: shared machine; the ratios use the medians).
BEST: dict[str, float] = {}


def _row(scenario: str, stock: float, accel: float, **extra: Any) -> dict[str, Any]:
    return {
        "scenario": scenario,
        "stock_us": round(stock, 2),
        "accel_us": round(accel, 2),
        "ratio": round(stock / accel, 1) if accel > 0 else None,
        **extra,
    }


# -- stock builders ------------------------------------------------------------------------------------
async def _no_tags(_tags: Any) -> dict[str, Any]:
    return {}


def _stock_proxy_hook(redis_url: str | None) -> Any:
    from litellm import DualCache
    from litellm.proxy.hooks.parallel_request_limiter_v3 import _PROXY_MaxParallelRequestsHandler_v3
    from litellm.proxy.utils import InternalUsageCache

    redis_cache = None
    if redis_url is not None:
        from litellm.caching.redis_cache import RedisCache

        redis_cache = RedisCache(url=redis_url)
    return _PROXY_MaxParallelRequestsHandler_v3(
        InternalUsageCache(dual_cache=DualCache(redis_cache=redis_cache)),
        tag_rate_limit_resolver=_no_tags,
        model_group_resolver=lambda _m: None,
        counted_models_resolver=lambda m, _t: (m,),
        media_model_resolver=lambda m, _t: (m,),
        ptu_team_ceiling_resolver=lambda _a, _b: None,
        fail_closed_resolver=lambda: False,
        force_hash_tag_grouping_resolver=lambda: False,
    )


def _auth() -> Any:
    from litellm.proxy._types import UserAPIKeyAuth

    return UserAPIKeyAuth(
        api_key="sk-bench",
        rpm_limit=BIG,
        user_id="bench-user",
        user_rpm_limit=BIG,
        team_id="bench-team",
        team_rpm_limit=BIG,
    )


def _scopes() -> list[Any]:
    from litellm_accel_ratelimit import Scope

    return [
        Scope("api_key", "sk-bench", rpm=BIG),
        Scope("user", "bench-user", rpm=BIG),
        Scope("team", "bench-team", rpm=BIG),
    ]


# -- scenarios -------------------------------------------------------------------------------------------
async def memory_proxy(rounds: int, calls: int) -> list[dict[str, Any]]:
    from litellm import DualCache

    from litellm_accel_ratelimit import create_limiter
    from litellm_accel_ratelimit.proxy import RateLimitProxyHook

    stock = _stock_proxy_hook(None)
    limiter = create_limiter({})
    ours = RateLimitProxyHook(limiter)
    auth, cache, scopes = _auth(), DualCache(), _scopes()

    async def stock_call() -> None:
        await stock.async_pre_call_hook(
            user_api_key_dict=auth, cache=cache, data={"model": "gpt-4o"}, call_type="acompletion"
        )

    async def hook_call() -> None:
        await ours.async_pre_call_hook(auth, cache, {"model": "gpt-4o"}, "acompletion")

    def direct_call() -> None:
        limiter.acquire_sync(scopes)

    medians = await _interleaved(
        {"stock": stock_call, "hook": hook_call, "direct": direct_call}, rounds, calls, {"stock", "hook"}
    )
    limiter.close()
    return [
        _row(
            "memory key+user+team: proxy hook",
            medians["stock"],
            medians["hook"],
            stock_fn="parallel_request_limiter_v3.async_pre_call_hook",
            accel_fn="RateLimitProxyHook.async_pre_call_hook",
            accel_best_us=round(BEST["hook"], 2),
        ),
        _row(
            "memory key+user+team: decision",
            medians["stock"],
            medians["direct"],
            stock_fn="parallel_request_limiter_v3.async_pre_call_hook",
            accel_fn="BuiltinRateLimiter.acquire_sync",
            accel_best_us=round(BEST["direct"], 2),
        ),
    ]


async def memory_router_check(rounds: int, calls: int) -> list[dict[str, Any]]:
    from litellm import DualCache
    from litellm.router_utils.pre_call_checks.model_rate_limit_check import ModelRateLimitingCheck

    import litellm_accel
    from litellm_accel.settings import AccelSettings

    stock_async = ModelRateLimitingCheck.__dict__["async_pre_call_check"]
    stock_sync = ModelRateLimitingCheck.__dict__["pre_call_check"]
    check = ModelRateLimitingCheck(DualCache())
    deployment = {
        "model_name": "g",
        "litellm_params": {"model": "openai/gpt-4o", "rpm": BIG, "tpm": BIG},
        "model_info": {"id": "bench-deployment"},
    }
    from litellm_accel.installer import is_installed

    was_installed = is_installed()
    if not was_installed:
        litellm_accel.install(
            AccelSettings(tokens={"enabled": False}, routing={"enabled": False}, pool={"enabled": False})
        )
    try:
        accel_async = ModelRateLimitingCheck.async_pre_call_check
        accel_sync = ModelRateLimitingCheck.pre_call_check
        if accel_async is stock_async:
            raise RuntimeError("the ratelimit feature did not attach")

        async def stock_call() -> None:
            await stock_async(check, deployment, None)

        async def accel_call() -> None:
            await accel_async(check, deployment, None)

        medians = await _interleaved(
            {
                "stock": stock_call,
                "accel": accel_call,
                "stock_sync": lambda: stock_sync(check, deployment),
                "accel_sync": lambda: accel_sync(check, deployment),
            },
            rounds,
            calls,
            {"stock", "accel"},
        )
    finally:
        if not was_installed:
            litellm_accel.uninstall()
    return [
        _row(
            "memory deployment rpm+tpm: router check (async)",
            medians["stock"],
            medians["accel"],
            stock_fn="ModelRateLimitingCheck.async_pre_call_check",
            accel_fn="same method after install() (guarded)",
            accel_best_us=round(BEST["accel"], 2),
        ),
        _row(
            "memory deployment rpm+tpm: router check (sync)",
            medians["stock_sync"],
            medians["accel_sync"],
            stock_fn="ModelRateLimitingCheck.pre_call_check",
            accel_fn="same method after install() (guarded)",
            accel_best_us=round(BEST["accel_sync"], 2),
        ),
    ]


async def redis_scenarios(redis_url: str, rounds: int, calls: int) -> list[dict[str, Any]]:
    import redis.asyncio as aredis
    from litellm import DualCache

    from litellm_accel_ratelimit import create_limiter

    stock = _stock_proxy_hook(redis_url)
    limiter = create_limiter({"redis_timeout_ms": 2000}, redis_url=redis_url)
    client = aredis.Redis.from_url(redis_url)
    bare_sha = await client.script_load("return 1")
    auth, cache, scopes = _auth(), DualCache(), _scopes()

    async def stock_call() -> None:
        await stock.async_pre_call_hook(
            user_api_key_dict=auth, cache=cache, data={"model": "gpt-4o"}, call_type="acompletion"
        )

    async def accel_call() -> None:
        decision = await limiter.acquire(scopes)
        if decision.lease is None or decision.lease.backend != "redis":
            raise RuntimeError(f"decision did not come from Redis: {decision}")

    async def bare_call() -> None:
        await client.evalsha(bare_sha, 0)

    medians = await _interleaved(
        {"stock": stock_call, "accel": accel_call, "bare": bare_call}, rounds, calls, {"stock", "accel", "bare"}
    )
    await client.aclose()
    limiter.close()
    return [
        _row(
            "redis key+user+team: decision vs proxy hook",
            medians["stock"],
            medians["accel"],
            stock_fn="parallel_request_limiter_v3.async_pre_call_hook (Redis)",
            accel_fn="BuiltinRateLimiter.acquire",
            accel_best_us=round(BEST["accel"], 2),
        ),
        _row(
            "redis key+user+team: decision vs one bare EVALSHA",
            medians["bare"],
            medians["accel"],
            stock_fn="EVALSHA of 'return 1' (floor, not litellm)",
            accel_fn="BuiltinRateLimiter.acquire",
            accel_over_bare=round(medians["accel"] / medians["bare"], 2),
            accel_best_us=round(BEST["accel"], 2),
        ),
    ]


async def redis_concurrent(redis_url: str, rounds: int, per_client: int, clients: int = 32) -> list[dict[str, Any]]:
    """32 asyncio clients deciding one scope each on Redis: the ``limits`` library's async moving
    window (redis-py) against this limiter (``sliding_window``), decisions per second."""
    try:
        from limits import RateLimitItemPerMinute
        from limits.aio.storage import RedisStorage
        from limits.aio.strategies import MovingWindowRateLimiter
    except ImportError:
        return []
    from litellm_accel_ratelimit import Scope, create_limiter

    storage = RedisStorage("async+" + redis_url, implementation="redispy")
    moving = MovingWindowRateLimiter(storage)
    item = RateLimitItemPerMinute(BIG)
    limiter = create_limiter({"algorithm": "sliding_window", "redis_timeout_ms": 2000}, redis_url=redis_url)
    scope = Scope("api_key", "sk-bench-concurrent", rpm=BIG)

    async def limits_client(i: int) -> None:
        for _ in range(per_client):
            await moving.hit(item, "bench", str(i % 4))

    async def accel_client(i: int) -> None:
        for _ in range(per_client):
            await limiter.acquire(scope)

    async def rate(client: Callable[[int], Awaitable[None]]) -> float:
        t0 = time.perf_counter()
        await asyncio.gather(*(client(i) for i in range(clients)))
        return clients * per_client / (time.perf_counter() - t0)

    await rate(limits_client)
    await rate(accel_client)
    samples: dict[str, list[float]] = {"limits": [], "accel": []}
    for _ in range(rounds):
        samples["limits"].append(await rate(limits_client))
        samples["accel"].append(await rate(accel_client))
    limiter.close()
    limits_dps, accel_dps = statistics.median(samples["limits"]), statistics.median(samples["accel"])
    return [
        _row(
            f"redis {clients} concurrent clients, one scope (µs per decision)",
            1e6 / limits_dps,
            1e6 / accel_dps,
            stock_fn="limits.aio MovingWindowRateLimiter.hit (redis-py)",
            accel_fn="BuiltinRateLimiter.acquire",
            stock_decisions_per_s=round(limits_dps),
            accel_decisions_per_s=round(accel_dps),
        ),
    ]


# -- redis-server for the run ------------------------------------------------------------------------------
@contextmanager
def _own_redis() -> Iterator[str | None]:
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as workdir:
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            proc.wait(timeout=5)


def run(quick: bool = False, redis_url: str | None = None) -> list[dict[str, Any]]:
    """Every scenario's row; Redis scenarios on ``redis_url`` or on a redis-server started here."""
    rounds, calls = (5, 200) if quick else (15, 1000)
    rows: list[dict[str, Any]] = []

    async def main(url: str | None) -> None:
        rows.extend(await memory_proxy(rounds, calls))
        rows.extend(await memory_router_check(rounds, calls))
        if url is not None:
            rows.extend(await redis_scenarios(url, rounds, max(50, calls // 4)))
            rows.extend(await redis_concurrent(url, rounds, max(10, calls // 40)))

    if redis_url is not None:
        asyncio.run(main(redis_url))
    else:
        with _own_redis() as url:
            asyncio.run(main(url))
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    for row in rows:
        row["measured"] = stamp
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and calls")
    parser.add_argument("--redis-url", help="measure the Redis scenarios on this server")
    args = parser.parse_args()
    rows = run(args.quick, args.redis_url)
    print(f"{'scenario':58} {'stock/base µs':>14} {'accel µs':>10} {'ratio':>7} {'accel best µs':>14}")
    for row in rows:
        best = row.get("accel_best_us")
        best_text = f"{best:>14.2f}" if best is not None else f"{'':>14}"
        print(
            f"{row['scenario']:58} {row['stock_us']:>14.2f} {row['accel_us']:>10.2f} {row['ratio']:>6.1f}x {best_text}"
        )


if __name__ == "__main__":
    main()
