"""Routing: accelerated deployment picks vs stock litellm, in one process, interleaved.

Each scenario builds one ``litellm.Router`` and times, in alternating rounds (stock, accelerated,
stock, accelerated, ...), a batch of picks through stock litellm's own function (the original
``RustCore`` method, called directly) and through the installed accelerated one. Reported: the median
per-call time of each side over the rounds, and ``ratio = stock / accelerated`` (higher is faster).

    uv run --frozen python benchmarks/bench_routing.py [--quick]

Scenarios: sync pick (``Router.get_available_deployment``) and async pick (``await Router.select``)
per strategy at 10 and 100 deployments (1,000 for simple-shuffle); the sync pick with
``enable_pre_call_checks=True`` at 10 deployments; and ``Router.acompletion(mock_response=...)`` with
usage-based-routing-v2 and pre-call checks at 10 deployments (requests per second in ``note``).
Stock rounds run with the routing flag ``off`` (see :func:`interleaved`).

With ``--redis-url``, also shared state across instances for least-busy, latency-based and
usage-based-v2 at 10 and 100 deployments: stock is a router with its own Redis (``redis_host``/
``redis_port``: stock's sharing, a Redis read per pick), accelerated is a router without one, with the
litellm-accel ``redis_url`` (shared through the background exchange, merged in memory on the pick), with
another participant's state for every deployment already in the snapshot.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_LOG", "ERROR")

MESSAGES = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "What is 2 + 2?"}]
COST_MODELS = ("gpt-4o", "gpt-4o-mini", "gpt-4", "gpt-3.5-turbo", "gpt-4-turbo")


def model_list(n: int, strategy: str) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        model = COST_MODELS[i % len(COST_MODELS)] if strategy == "cost-based-routing" else "openai/gpt-4o"
        params: dict[str, Any] = {"model": model, "api_key": "sk-bench", "api_base": f"http://127.0.0.1:9/{i}"}
        params["rpm"] = 10_000 + i
        params["tpm"] = 10_000_000
        out.append({"model_name": "g", "litellm_params": params, "model_info": {"id": f"d{i}"}})
    return out


def _time_sync(fn: Callable[[], Any], calls: int) -> float:
    start = time.perf_counter_ns()
    for _ in range(calls):
        fn()
    return (time.perf_counter_ns() - start) / calls / 1000


def _time_async(fn: Callable[[], Awaitable[Any]], calls: int) -> float:
    async def batch() -> float:
        start = time.perf_counter_ns()
        for _ in range(calls):
            await fn()
        return (time.perf_counter_ns() - start) / calls / 1000

    return asyncio.run(batch())


def interleaved(stock: Callable[[], float], accel: Callable[[], float], rounds: int) -> tuple[float, float]:
    """Median per-call times of ``stock`` and ``accel`` over alternating rounds. The stock rounds run
    with the routing flag ``off``: the host functions the attachment also accelerates (context
    windows, pre-call counts), which stock's pick calls internally, then answer with stock too."""
    import litellm_accel

    def stock_round() -> float:
        litellm_accel.set_flag("routing", "off")
        try:
            return stock()
        finally:
            litellm_accel.set_flag("routing", "on")

    stock_times, accel_times = [], []
    stock_round()  # warm both sides (view build, cost map, tokenizer)
    accel()
    for _ in range(rounds):
        stock_times.append(stock_round())
        accel_times.append(accel())
    return statistics.median(stock_times), statistics.median(accel_times)


def _retire(router: Any) -> None:
    # Each Router registers its strategy selectors in litellm's global callbacks; retiring it keeps
    # later scenarios from paying for every earlier router's callbacks on each call.
    try:
        router.retire()
    except Exception:
        pass


def _row(scenario: str, stock_us: float, accel_us: float, note: str = "") -> dict[str, Any]:
    return {
        "scenario": scenario,
        "stock_us": round(stock_us, 2),
        "accel_us": round(accel_us, 2),
        "ratio": round(stock_us / accel_us, 1) if accel_us else float("inf"),
        "note": note,
    }


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Rows ``{scenario, stock_us, accel_us, ratio, note}`` (installs and uninstalls litellm-accel)."""
    from litellm import Router
    from litellm.router_rust.core import RustCore

    import litellm_accel
    from litellm_accel.settings import AccelSettings

    stock_pick = RustCore.__dict__["get_available_deployment"]
    stock_select = RustCore.__dict__["select"]
    stock = (stock_pick, stock_select)  # captured before install() patches the class
    rounds = 5 if quick else 11
    sizes = {"simple-shuffle": (10, 100, 1000)}
    strategies = (
        "simple-shuffle",
        "least-busy",
        "latency-based-routing",
        "usage-based-routing-v2",
        "cost-based-routing",
    )
    rows: list[dict[str, Any]] = []
    settings = AccelSettings(tokens={"enabled": False}, pool={"enabled": False}, ratelimit={"enabled": False})
    litellm_accel.install(settings)
    try:
        # First, before other routers register their callbacks in this process.
        rows.append(_acompletion_row(Router, quick, rounds))
        for strategy in strategies:
            for n in sizes.get(strategy, (10, 100)):
                if quick and n == 1000:
                    continue
                calls = max(20, (2000 if quick else 6000) // n)
                router = Router(model_list=model_list(n, strategy), routing_strategy=strategy)
                has_sync = strategy != "cost-based-routing"  # stock has no sync cost-based pick
                rows += _pick_rows(router, f"{strategy} N={n}", calls, rounds, stock, sync=has_sync)
                _retire(router)
        for n in (10, 100):
            # latency-based routing with 10 recorded latencies per deployment (the rows above: none yet)
            router = Router(model_list=model_list(n, "latency-based-routing"), routing_strategy="latency-based-routing")
            selector = router._core._selectors.default
            for i in range(n):
                for j in range(10):
                    kwargs = {"litellm_params": {"metadata": {"model_group": "g"}, "model_info": {"id": f"d{i}"}}}
                    selector.log_success_event(kwargs, None, 0.0, 0.05 + 0.001 * ((i * 7 + j) % 13))
            calls = max(20, (2000 if quick else 6000) // n)
            label = f"latency-based-routing N={n}, 10 latencies recorded each"
            rows += _pick_rows(router, label, calls, rounds, stock)
            _retire(router)
        for strategy in ("simple-shuffle", "usage-based-routing-v2"):
            router = Router(model_list=model_list(10, strategy), routing_strategy=strategy, enable_pre_call_checks=True)
            core = router._core
            calls = 100 if quick else 300
            s, a = interleaved(
                lambda core=core, calls=calls: _time_sync(lambda: stock_pick(core, "g", messages=MESSAGES), calls),
                lambda router=router, calls=calls: _time_sync(
                    lambda: router.get_available_deployment("g", messages=MESSAGES), calls
                ),
                rounds,
            )
            rows.append(_row(f"sync pick + pre-call checks {strategy} N=10", s, a))
            _retire(router)
        rows.append(_trivial_strategy_row(Router, quick, rounds))
    finally:
        litellm_accel.uninstall()
    return rows


def _pick_rows(
    router: Any, label: str, calls: int, rounds: int, stock: tuple[Any, Any], *, sync: bool = True
) -> list[dict[str, Any]]:
    """Sync (unless ``sync=False``) and async pick rows: ``stock`` (``RustCore``'s own pick and select,
    captured before install) on the router's core against the installed accelerated ones, interleaved."""
    stock_pick, stock_select = stock
    core = router._core
    rows = []
    if sync:
        s, a = interleaved(
            lambda: _time_sync(lambda: stock_pick(core, "g"), calls),
            lambda: _time_sync(lambda: router.get_available_deployment("g"), calls),
            rounds,
        )
        rows.append(_row(f"sync pick {label}", s, a))
    s, a = interleaved(
        lambda: _time_async(lambda: stock_select(core, "g", {}), calls),
        lambda: _time_async(lambda: router.select("g", {}), calls),
        rounds,
    )
    rows.append(_row(f"async pick {label}", s, a))
    return rows


def _trivial_strategy_row(router_cls: Any, quick: bool, rounds: int) -> dict[str, Any]:
    """Reference: ``await Router.select`` with a trivial registered custom strategy (litellm's own
    machinery around a strategy that does no work) vs the accelerated simple-shuffle async pick, N=100."""
    from litellm.types.router import CustomRoutingStrategyBase

    class FirstDeployment(CustomRoutingStrategyBase):
        def __init__(self, deployment: dict[str, Any]) -> None:
            self.deployment = deployment

        async def async_get_available_deployment(self, *args: Any, **kwargs: Any) -> Any:
            return self.deployment

        def get_available_deployment(self, *args: Any, **kwargs: Any) -> Any:
            return self.deployment

    trivial = router_cls(model_list=model_list(100, "simple-shuffle"))
    trivial.register_plugin(FirstDeployment(trivial.get_model_list(model_name="g")[0]))
    accelerated = router_cls(model_list=model_list(100, "simple-shuffle"))
    calls = 200 if quick else 1000
    s, a = interleaved(
        lambda: _time_async(lambda: trivial.select("g", {}), calls),
        lambda: _time_async(lambda: accelerated.select("g", {}), calls),
        rounds,
    )
    _retire(trivial)
    _retire(accelerated)
    return _row(
        "async pick: stock with a trivial registered strategy vs accelerated simple-shuffle N=100",
        s,
        a,
        note="stock column: litellm's cost around a strategy that does nothing",
    )


def _acompletion_row(router_cls: Any, quick: bool, rounds: int) -> dict[str, Any]:
    """``Router.acompletion(mock_response)``, usage-based-routing-v2 + pre-call checks, N=10: the
    accelerated side runs with litellm-accel installed, the stock side with the flag ``off``."""
    router = router_cls(
        model_list=model_list(10, "usage-based-routing-v2"),
        routing_strategy="usage-based-routing-v2",
        enable_pre_call_checks=True,
    )
    calls = 40 if quick else 120

    def timed() -> float:
        return _time_async(lambda: router.acompletion(model="g", messages=MESSAGES, mock_response="4"), calls)

    s, a = interleaved(timed, timed, rounds)
    _retire(router)
    return _row(
        "Router.acompletion(mock) usage-v2 + pre-call N=10",
        s,
        a,
        note=f"{1e6 / s:.0f} req/s stock, {1e6 / a:.0f} req/s accelerated",
    )


def shared_state_rows(redis_url: str, quick: bool = False) -> list[dict[str, Any]]:
    """Picks with state shared across instances: stock's router-owned Redis vs the accelerated exchange."""
    from datetime import datetime, timezone
    from urllib.parse import urlparse

    from litellm import Router

    import litellm_accel
    from litellm_accel.settings import AccelSettings

    parsed = urlparse(redis_url)
    rounds = 5 if quick else 11
    rows: list[dict[str, Any]] = []
    settings = AccelSettings(
        redis_url=redis_url,
        routing={"options": {"shared_state_flush_seconds": 0.2, "shared_state_ttl_seconds": 30}},
        tokens={"enabled": False},
        pool={"enabled": False},
        ratelimit={"enabled": False},
    )
    implementation = litellm_accel.install(settings) and litellm_accel.get_implementation("routing")
    try:
        for strategy in ("least-busy", "latency-based-routing", "usage-based-routing-v2"):
            for n in (10, 100):
                calls = max(20, (1000 if quick else 3000) // n)
                stock = Router(
                    model_list=model_list(n, strategy),
                    routing_strategy=strategy,
                    redis_host=parsed.hostname,
                    redis_port=parsed.port or 6379,
                )
                accel = Router(model_list=model_list(n, strategy), routing_strategy=strategy)
                peer = Router(model_list=model_list(n, strategy), routing_strategy=strategy)
                minute = datetime.now(timezone.utc).strftime("%H-%M")
                cache = peer._core._cache
                for i in range(n):
                    cache.set_cache(f"g_request_count:d{i}", i % 3, local_only=True)
                    cache.set_cache(f"d{i}:openai/gpt-4o:tpm:{minute}", 100 * i, local_only=True, ttl=120)
                cache.set_cache("g_map", {f"d{i}": {"latency_normalized": [0.1 + 0.01 * i] * 5} for i in range(n)})
                accel.get_available_deployment("g")
                peer.get_available_deployment("g")
                deadline = time.monotonic() + 10
                participant = implementation.shared_state.participant(accel._core._cache)
                while participant.snapshot.participants < 1 and time.monotonic() < deadline:
                    time.sleep(0.05)
                for kind in ("sync", "async"):
                    if kind == "sync":
                        s, a = interleaved(
                            lambda r=stock, c=calls: _time_sync(lambda: r.get_available_deployment("g"), c),
                            lambda r=accel, c=calls: _time_sync(lambda: r.get_available_deployment("g"), c),
                            rounds,
                        )
                    else:
                        s, a = interleaved(
                            lambda r=stock, c=calls: _time_async(lambda: r.select("g", {}), c),
                            lambda r=accel, c=calls: _time_async(lambda: r.select("g", {}), c),
                            rounds,
                        )
                    rows.append(
                        _row(
                            f"{kind} pick {strategy} N={n}, shared state",
                            s,
                            a,
                            note=f"stock: router redis; accel: exchange, {participant.snapshot.participants} peer(s)",
                        )
                    )
                for router in (stock, accel, peer):
                    _retire(router)
    finally:
        litellm_accel.uninstall()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and calls, skip N=1000")
    parser.add_argument("--redis-url", help="also measure shared state across instances on this Redis")
    parser.add_argument("--only-shared", action="store_true", help="with --redis-url: only the shared-state rows")
    args = parser.parse_args()
    print("| scenario | stock (µs/call) | accelerated (µs/call) | ratio | note |")
    print("|---|---|---|---|---|")
    rows = [] if args.only_shared else run(args.quick)
    if args.redis_url:
        rows += shared_state_rows(args.redis_url, args.quick)
    for row in rows:
        print(f"| {row['scenario']} | {row['stock_us']} | {row['accel_us']} | {row['ratio']}x | {row['note']} |")


if __name__ == "__main__":
    main()
