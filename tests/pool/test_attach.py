"""How the pool attaches to litellm: what it replaces, what still wins over it, and exact restore."""

from __future__ import annotations

import asyncio

import aiohttp
import httpx
import litellm
import openai
import pytest
from litellm.llms.custom_httpx.http_handler import AsyncHTTPHandler, HTTPHandler
from litellm.llms.openai.common_utils import BaseOpenAILLM

import litellm_accel
from litellm_accel.errors import ConfigError
from litellm_accel.fakeserver import FakeOpenAIServer
from litellm_accel.settings import AccelSettings
from litellm_accel_pool.errors import PoolTimeoutError
from tests.pool.conftest import MESSAGES, install_pool

PATCHED = [
    (BaseOpenAILLM, "_get_async_http_client"),
    (BaseOpenAILLM, "_get_sync_http_client"),
    (AsyncHTTPHandler, "create_client"),
    (HTTPHandler, "create_client"),
]


def _cached_clients() -> list[object]:
    return [getattr(v, "_client", None) for v in litellm.in_memory_llm_clients_cache.cache_dict.values()]


async def _call(server: FakeOpenAIServer, **kwargs: object) -> object:
    kwargs.setdefault("api_key", "sk-fake")
    return await litellm.acompletion(
        model="openai/gpt-4o", api_base=server.base_url + "/v1", messages=MESSAGES, max_retries=0, **kwargs
    )


async def test_uninstall_restores_litellm_exactly_and_evicts_pooled_clients() -> None:
    originals = [cls.__dict__[name] for cls, name in PATCHED]
    pool = install_pool()
    assert all(cls.__dict__[name] is not original for (cls, name), original in zip(PATCHED, originals, strict=True))
    async with FakeOpenAIServer() as server:
        await _call(server)
        assert any(pool.owns(c) for c in _cached_clients())  # litellm cached an SDK client on the pool
        litellm_accel.uninstall()
        assert [cls.__dict__[name] for cls, name in PATCHED] == originals
        assert all(cls.__dict__[name] is original for (cls, name), original in zip(PATCHED, originals, strict=True))
        assert not any(pool.owns(c) for c in _cached_clients())
        response = await _call(server)  # stock again, with a stock client
        assert response.choices[0].message.content == server.reply
        assert not any(pool.owns(c) for c in _cached_clients())


async def test_install_evicts_stock_clients_so_the_pool_takes_over() -> None:
    async with FakeOpenAIServer() as server:
        await _call(server)  # stock caches its own client for this endpoint
        stock_clients = [c for c in _cached_clients() if c is not None]
        assert stock_clients
        pool = install_pool()
        assert not any(c in stock_clients for c in _cached_clients())
        await _call(server)
        assert pool.stats()["totals"]["requests"] == 1


async def test_router_deployments_on_one_endpoint_share_one_pool() -> None:
    pool = install_pool(max_connections=5)
    async with FakeOpenAIServer(latency=0.005) as server:
        router = litellm.Router(
            model_list=[
                {
                    "model_name": "gpt",
                    "litellm_params": {
                        "model": "openai/gpt-4o",
                        "api_base": server.base_url + "/v1",
                        "api_key": f"sk-deployment-{i}",
                        "max_retries": 0,
                    },
                }
                for i in range(4)
            ]
        )
        responses = await asyncio.gather(*(router.acompletion(model="gpt", messages=MESSAGES) for _ in range(80)))
        assert all(r.choices[0].message.content == server.reply for r in responses)
        stats = pool.stats()
        assert len(stats["endpoints"]) == 1  # four deployments (four API keys), one endpoint pool
        assert stats["totals"]["requests"] == 80
        assert server.connections_accepted <= 5
        assert server.peak_connections_open <= 5


async def test_per_call_shared_session_wins_over_the_pool() -> None:
    pool = install_pool()
    async with FakeOpenAIServer() as server, aiohttp.ClientSession() as session:
        await _call(server, api_key="sk-a", shared_session=session)
        assert pool.stats()["totals"].get("requests", 0) == 0
        assert session.connector is not None and session.connector._conns  # the caller's own session
        assert litellm_accel.metrics()["pool"]["delegated"] >= 1  # handed to stock on purpose
        await _call(server, api_key="sk-b")
        assert pool.stats()["totals"]["requests"] == 1


async def test_router_deployment_settings_still_win() -> None:
    """Timeouts and retries of each deployment apply per request, although the pool is shared."""
    pool = install_pool()
    async with FakeOpenAIServer(latency=0.5) as server:
        base = {"model": "openai/gpt-4o", "api_base": server.base_url + "/v1", "max_retries": 0}
        router = litellm.Router(
            model_list=[
                {"model_name": "impatient", "litellm_params": {**base, "api_key": "sk-a", "timeout": 0.1}},
                {"model_name": "patient", "litellm_params": {**base, "api_key": "sk-b", "timeout": 30}},
            ],
            num_retries=0,
        )
        with pytest.raises(litellm.Timeout):
            await router.acompletion(model="impatient", messages=MESSAGES)
        response = await router.acompletion(model="patient", messages=MESSAGES)
        assert response.choices[0].message.content == server.reply
        assert pool.stats()["totals"]["requests"] == 2
        assert len(pool.stats()["endpoints"]) == 1


class CountingTransport(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_user_aclient_session_and_explicit_client_win(monkeypatch: pytest.MonkeyPatch) -> None:
    pool = install_pool()
    async with FakeOpenAIServer() as server:
        user_transport = CountingTransport()
        async with httpx.AsyncClient(transport=user_transport) as user_client:
            monkeypatch.setattr(litellm, "aclient_session", user_client)
            await _call(server, api_key="sk-session")
            assert user_transport.requests == 1
            monkeypatch.setattr(litellm, "aclient_session", None)

            sdk_transport = CountingTransport()
            async with httpx.AsyncClient(transport=sdk_transport) as sdk_http:
                explicit = openai.AsyncOpenAI(api_key="sk-x", base_url=server.base_url + "/v1", http_client=sdk_http)
                await _call(server, client=explicit)
                assert sdk_transport.requests == 1
        assert pool.stats()["totals"].get("requests", 0) == 0


async def test_litellm_http_handlers_use_the_pool_unless_given_a_transport() -> None:
    pool = install_pool()
    async with FakeOpenAIServer() as server:
        url = server.base_url + "/v1/chat/completions"
        handler = AsyncHTTPHandler(timeout=10)
        response = await handler.post(url, json={"messages": MESSAGES})
        assert response.json()["choices"][0]["message"]["content"] == server.reply
        assert pool.owns(handler.client)
        assert pool.stats()["totals"]["requests"] == 1

        own = CountingTransport()
        custom = AsyncHTTPHandler(timeout=10, transport=own)
        await custom.post(url, json={"messages": MESSAGES})
        assert own.requests == 1 and not pool.owns(custom.client)
        assert pool.stats()["totals"]["requests"] == 1
        await handler.close()
        await custom.close()
        # closing a handler's pooled client does not close the shared pool
        again = AsyncHTTPHandler(timeout=10)
        await again.post(url, json={"messages": MESSAGES})
        assert pool.stats()["totals"]["requests"] == 2
        assert server.connections_accepted == 2  # the handler with its own transport opened the second


def test_sync_http_handler_uses_the_pool() -> None:
    server = FakeOpenAIServer()
    base_url = server.start_in_thread()
    try:
        pool = install_pool()
        handler = HTTPHandler(timeout=10)
        for _ in range(3):
            response = handler.post(base_url + "/v1/chat/completions", json={"messages": MESSAGES})
            assert response.json()["choices"][0]["message"]["content"] == server.reply
        assert pool.owns(handler.client)
        assert server.connections_accepted == 1
        assert pool.stats()["totals"]["requests"] == 3
    finally:
        litellm_accel.uninstall()
        server.stop()


async def test_flag_off_serves_stock_clients() -> None:
    pool = install_pool()
    litellm_accel.set_flag("pool", "off")
    async with FakeOpenAIServer() as server:
        await _call(server)
        assert pool.stats()["totals"].get("requests", 0) == 0
        assert not any(pool.owns(c) for c in _cached_clients())


async def test_queue_timeout_raises_a_clear_pool_error() -> None:
    install_pool(max_connections=1, pool_timeout=0.2)
    async with FakeOpenAIServer(latency=1.0) as server:
        results = await asyncio.gather(_call(server), _call(server), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        assert len(errors) == 1
        assert isinstance(errors[0], litellm.Timeout)  # mapped like any httpx pool timeout
        cause: BaseException | None = errors[0]
        chain = []
        while cause is not None:
            chain.append(cause)
            cause = cause.__cause__ or cause.__context__
        pool_errors = [e for e in chain if isinstance(e, PoolTimeoutError)]
        assert pool_errors, chain
        assert "max_connections=1" in str(pool_errors[0]) and server.base_url in str(pool_errors[0])
        assert litellm_accel.metrics()["pool"]["counters"]["pool_timeouts"] == 1


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"max_conections": 5}, "max_conections"),
        ({"max_connections": 0}, "max_connections"),
        ({"transport": "curl"}, "transport"),
        ({"http2": True}, "http2"),
        ({"max_connections": 2, "max_keepalive": 3}, "max_keepalive"),
        ({"retry_stale": "always"}, "retry_stale"),
    ],
)
def test_invalid_options_raise_a_config_error_naming_the_key(options: dict, named: str) -> None:
    original = BaseOpenAILLM.__dict__["_get_async_http_client"]
    with pytest.raises(ConfigError, match=named) as info:
        litellm_accel.install(
            AccelSettings(
                tokens={"enabled": False},
                routing={"enabled": False},
                ratelimit={"enabled": False},
                pool={"options": options},
            )
        )
    assert "pool.options" in str(info.value)
    assert not litellm_accel.is_installed()
    assert BaseOpenAILLM.__dict__["_get_async_http_client"] is original  # nothing attached
