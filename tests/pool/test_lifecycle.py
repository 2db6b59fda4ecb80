"""Fork safety, per-event-loop pools, and every socket closed on uninstall() and at exit."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import threading

import httpx
import litellm
import pytest

import litellm_accel
from litellm_accel.fakeserver import FakeOpenAIServer
from tests.pool.conftest import MESSAGES, install_pool, open_socket_fds


async def _calls(base_url: str, n: int, concurrent: bool = False) -> list[str]:
    async def one() -> str:
        response = await litellm.acompletion(
            model="openai/gpt-4o", api_base=base_url + "/v1", api_key="sk-fake", messages=MESSAGES, max_retries=0
        )
        return response.choices[0].message.content

    if concurrent:
        return list(await asyncio.gather(*(one() for _ in range(n))))
    return [await one() for _ in range(n)]


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
def test_forked_child_opens_its_own_connections_and_leaves_the_parents_alone(transport: str) -> None:
    server = FakeOpenAIServer()
    base_url = server.start_in_thread()
    loop = asyncio.new_event_loop()
    try:
        pool = install_pool(max_connections=4, transport=transport)
        assert loop.run_until_complete(_calls(base_url, 5)) == [server.reply] * 5
        parent_connections = server.connections_accepted
        assert parent_connections == 1
        pid = os.fork()
        if pid == 0:  # child: a new loop, its own pools, its own sockets
            code = 1
            try:

                async def child() -> tuple[list[str], dict]:
                    return await _calls(base_url, 5), pool.stats()["totals"]

                replies, totals = asyncio.run(child())
                code = 0 if replies == [server.reply] * 5 and totals["connections_opened"] == 1 else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert server.connections_accepted == parent_connections + 1  # the child's own connection
        # The parent's kept-alive connection was neither used nor closed by the child.
        assert server.connections_open >= 1
        assert loop.run_until_complete(_calls(base_url, 5)) == [server.reply] * 5
        assert server.connections_accepted == parent_connections + 1
        assert pool.stats()["totals"]["connections_reused"] == 9
    finally:
        litellm_accel.uninstall()
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        server.stop()


def test_each_event_loop_gets_its_own_pool_closed_with_the_loop() -> None:
    server = FakeOpenAIServer()
    base_url = server.start_in_thread()
    try:
        pool = install_pool(max_connections=4)
        for _ in range(3):
            # asyncio.run closes its loop; the loop's pools close with it (shutdown_asyncgens)
            assert asyncio.run(_calls(base_url, 3)) == [server.reply] * 3
            assert pool.stats()["loops"] == 0
        assert server.connections_accepted == 3

        results: list[list[str]] = []
        threads = [threading.Thread(target=lambda: results.append(asyncio.run(_calls(base_url, 4)))) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert results == [[server.reply] * 4] * 3
        assert server.connections_accepted == 6  # one per loop (thread), none shared across loops
        deadline = 50
        while server.connections_open and deadline:
            threading.Event().wait(0.05)
            deadline -= 1
        assert server.connections_open == 0
    finally:
        server.stop()


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
def test_uninstall_closes_every_socket_of_an_idle_loop(subprocess_server: str, transport: str) -> None:
    loop = asyncio.new_event_loop()
    try:
        baseline = open_socket_fds()
        install_pool(max_connections=16, transport=transport)
        loop.run_until_complete(_calls(subprocess_server, 40, concurrent=True))
        assert len(open_socket_fds() - baseline) >= 2  # the pool holds sockets
        litellm_accel.uninstall()
        assert open_socket_fds() - baseline == set()
    finally:
        loop.close()


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_uninstall_inside_the_running_loop_closes_every_socket(subprocess_server: str, transport: str) -> None:
    baseline = open_socket_fds()
    install_pool(max_connections=16, transport=transport)
    await _calls(subprocess_server, 40, concurrent=True)
    assert len(open_socket_fds() - baseline) >= 2
    litellm_accel.uninstall()
    for _ in range(50):  # sockets close once this coroutine yields to the loop
        await asyncio.sleep(0.01)
        if not open_socket_fds() - baseline:
            break
    assert open_socket_fds() - baseline == set()
    # litellm works as stock again (its cached pooled clients were evicted)
    assert await _calls(subprocess_server, 2) == ["Hello from the fake OpenAI server."] * 2


def test_uninstall_closes_sockets_of_a_loop_running_in_another_thread(subprocess_server: str) -> None:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        baseline = open_socket_fds()
        install_pool(max_connections=8)
        asyncio.run_coroutine_threadsafe(_calls(subprocess_server, 20, concurrent=True), loop).result(30)
        assert open_socket_fds() - baseline
        litellm_accel.uninstall()
        assert open_socket_fds() - baseline == set()
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_sync_clients_share_one_pool_and_close_on_uninstall(subprocess_server: str) -> None:
    baseline = open_socket_fds()
    pool = install_pool(max_connections=4)
    for i in range(20):
        response = litellm.completion(
            model="openai/gpt-4o", api_base=subprocess_server + "/v1", api_key=f"sk-{i % 4}", messages=MESSAGES
        )
        assert response.choices[0].message.content == "Hello from the fake OpenAI server."
    totals = pool.stats()["totals"]
    assert totals["requests"] == 20
    assert totals["connections_opened"] == 1
    assert len(open_socket_fds() - baseline) == 1
    litellm_accel.uninstall()
    assert open_socket_fds() - baseline == set()


EXIT_SCRIPT = textwrap.dedent(
    """
    import asyncio, os, sys, warnings
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    warnings.simplefilter("always", ResourceWarning)
    import litellm, litellm_accel
    from litellm_accel.settings import AccelSettings
    from litellm_accel.fakeserver import FakeOpenAIServer

    server = FakeOpenAIServer()
    base = server.start_in_thread()
    litellm_accel.install(AccelSettings(tokens={"enabled": False}, routing={"enabled": False},
                                        ratelimit={"enabled": False}, pool={"options": {"transport": sys.argv[1]}}))

    async def calls():
        return await asyncio.gather(*(litellm.acompletion(model="openai/gpt-4o", api_base=base + "/v1",
                                     api_key="k", messages=[{"role": "user", "content": "x"}]) for _ in range(10)))

    asyncio.run(calls())  # this loop's pools close with the loop
    loop = asyncio.new_event_loop()  # this loop stays open: the pool's atexit hook closes its sockets
    loop.run_until_complete(calls())
    sys.stderr.write("calls done\\n")
    # no uninstall(), no loop.close(): interpreter exit must still leave no unclosed resource
    """
)


def test_interpreter_exit_without_unclosed_warnings() -> None:
    # Both transports in parallel: each child imports litellm, which is slow on a shared box.
    children = {
        transport: subprocess.Popen(
            [sys.executable, "-X", "dev", "-c", EXIT_SCRIPT, transport],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONWARNINGS": "always::ResourceWarning"},
        )
        for transport in ("aiohttp", "httpx")
    }
    for transport, child in children.items():
        _, stderr = child.communicate(timeout=180)
        assert child.returncode == 0, (transport, stderr)
        assert "calls done" in stderr, (transport, stderr)
        # aiohttp: "Unclosed client session" / "Unclosed connector"; asyncio: "unclosed transport"
        assert "nclosed" not in stderr, (transport, stderr)


async def test_closing_a_pooled_client_leaves_the_shared_pool_open() -> None:
    pool = install_pool(max_connections=2)
    async with FakeOpenAIServer() as server:
        first = pool.async_client()
        response = await first.post(server.base_url + "/v1/chat/completions", json={"messages": MESSAGES})
        assert response.status_code == 200
        await first.aclose()
        async with pool.async_client() as second:
            response = await second.post(server.base_url + "/chat/completions", json={"messages": MESSAGES})
            assert response.json()["choices"][0]["message"]["content"] == server.reply
        assert server.connections_accepted == 1  # the second client reused the first one's socket


async def test_requests_after_uninstall_through_a_held_client_fail_clearly() -> None:
    pool = install_pool()
    async with FakeOpenAIServer() as server:
        client = pool.async_client()
        litellm_accel.uninstall()
        with pytest.raises(httpx.TransportError, match="closed"):
            await client.post(server.base_url + "/v1/chat/completions", json={"messages": MESSAGES})
