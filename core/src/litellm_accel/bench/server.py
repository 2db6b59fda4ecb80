"""The fake OpenAI server as a child process of the benchmark (see :mod:`litellm_accel.bench.serve`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from typing import Any

from litellm_accel.errors import AccelError


class BenchServerError(AccelError):
    """The fake server did not start or stopped answering."""


class FakeServerProcess:
    """Starts the fake server in a child Python process; ``with`` it, or call :meth:`start`/:meth:`stop`."""

    def __init__(self, *, reply: str, latency_ms: float = 0.0, start_timeout: float = 30.0) -> None:
        self.reply = reply
        self.latency_ms = latency_ms
        self.start_timeout = start_timeout
        self.base_url: str | None = None
        self._proc: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    @property
    def api_base(self) -> str:
        """OpenAI ``api_base`` of the server (``http://127.0.0.1:PORT/v1``)."""
        if self.base_url is None:
            raise BenchServerError("the fake server is not running")
        return self.base_url + "/v1"

    def start(self) -> str:
        cmd = [
            sys.executable,
            "-m",
            "litellm_accel.bench.serve",
            "--latency-ms",
            str(self.latency_ms),
            "--reply",
            self.reply,
        ]
        env = dict(os.environ)
        env.setdefault("PYTHONUNBUFFERED", "1")
        self._proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        line = self._read_line(self.start_timeout)
        if not line:
            err = self._stderr_tail()
            self.stop()
            raise BenchServerError(f"the fake server did not start{': ' + err if err else ''}")
        self.base_url = str(json.loads(line)["base_url"])
        return self.base_url

    def _read_line(self, timeout: float) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(self._proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout)
        return result[0].strip() if result else ""

    def _stderr_tail(self) -> str:
        proc = self._proc
        if proc is None or proc.poll() is None or proc.stderr is None:
            return ""
        lines = [ln for ln in proc.stderr.read().strip().splitlines() if ln.strip()]
        return lines[-1] if lines else ""

    def stats(self) -> dict[str, Any]:
        """The server's counters (requests served, connections accepted, ...)."""
        with self._lock:
            proc = self._proc
            if proc is None or proc.stdin is None or proc.poll() is not None:
                raise BenchServerError("the fake server is not running")
            proc.stdin.write("stats\n")
            proc.stdin.flush()
            line = self._read_line(10.0)
        if not line:
            raise BenchServerError("the fake server did not answer")
        return dict(json.loads(line))

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()

    def __enter__(self) -> FakeServerProcess:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
