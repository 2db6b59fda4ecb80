"""Session-wide test fixtures: offline litellm, a real redis-server on a free loopback port, and a
clean litellm-accel state around every test."""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_LOG", "ERROR")

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

import pytest


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A real redis-server process on 127.0.0.1 (no persistence), stoppable and restartable."""

    def __init__(self, port: int, workdir: str) -> None:
        self.port = port
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed; run the test command from README.md (it installs it)")
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.workdir,
                "--protected-mode",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def flushall(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall(b"FLUSHALL\r\n")
            s.recv(16)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One real redis-server for the whole session. Tests that stop it must start it again."""
    with tempfile.TemporaryDirectory(prefix="litellm-accel-redis-") as workdir:
        server = RedisServer(free_port(), workdir)
        server.start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """URL of the session's redis-server, flushed before the test."""
    if redis_server.proc is None:
        redis_server.start()
    redis_server.flushall()
    return redis_server.url


@pytest.fixture(autouse=True)
def _clean_accel_state(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every test starts uninstalled, with fresh metrics and flags, and no config file or env."""
    for name in list(os.environ):
        if name.startswith("LITELLM_ACCEL_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    from litellm_accel import installer
    from litellm_accel.flags import FLAGS
    from litellm_accel.metrics import REGISTRY

    installer.uninstall()
    REGISTRY.reset()
    FLAGS._flags.clear()
    callbacks = _litellm_callback_lists()
    saved = {name: list(value) for name, value in callbacks.items()}
    yield
    installer.uninstall()
    # Tests that register litellm callbacks (proxy hooks, loggers) must not leak them into later
    # tests: litellm's callback lists are process-wide and change how a Router behaves.
    for name, value in _litellm_callback_lists().items():
        if name in saved:
            value[:] = saved[name]


_CALLBACK_LISTS = (
    "callbacks",
    "input_callback",
    "success_callback",
    "failure_callback",
    "service_callback",
    "_async_input_callback",
    "_async_success_callback",
    "_async_failure_callback",
)


def _litellm_callback_lists() -> dict[str, list]:
    import sys

    litellm = sys.modules.get("litellm")
    if litellm is None:
        return {}
    found = {name: getattr(litellm, name, None) for name in _CALLBACK_LISTS}
    utils = sys.modules.get("litellm.utils")
    if utils is not None:
        found["utils.callback_list"] = getattr(utils, "callback_list", None)
    return {name: value for name, value in found.items() if isinstance(value, list)}
