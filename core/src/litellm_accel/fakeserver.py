"""A local OpenAI-compatible HTTP server for tests and benchmarks (no real provider, no internet).

:class:`FakeOpenAIServer` answers ``POST /v1/chat/completions`` and ``POST /chat/completions`` like the
OpenAI API: a JSON ``chat.completion`` with ``usage`` or, when the body has ``"stream": true``, server-sent
events of ``chat.completion.chunk`` objects closed by ``data: [DONE]``. It listens on 127.0.0.1 on a free
port and counts what a connection-pool test needs: TCP connections accepted, open and at peak, requests
served and in flight (also as JSON at ``GET /_fake/stats``, for a server in another process).

Two ways to run it::

    async with FakeOpenAIServer(latency=0.01) as server:      # in the current event loop
        await litellm.acompletion(model="openai/gpt-4o", api_base=server.base_url + "/v1", ...)

    server = FakeOpenAIServer()
    base_url = server.start_in_thread()                        # own loop in a daemon thread
    ...
    server.stop()

Counters are written only by the server's event loop; reading them from another thread is safe (plain
ints). The server never prints; aiohttp's access log is off.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["FakeOpenAIServer", "ServerCounters"]

CHAT_PATHS = ("/v1/chat/completions", "/chat/completions")
#: ``GET`` answers the counters as JSON (for a server running in another process).
STATS_PATH = "/_fake/stats"


@dataclass
class ServerCounters:
    """What the server has seen since start (or the last :meth:`FakeOpenAIServer.reset_counters`)."""

    connections_accepted: int = 0
    connections_open: int = 0
    peak_connections_open: int = 0
    requests: int = 0
    requests_in_flight: int = 0
    peak_requests_in_flight: int = 0
    streaming_requests: int = 0


def _count_words(messages: Any) -> int:
    """A deterministic, cheap stand-in for a token count of the prompt."""
    total = 0
    if isinstance(messages, list):
        for message in messages:
            content = message.get("content") if isinstance(message, Mapping) else None
            if isinstance(content, str):
                total += len(content.split())
            elif isinstance(content, list):
                for part in content:
                    if isinstance(part, Mapping) and isinstance(part.get("text"), str):
                        total += len(part["text"].split())
    return max(total, 1)


class FakeOpenAIServer:
    """OpenAI-compatible chat-completions server on 127.0.0.1 with connection and request counters.

    ``latency`` seconds are slept before each answer; ``stream_chunk_delay`` between streamed chunks.
    ``keepalive_timeout`` closes a connection idle for that many seconds (aiohttp's keep-alive timer;
    ``None`` keeps idle connections for an hour). ``reply`` is the assistant's text; streaming sends it
    word by word. ``close_after_each_response`` answers with keep-alive headers but closes the socket
    right after every response (a worst case for clients that reuse connections). ``drop_on_reuse``
    makes the next that many requests arriving on an already used (kept-alive) connection get the
    connection closed without any answer, as when a server's idle timer fires just as a request arrives.
    """

    def __init__(
        self,
        *,
        latency: float = 0.0,
        stream_chunk_delay: float = 0.0,
        keepalive_timeout: float | None = None,
        reply: str = "Hello from the fake OpenAI server.",
        close_after_each_response: bool = False,
        drop_on_reuse: int = 0,
        host: str = "127.0.0.1",
    ) -> None:
        self.latency = latency
        self.stream_chunk_delay = stream_chunk_delay
        self.keepalive_timeout = keepalive_timeout
        self.reply = reply
        self.close_after_each_response = close_after_each_response
        self.drop_on_reuse = drop_on_reuse
        self.dropped_requests = 0
        self._served_on: dict[int, int] = {}  # id(connection handler) -> requests seen on it
        self.host = host
        self.port: int | None = None
        self.counters = ServerCounters()
        self._runner: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ids = 0

    # ------------------------------------------------------------------ counters
    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (append ``/v1`` for an OpenAI ``api_base``)."""
        if self.port is None:
            raise RuntimeError("the fake server is not running")
        return f"http://{self.host}:{self.port}"

    @property
    def connections_accepted(self) -> int:
        return self.counters.connections_accepted

    @property
    def connections_open(self) -> int:
        return self.counters.connections_open

    @property
    def peak_connections_open(self) -> int:
        return self.counters.peak_connections_open

    @property
    def requests(self) -> int:
        return self.counters.requests

    def reset_counters(self) -> None:
        """Zero the totals and peaks (open connections and requests in flight are kept)."""
        open_now, in_flight = self.counters.connections_open, self.counters.requests_in_flight
        self.counters = ServerCounters(
            connections_open=open_now,
            peak_connections_open=open_now,
            requests_in_flight=in_flight,
            peak_requests_in_flight=in_flight,
        )

    # ------------------------------------------------------------------ lifecycle in the current loop
    async def start(self) -> str:
        """Start listening in the running event loop; return :attr:`base_url`."""
        from aiohttp import web

        counters_owner = self

        class _CountingServer(web.Server):
            # RequestHandler calls these for every accepted / lost TCP connection.
            def connection_made(self, handler: Any, transport: Any) -> None:
                super().connection_made(handler, transport)
                counters_owner._served_on[id(handler)] = 0
                c = counters_owner.counters
                c.connections_accepted += 1
                c.connections_open += 1
                c.peak_connections_open = max(c.peak_connections_open, c.connections_open)

            def connection_lost(self, handler: Any, exc: BaseException | None = None) -> None:
                super().connection_lost(handler, exc)
                counters_owner._served_on.pop(id(handler), None)
                counters_owner.counters.connections_open -= 1

        handler_kwargs: dict[str, Any] = {"access_log": None}
        # aiohttp's keep-alive timer: idle connections are closed after this many seconds.
        handler_kwargs["keepalive_timeout"] = 3600.0 if self.keepalive_timeout is None else self.keepalive_timeout
        server = _CountingServer(self._handle, **handler_kwargs)
        runner = web.ServerRunner(server, handle_signals=False)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        sock.listen(4096)
        sock.setblocking(False)
        site = web.SockSite(runner, sock, backlog=4096)
        await site.start()
        self.port = int(sock.getsockname()[1])
        self._runner = runner
        return self.base_url

    async def close(self) -> None:
        """Stop listening and close every connection."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> FakeOpenAIServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ lifecycle in a background thread
    def start_in_thread(self, timeout: float = 10.0) -> str:
        """Run the server in its own event loop on a daemon thread; return :attr:`base_url`."""
        if self._thread is not None:
            raise RuntimeError("the fake server is already running in a thread")
        ready = threading.Event()
        failure: list[BaseException] = []
        loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.close())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="fake-openai-server", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise RuntimeError("the fake server did not start in time")
        if failure:
            self._thread.join()
            self._thread = None
            raise RuntimeError("the fake server failed to start") from failure[0]
        return self.base_url

    def stop(self, timeout: float = 10.0) -> None:
        """Stop a server started with :meth:`start_in_thread` (idempotent)."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._thread = None
        self._loop = None

    # ------------------------------------------------------------------ request handling
    def _next_id(self) -> str:
        self._ids += 1
        return f"chatcmpl-fake{self._ids:08d}"

    async def _handle(self, request: Any) -> Any:
        from aiohttp import web

        c = self.counters
        served = self._served_on.get(id(request.protocol), 0)
        self._served_on[id(request.protocol)] = served + 1
        if served and self.drop_on_reuse > 0:
            self.drop_on_reuse -= 1
            self.dropped_requests += 1
            request.transport.close()  # no status line, no headers: the client sees the connection end
            raise asyncio.CancelledError
        c.requests += 1
        c.requests_in_flight += 1
        c.peak_requests_in_flight = max(c.peak_requests_in_flight, c.requests_in_flight)
        try:
            if request.path == STATS_PATH:
                # Counters for a client in another process; this request's own connection is counted.
                return web.json_response(asdict(self.counters))
            if request.method != "POST" or request.path not in CHAT_PATHS:
                return web.json_response(
                    {
                        "error": {
                            "message": f"no route {request.method} {request.path}",
                            "type": "invalid_request_error",
                        }
                    },
                    status=404,
                )
            try:
                body = await request.json()
            except (ValueError, UnicodeDecodeError):
                return web.json_response(
                    {"error": {"message": "body is not JSON", "type": "invalid_request_error"}}, status=400
                )
            if self.latency > 0:
                await asyncio.sleep(self.latency)
            if body.get("stream"):
                c.streaming_requests += 1
                return await self._stream(request, body)
            response = web.json_response(self._completion(body))
            if self.close_after_each_response:
                # Headers still promise keep-alive; the socket closes right after the response.
                request.protocol.force_close()
            return response
        finally:
            c.requests_in_flight -= 1

    def _usage(self, body: Mapping[str, Any]) -> dict[str, int]:
        prompt = _count_words(body.get("messages"))
        completion = len(self.reply.split())
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    def _completion(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "id": self._next_id(),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": str(body.get("model", "gpt-4o")),
            "system_fingerprint": "fp_fake",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": self.reply},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": self._usage(body),
        }

    async def _stream(self, request: Any, body: Mapping[str, Any]) -> Any:
        from aiohttp import web

        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        ident, created, model = self._next_id(), int(time.time()), str(body.get("model", "gpt-4o"))

        def chunk(delta: dict[str, Any], finish: str | None) -> bytes:
            payload = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            }
            return b"data: " + json.dumps(payload).encode() + b"\n\n"

        words = self.reply.split(" ")
        await response.write(chunk({"role": "assistant", "content": ""}, None))
        for i, word in enumerate(words):
            if self.stream_chunk_delay > 0:
                await asyncio.sleep(self.stream_chunk_delay)
            await response.write(chunk({"content": word if i == 0 else " " + word}, None))
        await response.write(chunk({}, "stop"))
        stream_options = body.get("stream_options")
        if isinstance(stream_options, Mapping) and stream_options.get("include_usage"):
            usage_chunk = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [],
                "usage": self._usage(body),
            }
            await response.write(b"data: " + json.dumps(usage_chunk).encode() + b"\n\n")
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        if self.close_after_each_response:
            request.protocol.force_close()
        return response
