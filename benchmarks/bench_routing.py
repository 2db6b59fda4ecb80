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
                core = router._core
                if strategy != "cost-based-routing":  # stock has no sync cost-based pick
                    s, a = interleaved(
                        lambda core=core, calls=calls: _time_sync(lambda: stock_pick(core, "g"), calls),
                        lambda router=router, calls=calls: _time_sync(
                            lambda: router.get_available_deployment("g"), calls
                        ),
                        rounds,
                    )
                    rows.append(_row(f"sync pick {strategy} N={n}", s, a))
                s, a = interleaved(
                    lambda core=core, calls=calls: _time_async(lambda: stock_select(core, "g", {}), calls),
                    lambda router=router, calls=calls: _time_async(lambda: router.select("g", {}), calls),
                    rounds,
                )
                rows.append(_row(f"async pick {strategy} N={n}", s, a))
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


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and calls, skip N=1000")
    args = parser.parse_args()
    print("| scenario | stock (µs/call) | accelerated (µs/call) | ratio | note |")
    print("|---|---|---|---|---|")
    for row in run(args.quick):
        print(f"| {row['scenario']} | {row['stock_us']} | {row['accel_us']} | {row['ratio']}x | {row['note']} |")


if __name__ == "__main__":
    main()
