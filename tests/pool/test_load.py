"""Connection counts under load, through real litellm calls against a real local HTTP server."""

from __future__ import annotations

import asyncio

import litellm
import pytest

from litellm_accel.fakeserver import FakeOpenAIServer
from tests.pool.conftest import MESSAGES, install_pool

# The 5,000 sequential calls (about 45 s on the 2-core CI machine).
SEQUENTIAL_CALLS = 5000


async def _call(server: FakeOpenAIServer, api_key: str = "sk-fake", **kwargs: object) -> object:
    return await litellm.acompletion(
        model="openai/gpt-4o",
        api_base=server.base_url + "/v1",
        api_key=api_key,
        messages=MESSAGES,
        max_retries=0,  # a failure must surface, not be hidden by the SDK's retries
        **kwargs,
    )


@pytest.mark.slow
async def test_sequential_calls_open_no_more_connections_than_the_pool_keeps() -> None:
    pool = install_pool(max_connections=4, max_keepalive=2)
    async with FakeOpenAIServer() as server:
        for i in range(SEQUENTIAL_CALLS):
            # three API keys = three litellm/OpenAI SDK clients, still one endpoint pool
            response = await _call(server, api_key=f"sk-{i % 3}")
            assert response.choices[0].message.content == server.reply
        assert server.requests == SEQUENTIAL_CALLS
        assert server.connections_accepted <= 2
        totals = pool.stats()["totals"]
        assert totals["requests"] == SEQUENTIAL_CALLS
        assert totals["connections_opened"] == server.connections_accepted
        assert totals["connections_reused"] == SEQUENTIAL_CALLS - server.connections_accepted


async def test_stock_litellm_opens_a_pool_per_client_for_comparison() -> None:
    """Without the pool, each API key's client keeps its own sockets (what the pool removes)."""
    async with FakeOpenAIServer() as server:
        for i in range(30):
            await _call(server, api_key=f"sk-stock-{i % 3}")
        assert server.connections_accepted == 3


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_burst_of_1000_concurrent_calls_with_limit_50(transport: str) -> None:
    pool = install_pool(max_connections=50, transport=transport, pool_timeout=120)
    async with FakeOpenAIServer(latency=0.01) as server:
        results = await asyncio.gather(
            *(_call(server, api_key=f"sk-{i % 7}") for i in range(1000)), return_exceptions=True
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        assert failures == []
        assert all(r.choices[0].message.content == server.reply for r in results)  # type: ignore[union-attr]
        assert server.requests == 1000
        assert server.peak_connections_open <= 50
        assert server.connections_accepted <= 50
        assert server.counters.peak_requests_in_flight <= 50
        metrics = litellm_accel_metrics()
        assert metrics["counters"]["requests"] == 1000
        assert metrics["counters"]["waits"] > 0  # the queue was used
        assert metrics["counters"]["wait_time_us"] > 0
        assert metrics["counters"]["connections_opened"] == server.connections_accepted
        assert metrics["gauges"]["connections_in_use"] == 0
        assert metrics["gauges"]["requests_waiting"] == 0
        assert pool.stats()["totals"]["in_use"] == 0


def litellm_accel_metrics() -> dict:
    import litellm_accel

    return litellm_accel.metrics()["pool"]


async def test_streaming_calls_hold_and_release_their_connection() -> None:
    install_pool(max_connections=2)
    async with FakeOpenAIServer(stream_chunk_delay=0.001) as server:

        async def stream_one() -> str:
            stream = await _call(server, stream=True)
            parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]  # type: ignore[attr-defined]
            return "".join(parts)

        texts = await asyncio.gather(*(stream_one() for _ in range(20)))
        assert texts == [server.reply] * 20
        assert server.peak_connections_open <= 2
        assert litellm_accel_metrics()["gauges"]["connections_in_use"] == 0


async def test_prewarm_opens_connections_before_the_first_call() -> None:
    async with FakeOpenAIServer() as server:
        pool = install_pool(max_connections=8, prewarm=3, prewarm_urls=[server.base_url + "/v1"])
        for _ in range(100):  # install schedules the pre-warming in this loop
            await asyncio.sleep(0.01)
            if server.connections_open >= 3:
                break
        assert server.connections_accepted == 3
        responses = await asyncio.gather(*(_call(server) for _ in range(3)))
        assert all(r.choices[0].message.content == server.reply for r in responses)
        assert server.connections_accepted == 3  # the calls found their connections open
        assert pool.stats()["totals"]["connections_reused"] >= 3
