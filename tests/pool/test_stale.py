"""Keep-alive connections closed by the server never surface as errors."""

from __future__ import annotations

import asyncio
import random

import litellm
import pytest

from litellm_accel.fakeserver import FakeOpenAIServer
from tests.pool.conftest import MESSAGES, install_pool

#: litellm maps the OpenAI SDK's APIConnectionError to InternalServerError ("Connection error.")
CONNECTION_FAILURE = (litellm.APIConnectionError, litellm.InternalServerError)


async def _call(server: FakeOpenAIServer) -> object:
    return await litellm.acompletion(
        model="openai/gpt-4o",
        api_base=server.base_url + "/v1",
        api_key="sk-fake",
        messages=MESSAGES,
        max_retries=0,  # the SDK's own retries would hide a failure
    )


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_server_idle_timeout_never_fails_a_call(transport: str) -> None:
    pool = install_pool(max_connections=8, transport=transport, keepalive_expiry=60)
    rng = random.Random(6)
    async with FakeOpenAIServer(keepalive_timeout=0.05) as server:
        for _ in range(40):
            # pauses around the server's idle timeout, so calls meet connections it is closing
            await asyncio.sleep(rng.uniform(0.03, 0.08))
            burst = await asyncio.gather(*(_call(server) for _ in range(rng.randint(1, 4))), return_exceptions=True)
            assert [r for r in burst if isinstance(r, BaseException)] == []
        assert server.connections_accepted > 8  # the server really did close idle connections
        assert pool.stats()["totals"]["requests"] == server.requests


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_connection_closed_as_the_request_arrives_is_retried_once(transport: str) -> None:
    pool = install_pool(max_connections=4, transport=transport)
    async with FakeOpenAIServer(drop_on_reuse=1) as server:
        first = await _call(server)
        second = await _call(server)  # reuses the kept-alive connection, which the server drops
        assert first.choices[0].message.content == second.choices[0].message.content == server.reply
        assert server.dropped_requests == 1
        assert server.connections_accepted == 2  # the retry went to a fresh connection
        assert pool.stats()["totals"]["stale_retries"] == 1
        import litellm_accel

        assert litellm_accel.metrics()["pool"]["counters"]["stale_retries"] == 1


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_without_stale_retry_the_same_drop_fails(transport: str) -> None:
    """Control for the test above: the server's drop is a real failure when nothing retries it."""
    install_pool(max_connections=4, transport=transport, retry_stale="never")
    async with FakeOpenAIServer(drop_on_reuse=1) as server:
        await _call(server)
        with pytest.raises(CONNECTION_FAILURE, match="Connection error"):
            await _call(server)
        assert server.dropped_requests == 1


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_unsent_policy_does_not_resend_a_request_whose_bytes_were_written(transport: str) -> None:
    """retry_stale="unsent" only re-sends requests whose headers never left: the drop happens after."""
    pool = install_pool(max_connections=4, transport=transport, retry_stale="unsent")
    async with FakeOpenAIServer(drop_on_reuse=1) as server:
        await _call(server)
        with pytest.raises(CONNECTION_FAILURE, match="Connection error"):
            await _call(server)
        assert pool.stats()["totals"]["stale_retries"] == 0


async def test_every_stale_connection_is_retried_once() -> None:
    """Each drop on a reused connection is retried once, on a connection opened for the retry."""
    pool = install_pool(max_connections=1)
    async with FakeOpenAIServer(drop_on_reuse=2) as server:
        # A serves 1 and drops 2 (retried on one-shot B); C serves 3 and drops 4 (retried on one-shot D)
        for _ in range(4):
            assert (await _call(server)).choices[0].message.content == server.reply
        assert server.dropped_requests == 2
        assert server.connections_accepted == 4
        assert server.peak_connections_open <= 2  # the dropped connection was already gone
        assert pool.stats()["totals"]["stale_retries"] == 2
