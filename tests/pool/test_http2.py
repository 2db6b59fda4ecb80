"""HTTP/2 end to end: ``transport = "httpx"`` with ``http2 = true`` multiplexes litellm calls over one TLS
connection to a real HTTP/2-only server on 127.0.0.1 (``h2server.H2ChatServer``, self-signed certificate
trusted through ``litellm.ssl_verify``, which is where the pool takes ``verify`` from)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import litellm
import pytest

import litellm_accel

from .conftest import install_pool
from .h2server import H2ChatServer, write_self_signed_cert

MAX_CONNECTIONS = 4


@pytest.fixture
async def h2_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[H2ChatServer]:
    cert_path, key_path = write_self_signed_cert(tmp_path)
    # litellm's TLS setting (get_ssl_configuration) trusts the self-signed certificate; nothing else changes
    monkeypatch.setattr(litellm, "ssl_verify", str(cert_path))
    monkeypatch.delenv("SSL_VERIFY", raising=False)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    async with H2ChatServer(cert_path, key_path, reply_delay=0.3) as server:
        yield server


async def _ask(server: H2ChatServer, text: str) -> litellm.ModelResponse:
    return await litellm.acompletion(
        model="openai/gpt-4o",
        api_base=f"https://127.0.0.1:{server.port}/v1",
        api_key="sk-fake",
        messages=[{"role": "user", "content": text}],
        max_retries=0,
    )


async def test_http2_calls_are_multiplexed_over_one_connection_and_closed_on_uninstall(
    h2_server: H2ChatServer,
) -> None:
    install_pool(transport="httpx", http2=True, max_connections=MAX_CONNECTIONS)

    for i in range(3):
        response = await _ask(h2_server, f"sequential {i}")
        assert response.choices[0].message.content == f"echo: sequential {i}"
        assert response.usage.prompt_tokens == 7
        assert response.usage.completion_tokens == 3
        assert response.usage.total_tokens == 10
    assert h2_server.stats.connections == 1  # sequential calls reuse the connection

    texts = [f"concurrent {i}" for i in range(20)]
    responses = await asyncio.gather(*(_ask(h2_server, text) for text in texts))
    assert [r.choices[0].message.content for r in responses] == [f"echo: {text}" for text in texts]
    assert all(r.usage.total_tokens == 10 for r in responses)

    stats = h2_server.stats
    assert stats.alpn == ["h2"] * stats.connections  # every connection negotiated HTTP/2
    assert stats.streams == 23
    assert stats.paths == ["/v1/chat/completions"] * 23
    # the 20 concurrent requests shared the single connection, several of them in flight at the same time
    # (the server holds each reply 300 ms)
    assert stats.connections == 1
    assert stats.max_streams_per_connection == 23
    assert stats.max_in_flight_per_connection >= 2, stats
    assert stats.open == 1

    litellm_accel.uninstall()
    assert await h2_server.wait_closed_connections(1), h2_server.stats  # the pool's HTTP/2 connection closed
    assert h2_server.stats.open == 0


async def test_control_http11_pool_cannot_talk_to_the_http2_only_server(h2_server: H2ChatServer) -> None:
    """Without ``http2`` the same pool offers only HTTP/1.1 and the server refuses it: the test above
    really depends on HTTP/2 being negotiated."""
    install_pool(transport="httpx", http2=False, max_connections=MAX_CONNECTIONS)
    with pytest.raises(litellm.InternalServerError, match="Connection error"):
        await _ask(h2_server, "over http/1.1")
    assert h2_server.stats.streams == 0
    assert h2_server.stats.http_versions_refused >= 1
    assert set(h2_server.stats.alpn) == {None}


async def test_http2_pool_leaves_litellms_http11_tls_context_alone(h2_server: H2ChatServer) -> None:
    """httpcore sets ALPN on the SSLContext it is given; the pool must not hand it litellm's shared HTTP/1.1
    context, or stock litellm's aiohttp clients (which use that context) would start offering ``h2``."""
    install_pool(transport="httpx", http2=True, max_connections=MAX_CONNECTIONS)
    response = await _ask(h2_server, "over http/2")
    assert response.choices[0].message.content == "echo: over http/2"
    litellm_accel.uninstall()
    assert await h2_server.wait_closed_connections(1)

    # stock litellm (aiohttp transport, HTTP/1.1 only) must still offer no ALPN protocol at all
    with pytest.raises(litellm.InternalServerError, match="Connection error"):
        await _ask(h2_server, "stock over http/1.1")
    assert h2_server.stats.alpn == ["h2", None]


@pytest.fixture
def h2_server_in_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[H2ChatServer]:
    """The same server on its own event loop in a thread, for synchronous litellm calls."""
    cert_path, key_path = write_self_signed_cert(tmp_path)
    monkeypatch.setattr(litellm, "ssl_verify", str(cert_path))
    monkeypatch.delenv("SSL_VERIFY", raising=False)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = H2ChatServer(cert_path, key_path)
    asyncio.run_coroutine_threadsafe(server.__aenter__(), loop).result(timeout=5)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.__aexit__(None, None, None), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()


def test_sync_http2_calls_reuse_one_connection_and_close_on_uninstall(h2_server_in_thread: H2ChatServer) -> None:
    server = h2_server_in_thread
    install_pool(transport="httpx", http2=True, max_connections=MAX_CONNECTIONS)
    for i in range(3):
        response = litellm.completion(
            model="openai/gpt-4o",
            api_base=f"https://127.0.0.1:{server.port}/v1",
            api_key="sk-fake",
            messages=[{"role": "user", "content": f"sync {i}"}],
            max_retries=0,
        )
        assert response.choices[0].message.content == f"echo: sync {i}"
        assert response.usage.total_tokens == 10
    assert server.stats.alpn == ["h2"]
    assert server.stats.streams == 3
    litellm_accel.uninstall()
    deadline = time.monotonic() + 5
    while server.stats.closed < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.stats.open == 0, server.stats
