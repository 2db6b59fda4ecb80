"""The shared fake OpenAI-compatible server, exercised through real litellm (plain and streaming)."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request

import httpx
import litellm
import pytest

from litellm_accel.fakeserver import FakeOpenAIServer

MESSAGES = [{"role": "user", "content": "say hello to the fake server"}]


async def test_litellm_acompletion_plain() -> None:
    async with FakeOpenAIServer(reply="Hi there friend") as server:
        response = await litellm.acompletion(
            model="openai/gpt-4o", api_base=server.base_url + "/v1", api_key="sk-fake", messages=MESSAGES
        )
        assert response.choices[0].message.content == "Hi there friend"
        assert response.choices[0].finish_reason == "stop"
        assert response.usage.prompt_tokens == 6  # words in MESSAGES
        assert response.usage.completion_tokens == 3
        assert response.usage.total_tokens == 9
        assert server.requests == 1
        assert server.connections_accepted >= 1


async def test_litellm_acompletion_streaming() -> None:
    async with FakeOpenAIServer(reply="one two three four") as server:
        stream = await litellm.acompletion(
            model="openai/gpt-4o",
            api_base=server.base_url + "/v1",
            api_key="sk-fake",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
        pieces = []
        usage = None
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                pieces.append(chunk.choices[0].delta.content)
            if getattr(chunk, "usage", None):
                usage = chunk.usage
        assert "".join(pieces) == "one two three four"
        assert usage is not None and usage.completion_tokens == 4
        assert server.counters.streaming_requests == 1


def test_sync_litellm_completion_against_threaded_server() -> None:
    server = FakeOpenAIServer()
    base_url = server.start_in_thread()
    try:
        response = litellm.completion(
            model="openai/gpt-4o", api_base=base_url + "/v1", api_key="sk-fake", messages=MESSAGES
        )
        assert response.choices[0].message.content == server.reply
        # the route without /v1 answers too
        response = litellm.completion(model="openai/gpt-4o", api_base=base_url, api_key="sk-fake", messages=MESSAGES)
        assert response.choices[0].message.content == server.reply
        assert server.requests == 2
    finally:
        server.stop()
    with pytest.raises(RuntimeError, match="not running"):
        _ = FakeOpenAIServer().base_url


def test_counts_connections_and_closes_idle_keepalive() -> None:
    server = FakeOpenAIServer(keepalive_timeout=0.2)
    base_url = server.start_in_thread()
    try:
        body = json.dumps({"model": "gpt-4o", "messages": MESSAGES}).encode()
        with httpx.Client() as client:
            for _ in range(3):
                assert client.post(base_url + "/v1/chat/completions", content=body).status_code == 200
            assert server.connections_accepted == 1  # one kept-alive connection
            assert server.connections_open == 1
            end = time.monotonic() + 5
            while server.connections_open and time.monotonic() < end:
                time.sleep(0.05)
            assert server.connections_open == 0  # the server closed the idle connection
        # unknown routes are 404 with an OpenAI-style error body
        request = urllib.request.Request(base_url + "/v1/nothing", data=b"{}", method="POST")
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(request, timeout=5)
        assert info.value.code == 404
        assert server.requests == 4
        assert server.peak_connections_open >= 1
    finally:
        server.stop()


async def test_latency_and_concurrency_peaks() -> None:
    async with FakeOpenAIServer(latency=0.05) as server:
        body = {"model": "gpt-4o", "messages": MESSAGES}
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=5)) as client:
            responses = await asyncio.gather(
                *(client.post(server.base_url + "/chat/completions", json=body) for _ in range(10))
            )
        assert all(r.status_code == 200 for r in responses)
        assert server.peak_connections_open == 5
        assert server.counters.peak_requests_in_flight == 5
        assert server.connections_accepted == 5
        server.reset_counters()
        assert server.requests == 0
