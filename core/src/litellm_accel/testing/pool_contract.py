"""Conformance tests for :class:`litellm_accel.contracts.ConnectionPool` implementations, against a
real local OpenAI-compatible HTTP server (:class:`litellm_accel.fakeserver.FakeOpenAIServer`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from litellm_accel.contracts import ConnectionPool
from litellm_accel.testing.base import ContractBase

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hello there"}]}


def wait_for(condition: Any, timeout: float = 5.0) -> bool:
    """Poll ``condition()`` until it is true or ``timeout`` seconds pass (a bound, not a timing claim)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return bool(condition())


class ConnectionPoolContract(ContractBase):
    """Subclass as ``class TestMyPool(ConnectionPoolContract)`` with an ``implementation_class`` fixture.

    Checks that the clients handed out work (sync and async, concurrently), share connections across
    clients of the same endpoint, survive a caller closing its client, and that ``close()`` releases
    every connection (and may be called twice).
    """

    feature: ClassVar[str] = "pool"
    concurrency: ClassVar[int] = 24

    @pytest.fixture
    def fake_server(self) -> Iterator[Any]:
        from litellm_accel.fakeserver import FakeOpenAIServer

        server = FakeOpenAIServer()
        server.start_in_thread()
        try:
            yield server
        finally:
            server.stop()

    def test_meets_the_protocol(self, implementation: Any) -> None:
        assert isinstance(implementation, ConnectionPool)

    def test_sync_clients_work_and_share_connections(self, implementation: Any, fake_server: Any) -> None:
        url = fake_server.base_url + "/v1/chat/completions"
        for _ in range(8):
            client = implementation.sync_client()
            response = client.post(url, json=CHAT)
            assert response.status_code == 200
            assert response.json()["choices"][0]["message"]["role"] == "assistant"
            client.close()  # a caller closing its client must not break the pool
        assert fake_server.requests == 8
        assert fake_server.connections_accepted <= 2, (
            f"8 sequential requests opened {fake_server.connections_accepted} connections: clients do not share a pool"
        )

    def test_async_clients_work_concurrently(self, implementation: Any, fake_server: Any) -> None:
        url = fake_server.base_url + "/v1/chat/completions"

        async def scenario() -> list[int]:
            client = implementation.async_client()
            try:
                responses = await asyncio.gather(*(client.post(url, json=CHAT) for _ in range(self.concurrency)))
            finally:
                await client.aclose()
            second = implementation.async_client()  # the pool still serves after a client was closed
            try:
                extra = await second.post(url, json=CHAT)
            finally:
                await second.aclose()
            return [r.status_code for r in responses] + [extra.status_code]

        codes = asyncio.run(scenario())
        assert codes == [200] * (self.concurrency + 1)
        assert fake_server.requests == self.concurrency + 1

    def test_close_releases_every_connection(self, implementation: Any, fake_server: Any) -> None:
        pool = implementation  # closed here and once more by the fixture: close() must be idempotent
        url = fake_server.base_url + "/v1/chat/completions"
        client = pool.sync_client()
        assert client.post(url, json=CHAT).status_code == 200

        async def use_async() -> int:
            async_client = pool.async_client()
            response = await async_client.post(url, json=CHAT)
            await async_client.aclose()
            return response.status_code

        assert asyncio.run(use_async()) == 200
        pool.close()
        assert wait_for(lambda: fake_server.connections_open == 0), (
            f"{fake_server.connections_open} connections still open after close()"
        )
