"""Helpers for the pool tests: install only the pool feature, count sockets, run the fake server in a
separate process (so every socket of this process is a client socket)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

import litellm_accel
from litellm_accel.settings import AccelSettings

MESSAGES = [{"role": "user", "content": "hello pool"}]


def install_pool(**options: Any) -> Any:
    """Install litellm-accel with only the pool feature; returns the pool implementation."""
    report = litellm_accel.install(
        AccelSettings(
            tokens={"enabled": False},
            routing={"enabled": False},
            ratelimit={"enabled": False},
            pool={"options": options},
        )
    )
    assert report.features["pool"].status == "active", report.features["pool"]
    return litellm_accel.get_implementation("pool")


def _tcp_inodes() -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as fh:
                next(fh)
                inodes.update(line.split()[9] for line in fh if line.strip())
        except OSError:
            continue
    return inodes


def open_socket_fds() -> set[int]:
    """File descriptors of this process that are TCP sockets (not the event loops' socketpairs)."""
    tcp = _tcp_inodes()
    found = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in tcp:
            found.add(int(name))
    return found


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


@pytest.fixture
def subprocess_server() -> Iterator[str]:
    """Base URL of a fake OpenAI server running in a child process (stopped after the test)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER_SCRIPT, "0.005"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:"), base_url
        yield base_url
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(autouse=True)
def _collect_garbage_after_test() -> Iterator[None]:
    """Run finalizers of this test's clients and loops now, not during some later unrelated code."""
    yield
    import gc

    gc.collect()
