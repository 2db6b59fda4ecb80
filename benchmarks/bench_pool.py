"""``litellm.acompletion`` throughput, latency and sockets: stock litellm vs the litellm-accel pool.

A fake OpenAI-compatible server (``litellm_accel.fakeserver``) runs in a child process on 127.0.0.1, so
server work does not share this process's GIL. For each concurrency (1, 32, 256) the rounds are
interleaved (stock, accelerated, stock, accelerated, ...); every round first warms up (clients built,
connections opened) and then times a fixed number of calls. Reported per side: requests per second
(calls / wall time), p50 and p99 latency of single calls, and TCP connections the server accepted during
the round (warm-up included). Medians over the rounds. ``ratio`` is always "times better for the
accelerated side": accel/stock for req/s, stock/accel for latencies and sockets (> 1 = accelerated wins).

    uv run --frozen python benchmarks/bench_pool.py [--quick] [--transports aiohttp,httpx] [--max-connections 64]
    uv run --frozen python benchmarks/bench_pool.py --transport-level   # the transports alone, no litellm
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_LOG", "ERROR")

SERVER_SCRIPT = """
import asyncio, sys
from litellm_accel.fakeserver import FakeOpenAIServer

async def main():
    async with FakeOpenAIServer(latency=float(sys.argv[1])) as server:
        sys.stdout.write(server.base_url + "\\n")
        sys.stdout.flush()
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

asyncio.run(main())
"""
MESSAGES = [{"role": "user", "content": "benchmark the connection pool"}]
#: concurrency -> (timed calls full, timed calls quick)
CALLS = {1: (300, 60), 32: (2000, 400), 256: (4000, 1024)}


class ServerProcess:
    """The fake server in a child process; ``accepted()`` reads its connection counter over HTTP."""

    def __init__(self, latency: float) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVER_SCRIPT, str(latency)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.base_url = self.proc.stdout.readline().strip()
        if not self.base_url.startswith("http://"):
            raise RuntimeError("fake server did not start")

    def accepted(self) -> int:
        with urllib.request.urlopen(self.base_url + "/_fake/stats", timeout=10) as response:
            return int(json.load(response)["connections_accepted"])

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


async def _one(base_url: str, latencies: list[float]) -> None:
    import litellm

    started = time.perf_counter()
    await litellm.acompletion(
        model="openai/gpt-4o", api_base=base_url + "/v1", api_key="sk-bench", messages=MESSAGES, max_retries=0
    )
    latencies.append(time.perf_counter() - started)


async def _drive(base_url: str, concurrency: int, calls: int, latencies: list[float]) -> float:
    """Run ``calls`` calls with ``concurrency`` workers; returns the wall time."""
    remaining = calls

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await _one(base_url, latencies)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _round(server: ServerProcess, concurrency: int, calls: int, accel: dict[str, Any] | None) -> dict[str, float]:
    import litellm_accel
    from litellm_accel.settings import AccelSettings

    if accel is not None:
        litellm_accel.install(
            AccelSettings(
                tokens={"enabled": False},
                routing={"enabled": False},
                ratelimit={"enabled": False},
                pool={"options": accel},
            )
        )
    before = server.accepted()
    try:
        await _drive(server.base_url, concurrency, max(concurrency, calls // 10), [])  # warm-up
        latencies: list[float] = []
        wall = await _drive(server.base_url, concurrency, calls, latencies)
    finally:
        if accel is not None:
            litellm_accel.uninstall()
            await asyncio.sleep(0.05)  # let the pool's close tasks run
    sockets = server.accepted() - before - 1  # minus the stats request's own connection
    return {
        "rps": calls / wall,
        "p50_ms": _percentile(latencies, 0.50) * 1000,
        "p99_ms": _percentile(latencies, 0.99) * 1000,
        "sockets": float(sockets),
    }


def _rows(label: str, stock: list[dict[str, float]], accel: list[dict[str, float]]) -> list[dict[str, Any]]:
    rows = []
    for key, unit, higher_is_better in (
        ("rps", "req/s", True),
        ("p50_ms", "ms", False),
        ("p99_ms", "ms", False),
        ("sockets", "sockets", False),
    ):
        s = statistics.median(r[key] for r in stock)
        a = statistics.median(r[key] for r in accel)
        if higher_is_better:
            ratio = a / s if s else float("inf")
        else:
            ratio = s / a if a else float("inf")
        rows.append(
            {
                "scenario": f"{label} {key.replace('_ms', '')}",
                "stock": round(s, 2),
                "accel": round(a, 2),
                "ratio": round(ratio, 2),
                "unit": unit,
            }
        )
    return rows


async def _run(quick: bool, transports: list[str], max_connections: int, latency: float) -> list[dict[str, Any]]:
    rounds = 2 if quick else 5
    server = ServerProcess(latency)
    rows: list[dict[str, Any]] = []
    try:
        for concurrency, (full, short) in CALLS.items():
            calls = short if quick else full
            for transport in transports:
                accel_options = {"transport": transport, "max_connections": max_connections}
                stock_runs, accel_runs = [], []
                for _ in range(rounds):
                    stock_runs.append(await _round(server, concurrency, calls, None))
                    accel_runs.append(await _round(server, concurrency, calls, accel_options))
                label = f"acompletion c={concurrency} [{transport}, max_connections={max_connections}]"
                rows.extend(_rows(label, stock_runs, accel_runs))
    finally:
        server.stop()
    return rows


async def _transport_level(quick: bool, max_connections: int) -> list[dict[str, Any]]:
    """httpx.AsyncClient.post throughput without litellm: the transports themselves (no stock ratio)."""
    import httpx

    from litellm_accel_pool.options import PoolOptions
    from litellm_accel_pool.pool import BuiltinConnectionPool

    server = ServerProcess(0.0)
    url = server.base_url + "/v1/chat/completions"
    body = {"model": "gpt-4o", "messages": MESSAGES}
    results: dict[tuple[str, int], list[float]] = {}

    async def drive(client: httpx.AsyncClient, concurrency: int, calls: int) -> float:
        remaining = calls

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                response = await client.post(url, json=body)
                await response.aread()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return calls / (time.perf_counter() - started)

    try:
        for _ in range(2 if quick else 5):
            for name in ("httpx.AsyncClient", "pool aiohttp", "pool httpx"):
                pool = None
                if name == "httpx.AsyncClient":
                    client = httpx.AsyncClient(limits=httpx.Limits(max_connections=max_connections))
                else:
                    options = PoolOptions(transport=name.split()[1], max_connections=max_connections)  # type: ignore[arg-type]
                    pool = BuiltinConnectionPool(options=options)
                    client = pool.async_client()
                for concurrency in CALLS:
                    await drive(client, concurrency, 100)
                    rps = await drive(client, concurrency, 300 if quick else 1500)
                    results.setdefault((name, concurrency), []).append(rps)
                await client.aclose()
                if pool is not None:
                    await pool.aclose()
    finally:
        server.stop()
    return [
        {"transport": name, "concurrency": c, "rps": round(statistics.median(v), 1)}
        for (name, c), v in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0]))
    ]


def run(
    quick: bool = False,
    transports: tuple[str, ...] = ("aiohttp",),
    max_connections: int = 64,
    latency: float = 0.0,
) -> list[dict[str, Any]]:
    """Rows ``{scenario, stock, accel, ratio, unit}``; ``ratio`` > 1 means the pool is better.

    Installs and uninstalls litellm-accel (pool feature only) around every accelerated round; must be
    called outside a running event loop.
    """
    return asyncio.run(_run(quick, list(transports), max_connections, latency))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls and 2 rounds instead of 5")
    parser.add_argument("--transports", default="aiohttp", help="comma-separated: aiohttp,httpx")
    parser.add_argument("--max-connections", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.0, help="server latency per call, seconds")
    parser.add_argument(
        "--transport-level", action="store_true", help="httpx client throughput per transport, without litellm"
    )
    args = parser.parse_args()
    if args.transport_level:
        sys.stdout.write("| transport | concurrency | req/s (median) |\n|---|---|---|\n")
        for row in asyncio.run(_transport_level(args.quick, args.max_connections)):
            sys.stdout.write(f"| {row['transport']} | {row['concurrency']} | {row['rps']} |\n")
        return
    rows = run(args.quick, tuple(args.transports.split(",")), args.max_connections, args.latency)
    sys.stdout.write("| scenario | stock | accelerated | ratio (>1 = accelerated better) | unit |\n")
    sys.stdout.write("|---|---|---|---|---|\n")
    for row in rows:
        sys.stdout.write(f"| {row['scenario']} | {row['stock']} | {row['accel']} | {row['ratio']}x | {row['unit']} |\n")


if __name__ == "__main__":
    main()
